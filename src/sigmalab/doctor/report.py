"""The human report: a table of findings, then each explanation and its first remedy (rich)."""

from __future__ import annotations

from collections.abc import Iterable

from .findings import Finding, severity_rank

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
# Evidence shown in the table; the thresholds stay in the JSON output.
_SUMMARY_SKIP = ("threshold", "probes", "points")


def summarize_evidence(evidence: dict, limit: int = 3) -> str:
    """The first few measured numbers as 'name=value', for one table cell."""
    parts = []
    for key, value in evidence.items():
        if any(skip in key for skip in _SUMMARY_SKIP) or isinstance(value, list | dict):
            continue
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={shown}")
    return ", ".join(parts[:limit])


def describe_remedy(remedy: dict) -> str:
    """'set_activation relu (hidden)' from a remedy dict; its ``pytorch`` line if it has one."""
    if "pytorch" in remedy:
        return remedy["pytorch"]
    details = [
        f"in model.layers[{value}]" if key == "layer" else str(value)
        for key, value in remedy.items()
        if key != "action"
    ]
    return " ".join([remedy["action"], *details])


def render(findings: Iterable[Finding], console=None) -> None:
    """Print the findings (most severe first) to ``console`` (a rich Console; stdout if None)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    ordered = sorted(findings, key=severity_rank)
    if not ordered:
        console.print("[green]No problems found.[/green]")
        return
    table = Table(title="Doctor findings")
    for column in ("kind", "severity", "layer", "evidence"):
        table.add_column(column)
    for finding in ordered:
        style = SEVERITY_STYLE[finding.severity]
        table.add_row(
            finding.kind,
            f"[{style}]{finding.severity}[/{style}]",
            finding.layer["name"] if finding.layer else "-",
            summarize_evidence(finding.evidence),
        )
    console.print(table)
    for finding in ordered:
        console.print(f"\n[bold]{finding.kind}[/bold]: {finding.explanation}")
        if finding.remedies:
            console.print(f"  first remedy: {describe_remedy(finding.remedies[0])}")
