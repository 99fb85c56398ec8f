"""``DIR/index.html``: every claim with its sentence, setup, figure, numbers and verdict.

The page is self-contained: plain HTML and CSS, no script, no web font, the figures as
PNG files beside it (``figures/``), loaded lazily, and links to the run files; it opens
from the disk, offline.
"""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

from ..files import atomic_write_bytes
from .runner import ClaimResult
from .verdicts import VERDICTS

_COLOURS = ("#2e7d32", "#b26a00", "#c62828")  # holds, conditional, does not hold

REPORT_FILE = "index.html"
REFERENCES = (
    "Glorot and Bengio (2010), Understanding the difficulty of training deep feedforward "
    "neural networks: saturation and vanishing gradients with depth.",
    "He, Zhang, Ren and Sun (2015), Delving Deep into Rectifiers: initialisation for ReLU "
    "networks.",
    "Ioffe and Szegedy (2015), Batch Normalization: Accelerating Deep Network Training by "
    "Reducing Internal Covariate Shift.",
    "Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov (2014), Dropout: A Simple "
    "Way to Prevent Neural Networks from Overfitting.",
)
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-top: 1px solid #ddd;
       padding-top: 1rem; }
.verdict { font-weight: bold; padding: 0.1rem 0.5rem; border-radius: 0.3rem; color: white; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
td, th { border-bottom: 1px solid #eee; padding: 0.2rem 0.6rem; text-align: left; }
td.num { font-variant-numeric: tabular-nums; }
code { background: #f4f4f4; padding: 0.05rem 0.3rem; font-size: 0.85rem; }
img { max-width: 100%; height: auto; }
details { margin: 0.5rem 0; }
"""


def write_report(out: Path, results: Sequence[ClaimResult], quick: bool) -> Path:
    """Write ``out/index.html`` for ``results``; its path."""
    path = out / REPORT_FILE
    atomic_write_bytes(path, render(out, results, quick).encode())
    return path


def render(out: Path, results: Sequence[ClaimResult], quick: bool) -> str:
    """The report page as HTML text (paths relative to ``out``)."""
    e = html.escape
    mode = "quick" if quick else "full"
    seconds = sum(result.seconds for result in results)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>sigmalab lab</title><style>{_STYLE}</style></head><body>",
        "<h1>sigmalab lab: the text's claims as experiments</h1>",
        f"<p>{len(results)} claims, {mode} lab, {sum(r.runs for r in results)} runs in "
        f"{seconds:.0f} s, written {e(time.strftime('%Y-%m-%d %H:%M'))}. Every number is a mean "
        "over seeds with its 95 % interval (Student's t for means, Welch's for differences, "
        "Wilson's for shares of runs); each verdict is decided by explicit thresholds on "
        "those intervals, stated with it. The experiments are built to be fair, not to agree: "
        "where a claim fails as stated, the verdict says so.</p>",
        "<table><tr><th>claim</th><th>verdict</th><th>runs</th></tr>",
    ]
    for result in results:
        claim = result.claim
        parts.append(
            f"<tr><td><a href='#{claim.name}'>{e(claim.name)}</a></td>"
            f"<td>{_badge(result.evidence.verdict.status)}</td>"
            f"<td>{result.runs} ({result.seeds} seeds each)</td></tr>"
        )
    parts.append("</table>")
    for result in results:
        parts.append(_section(out, result))
    parts.append("<h2>Reference results to compare with</h2><ul>")
    parts += [f"<li>{e(reference)}</li>" for reference in REFERENCES]
    parts.append("</ul></body></html>")
    return "\n".join(parts)


def _section(out: Path, result: ClaimResult) -> str:
    e = html.escape
    claim, evidence = result.claim, result.evidence
    figure = _relative(result.figure, out)
    rows = "".join(
        f"<tr><td>{e(number.setting)}</td><td>{e(number.quantity)}</td>"
        f"<td class='num'>{_number(number.interval.mean)}</td>"
        f"<td class='num'>[{_number(number.interval.low)}, {_number(number.interval.high)}]</td>"
        f"<td class='num'>{number.interval.n}</td></tr>"
        for number in evidence.numbers
    )
    files = "".join(
        f"<li><a href='{e(_relative(run.path, out))}'>{e(run.setting)}</a>: "
        f"<code>{e(run.train_command)}</code><br>"
        f"all seeds: <code>{e(run.sweep_command)}</code><br>"
        + (
            "playground: drop the file on the page"
            if run.not_in_playground is None
            else f"playground: cannot show it ({e(run.not_in_playground)})"
        )
        + "</li>"
        for run in result.run_files
    )
    return (
        f"<h2 id='{e(claim.name)}'>{e(claim.name)} {_badge(evidence.verdict.status)}</h2>"
        f"<p><b>Claim.</b> {e(claim.sentence)}</p>"
        f"<p><b>Verdict: {e(evidence.verdict.status)}.</b> {e(evidence.verdict.reason)}.</p>"
        f"<p><b>Setup.</b> {e(claim.method)} {result.epochs} epochs, {result.seeds} seeds "
        f"per setting ({result.runs} runs, {result.seconds:.1f} s).</p>"
        f"<img src='{e(figure)}' loading='lazy' alt='{e(claim.name)} figure'>"
        f"<p><b>Compare with.</b> {e(claim.reference)}</p>"
        "<details><summary>numbers (mean, 95 % interval, seeds)</summary><table>"
        "<tr><th>setting</th><th>measured</th><th>mean</th><th>95 % interval</th><th>n</th></tr>"
        f"{rows}</table></details>"
        f"<details><summary>run files (seed 0) and commands</summary><ul>{files}</ul></details>"
    )


def _relative(path: Path, out: Path) -> str:
    """A link from the report to ``path`` (works wherever the folder is moved)."""
    return Path(os.path.relpath(path, out)).as_posix()


def _badge(status: str) -> str:
    colour = _COLOURS[VERDICTS.index(status)]
    return f"<span class='verdict' style='background:{colour}'>{html.escape(status)}</span>"


def _number(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.3g}" if abs(x) < 0.01 and x else f"{x:.3f}"
