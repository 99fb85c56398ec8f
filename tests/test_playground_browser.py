"""The playground in a real browser: Debian's Chromium driven by Playwright, as a user would
click through it. Skipped (with the reason) where Chromium or Playwright is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("uvicorn", reason="the playground extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

import uvicorn  # noqa: E402

from sigmalab.playground.app import create_app  # noqa: E402
from sigmalab.playground.server import bind_free_port  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
GOOD_CSV = "a,b,target\n" + "\n".join(
    f"{(i % 10) - 5},{(i // 10) - 5},{int((i % 10) > 4)}" for i in range(100)
)
BROKEN_CSV = "a,b,target\n1,2,0\n3,oops,1\n"


@pytest.fixture(scope="module")
def server():
    """The app on a free local port, served by uvicorn in a thread."""
    sock, port = bind_free_port("127.0.0.1", 18_800)
    # Room for a page with compare panels while the last test's sessions are closing.
    config = uvicorn.Config(create_app(max_sessions=8), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    # bypass_csp lets the test's own wait_for_function expressions run; the page keeps its policy.
    context = browser.new_context(
        viewport={"width": 1500, "height": 950}, accept_downloads=True, bypass_csp=True
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.base = server
    yield page
    context.close()
    assert errors == [], errors


def open_page(page, query: str = ""):
    page.goto(page.base + query)
    page.wait_for_function("window.playgroundStats && window.playgroundStats.drawn > 0")
    return page


def epoch(page) -> int:
    return int(page.get_by_test_id("epoch").inner_text())


def test_play_counts_epochs_up_and_the_test_loss_falls(page):
    open_page(page)
    first = float(page.get_by_test_id("test-loss").inner_text())
    page.get_by_test_id("play").click()
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=epoch]').textContent) > 100"
    )
    page.get_by_test_id("play").click()  # pause
    page.wait_for_function("!document.body.classList.contains('playing')")
    assert epoch(page) > 100
    assert float(page.get_by_test_id("test-loss").inner_text()) < first / 2
    stats = page.evaluate("window.playgroundStats")
    assert stats["frames"] >= 3 and stats["bytes"] > 0


def test_dataset_activation_and_layers_change_the_network(page):
    open_page(page)
    page.get_by_test_id("dataset-xor").click()
    page.wait_for_url("**dataset=xor**")
    page.get_by_test_id("activation").select_option("relu")
    page.wait_for_url("**activation=relu**")
    page.get_by_test_id("add-layer").click()
    page.wait_for_url("**layers=4,2,2**")
    # The URL changes on the click, the network is drawn when the server's frame arrives:
    # expect waits for it (an immediate count raced the redraw on a loaded machine).
    sync_api.expect(page.locator(".net-column")).to_have_count(1 + 3 + 1)  # in, 3 hidden, out
    page.get_by_test_id("remove-layer").click()
    page.get_by_test_id("remove-layer").click()
    page.wait_for_url("**layers=4&**")
    sync_api.expect(page.locator(".node.unit")).to_have_count(4)


def test_two_clicks_before_the_servers_reply_both_count(page):
    """Both clicks run in one script, so no reply can come between them: the second must
    build on the first, not on the last settings the server confirmed."""
    open_page(page)
    page.evaluate(
        "() => { const add = document.querySelector('[data-testid=add-layer]');"
        " add.click(); add.click(); }"
    )
    page.wait_for_url("**layers=4,2,2,2&**")
    sync_api.expect(page.locator(".net-column")).to_have_count(1 + 4 + 1)


def test_a_good_csv_trains_and_a_broken_one_says_where(page, tmp_path):
    open_page(page)
    good, broken = tmp_path / "grid.csv", tmp_path / "broken.csv"
    good.write_text(GOOD_CSV)
    broken.write_text(BROKEN_CSV)
    page.get_by_test_id("upload").set_input_files(good)
    page.wait_for_url("**dataset=grid.csv**")
    page.get_by_test_id("upload").set_input_files(broken)
    message = page.get_by_test_id("message")
    message.wait_for(state="visible")
    assert "broken.csv line 3, column 'b': 'oops' is not a number" in message.inner_text()
    assert "dataset=grid.csv" in page.url  # the good data stays


def test_a_doctor_remedy_fixes_a_deep_sigmoid_network(page):
    open_page(page, "?layers=8,8,8,8,8,8&activation=sigmoid")
    finding = page.locator("[data-testid=finding-vanishing_risk]")
    finding.wait_for()
    finding.get_by_test_id("remedy").first.click()
    page.wait_for_url("**activation=relu**")
    finding.wait_for(state="detached")
    assert page.get_by_test_id("activation").input_value() == "relu"


def test_a_shared_link_opens_the_same_state(page, browser):
    open_page(page, "?dataset=spiral&noise=25&seed=4&layers=6,3&activation=tanh&lr=0.1")
    page.get_by_test_id("share").click()
    link = page.get_by_test_id("share-link").input_value()
    heat = page.evaluate("document.querySelector('[data-testid=heatmap]').toDataURL()")
    other = browser.new_page(bypass_csp=True)
    try:
        other.goto(link)
        other.wait_for_function("window.playgroundStats && window.playgroundStats.drawn > 0")
        assert other.url == page.url
        assert other.get_by_test_id("learning-rate").input_value() == "0.1"
        assert other.get_by_test_id("noise").input_value() == "25"
        assert other.evaluate("document.querySelector('[data-testid=heatmap]').toDataURL()") == heat
    finally:
        other.close()


def test_the_exported_run_file_trains_to_the_same_loss_with_the_cli(page, tmp_path):
    open_page(page, "?dataset=gauss&noise=30&layers=3")
    page.get_by_test_id("play").click()
    page.wait_for_function("Number(document.querySelector('[data-testid=epoch]').textContent) > 20")
    page.get_by_test_id("play").click()
    page.wait_for_function("!document.body.classList.contains('playing')")
    time.sleep(0.2)  # the frame of the pause
    shown = page.get_by_test_id("test-loss").inner_text()
    trained = epoch(page)
    with page.expect_download() as download:
        page.get_by_test_id("export-run").click()
    run_file = tmp_path / "run.toml"
    download.value.save_as(run_file)
    assert f"epochs = {trained}" in run_file.read_text()
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "sigmalab",
        "train",
        str(run_file),
        "--quiet",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == trained
    assert f"{summary['test_loss']:.3f}" == shown


def test_the_multiclass_sets_get_one_colour_per_class(page):
    open_page(page)
    for name, classes in (("spiral3", 3), ("blobs", 4)):
        page.get_by_test_id(f"dataset-{name}").click()
        page.wait_for_url(f"**dataset={name}**")
        sync_api.expect(page.locator("#legend .swatch")).to_have_count(classes)
        sync_api.expect(page.locator(".node.output")).to_have_count(classes)


def heat_picture(page) -> str:
    return page.evaluate("document.querySelector('[data-testid=heatmap]').toDataURL()")


def test_a_bias_shows_on_hover_and_its_edit_redraws_the_heatmap(page):
    open_page(page)
    output_bias = page.locator(".node.output [data-testid=bias]")
    output_bias.hover()
    tip = page.locator("#curve-tip")
    sync_api.expect(tip).to_contain_text("bias ")
    before = heat_picture(page)
    output_bias.click()
    page.locator("#weight-editor").fill("abc")
    page.locator("#weight-editor").press("Enter")
    sync_api.expect(page.get_by_test_id("message")).to_have_text(
        'bias: must be a number (received "abc")'
    )
    output_bias.click()
    page.locator("#weight-editor").fill("3")
    page.locator("#weight-editor").press("Enter")
    page.wait_for_function(
        "before => document.querySelector('[data-testid=heatmap]').toDataURL() !== before",
        arg=before,
    )
    output_bias.hover()
    sync_api.expect(tip).to_have_text("bias 3.000 (click to edit)")


def compare_epochs(page) -> list[int]:
    return [
        int(text or 0)
        for text in page.get_by_test_id("compare-epoch").all_inner_texts()
        if text.isdigit()
    ]


def test_compare_trains_setups_side_by_side_with_one_play_button(page):
    open_page(page)
    page.get_by_test_id("compare-add").click()
    panels = page.get_by_test_id("compare-panel")
    sync_api.expect(panels).to_have_count(2)  # this page's setup and its copy
    copy = panels.nth(1)
    copy.get_by_test_id("compare-activation").select_option("relu")
    sync_api.expect(copy.get_by_test_id("compare-activation")).to_have_value("relu")
    copy.get_by_test_id("compare-layers").fill("4,x")
    copy.get_by_test_id("compare-layers").press("Enter")
    sync_api.expect(page.get_by_test_id("message")).to_contain_text(
        "layers[1]: must be a whole number (received 'x')"
    )
    page.get_by_test_id("play").click()
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=compare-epoch]')]"
        ".every(e => Number(e.textContent) > 20)"
    )
    page.get_by_test_id("play").click()
    page.wait_for_function("!document.body.classList.contains('playing')")
    time.sleep(0.3)
    stopped = compare_epochs(page)
    time.sleep(0.3)
    assert compare_epochs(page) == stopped  # one pause stopped both
    assert "4,2" in copy.get_by_test_id("compare-layers").input_value()  # kept its setup
    page.get_by_test_id("compare-add").click()
    page.get_by_test_id("compare-add").click()
    sync_api.expect(panels).to_have_count(4)
    page.get_by_test_id("compare-add").click()
    sync_api.expect(page.get_by_test_id("message")).to_contain_text(
        "compare: at most 4 setups side by side"
    )
    sync_api.expect(panels).to_have_count(4)


def test_a_compare_panel_keeps_what_is_being_typed_when_a_reply_arrives(page):
    """A reply to an earlier change (here the activation's) must not wipe a layers field the
    user is still typing in; pressing Enter then sends what was typed."""
    replies = []

    def watch(socket):
        if "/ws/compare" in socket.url:
            socket.on("framereceived", lambda payload: replies.append(payload))

    page.on("websocket", watch)
    open_page(page)
    page.get_by_test_id("compare-add").click()
    panel = page.get_by_test_id("compare-panel").nth(1)
    layers = panel.get_by_test_id("compare-layers")
    sync_api.expect(layers).to_have_value("4,2")
    layers.fill("8,x")  # typed, not committed: the field keeps the focus
    before = len(replies)
    panel.get_by_test_id("compare-activation").evaluate(
        "(select) => { select.value = 'relu'; select.dispatchEvent(new Event('change')); }"
    )
    deadline = time.monotonic() + 20
    while not any('"settings"' in str(reply) for reply in replies[before:]):
        assert time.monotonic() < deadline, "no reply to the activation change"
        page.wait_for_timeout(50)
    page.wait_for_timeout(200)  # the page's own handler runs after the frame arrives
    assert layers.input_value() == "8,x"
    layers.press("Enter")
    sync_api.expect(page.get_by_test_id("message")).to_contain_text(
        "layers[1]: must be a whole number (received 'x')"
    )
    sync_api.expect(panel.get_by_test_id("compare-activation")).to_have_value("relu")


def test_repair_shows_what_it_proved_and_adopts_the_repaired_setup(page):
    open_page(page, "?layers=8,8,8,8,8,8&activation=sigmoid")
    page.get_by_test_id("repair").click()
    result = page.get_by_test_id("repair-result")
    result.wait_for(timeout=90_000)
    sync_api.expect(result).to_contain_text("use relu in the hidden layers")
    sync_api.expect(result.locator("tr")).to_have_count(3)  # header, metric, problems
    result.get_by_test_id("repair-adopt").click()
    page.wait_for_url("**activation=relu**")
    assert page.get_by_test_id("activation").input_value() == "relu"
