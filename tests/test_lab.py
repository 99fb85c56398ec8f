"""``sigmalab lab --quick``: run once for the module; the report, run files, results, resume."""

import re

import pytest
from test_cli import assert_user_error
from test_cli_options import in_process

import sigmalab as sl
from sigmalab.config import load_run
from sigmalab.experiments import CLAIMS, lab_folder
from sigmalab.experiments.lab_folder import check_lab_folder
from sigmalab.experiments.verdicts import VERDICTS
from sigmalab.runner import train_run
from sigmalab.sweeps import execute
from sigmalab.sweeps.store import DONE, RESULTS_FILE, ResultStore


@pytest.fixture(scope="module")
def quick_lab(tmp_path_factory):
    """The whole quick lab, run once through the CLI (about half a minute)."""
    out = tmp_path_factory.mktemp("lab")
    process = in_process("lab", "--quick", "--out", out)
    assert process.returncode == 0, process.stderr
    return out, process


def test_the_quick_lab_judges_every_claim_and_prints_a_summary(quick_lab):
    out, process = quick_lab
    for name in CLAIMS:
        line = re.search(rf"^{name}: (.+) \(", process.stdout, re.MULTILINE)
        assert line is not None and line.group(1) in VERDICTS, process.stdout
        assert name in process.stdout  # the summary table
    assert "lab report" in process.stdout


def test_the_report_is_one_offline_page_with_a_section_per_claim(quick_lab):
    out, _ = quick_lab
    page = (out / "index.html").read_text()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    for name, claim in CLAIMS.items():
        assert f"id='{name}'" in page
        assert f"<img src='figures/{name}.png' loading='lazy'" in page
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert claim.sentence.split(",")[0] in page.replace("&#x27;", "'")
    for reference in (
        "Glorot and Bengio (2010)",
        "He, Zhang, Ren and Sun (2015)",
        "Ioffe and Szegedy (2015)",
        "Srivastava, Hinton",
    ):
        assert reference in page
    assert page.count("95 % interval") >= len(CLAIMS)


def test_every_setting_is_a_run_file_that_sigmalab_train_reproduces(quick_lab):
    out, _ = quick_lab
    page = (out / "index.html").read_text()
    commands = re.findall(r"<code>sigmalab train (\S+) --out", page)
    assert len(commands) == len(set(commands)) >= 3 * len(CLAIMS)
    run_file = out / "nonlinearity" / "linear.toml"
    assert f"<code>sigmalab train {run_file} --out" in page
    with ResultStore(out / "results" / "nonlinearity-quick") as store:
        rows = [
            row for row in store.rows() if row["swept"]["model.layers[0].activation"] == "linear"
        ]
    assert len(rows) == 10 and all(row["status"] == DONE for row in rows)
    alone = train_run(load_run(run_file), verbose=0).summary  # seed 0, as the file says
    first = next(row for row in rows if row["seed"] == 0)
    assert alone["train_loss"] == pytest.approx(first["train_loss"], rel=1e-4)


def test_running_again_resumes_from_the_results_without_training(quick_lab, monkeypatch):
    out, _ = quick_lab
    trained = []

    def no_training(batches, *args):
        trained.extend(batches)
        return iter(())

    monkeypatch.setattr(execute, "run_batches", no_training)
    results = sl.lab(["dead_relu"], out=out, quick=True)
    assert [result.claim.name for result in results] == ["dead_relu"]
    assert results[0].runs == 50 and trained == []  # every run read back, none trained again
    assert results[0].evidence.verdict.status in VERDICTS


def test_an_unknown_claim_is_one_error_line_naming_the_valid_ones(tmp_path):
    process = in_process("lab", "vanishing_gradient", "--out", tmp_path / "lab")
    assert_user_error(
        process,
        "unknown claim 'vanishing_gradient'",
        "Did you mean 'vanishing_gradients'?",
        "Allowed: nonlinearity",
    )
    assert not (tmp_path / "lab").exists()
    with pytest.raises(sl.SigmalabError, match="unknown claim 'xor'"):
        sl.lab(["xor"], out=tmp_path / "lab")


def test_an_output_folder_that_is_a_file_is_one_error_line(tmp_path):
    taken = tmp_path / "report"
    taken.write_text("not a folder")
    process = in_process("lab", "nonlinearity", "--quick", "--out", taken)
    assert_user_error(process, "out: must be a folder", str(taken))
    assert taken.read_text() == "not a folder"


def test_a_folder_that_no_lab_wrote_is_refused_and_left_as_it_is(tmp_path):
    site = tmp_path / "site"
    (site / "figures").mkdir(parents=True)
    (site / "index.html").write_text("my home page")
    (site / "figures" / "nonlinearity.png").write_text("my picture")
    process = in_process("lab", "nonlinearity", "--quick", "--out", site)
    assert_user_error(process, f"out: {site} holds files", f"{site / 'index.html'}, which the lab")
    assert (site / "index.html").read_text() == "my home page"
    assert (site / "figures" / "nonlinearity.png").read_text() == "my picture"
    assert sorted(path.name for path in site.iterdir()) == ["figures", "index.html"]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(sl.SigmalabError, match=f"{notes / 'todo.txt'}"):
        sl.lab(["nonlinearity"], out=notes, quick=True)
    assert [path.name for path in notes.iterdir()] == ["todo.txt"]


def test_a_folder_that_cannot_be_listed_is_named(tmp_path, monkeypatch):
    """As root no folder refuses to be listed, so the refusal is simulated."""

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(lab_folder.os, "scandir", refuse)
    with pytest.raises(
        sl.SigmalabError, match=f"out: {tmp_path} cannot be read .Permission denied"
    ):
        sl.lab(["nonlinearity"], out=tmp_path, quick=True)


def test_a_lab_stopped_before_or_after_its_first_results_file_may_go_on(tmp_path):
    claims = [CLAIMS["dead_relu"]]
    started = tmp_path / "started"
    (started / "results" / "dead_relu").mkdir(parents=True)  # stopped before the store
    check_lab_folder(started, claims)
    ResultStore(started / "results" / "dead_relu").close()
    (started / "index.html").write_text("an earlier report")
    check_lab_folder(started, claims)
    forged = tmp_path / "forged" / "results" / "dead_relu"
    forged.mkdir(parents=True)
    (forged / RESULTS_FILE).write_text("not a database")
    ResultStore(tmp_path / "sweeps" / "results" / "mine").close()  # a sweep, not a claim's
    for folder in (tmp_path / "forged", tmp_path / "sweeps"):
        with pytest.raises(sl.SigmalabError, match="holds files that no earlier lab wrote"):
            check_lab_folder(folder, claims)
