"""The ``sigmalab`` command line: train or diagnose a run file, list datasets, predict a CSV.

Each verb is one function registered with ``@command()``; the run-file and plotting
modules (pydantic, matplotlib) are imported inside the functions that need them. Any
SigmalabError becomes one red ``error: ...`` line on stderr and exit code 2, never a
traceback; so does an operating-system error such as an unwritable output folder, and so
does a usage mistake (an unknown option, a missing argument) instead of Typer's box. A
warning is one yellow ``warning: ...`` line.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import DivergenceWarning, SigmalabError
from .validation import check_int

if TYPE_CHECKING:
    from .config import RunConfig

USER_ERROR_EXIT = 2
PROBLEMS_LEFT_EXIT = 1  # doctor: a warning or error remains (after repair, if asked for)
INTERRUPTED_EXIT = 130  # the shell's code for Ctrl-C


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr as one red line (line breaks folded into spaces)."""
    typer.secho(f"error: {' '.join(message.split())}", fg="red", err=True)


def print_warning(message: Warning | str, *_where: object, **_stream: object) -> None:
    """Show a warning as one yellow ``warning: message`` line on stderr: Python's own format
    adds the file and source line that raised it, which mean nothing on the command line."""
    typer.secho(f"warning: {' '.join(str(message).split())}", fg="yellow", err=True)


@contextlib.contextmanager
def divergence_advice(advice: str) -> Iterator[None]:
    """Within it, a DivergenceWarning ends with ``advice`` (what to do on the command line)
    instead of its Python advice."""

    def show(message: Warning | str, *_where: object, **_stream: object) -> None:
        if isinstance(message, DivergenceWarning):
            message = message.advised(advice)
        print_warning(message)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


class OneLineUsageErrors(TyperGroup):
    """Typer's command group, except that a usage mistake is one ``error:`` line.

    Typer draws such mistakes as a usage line, a hint and a box; here they read like every
    other sigmalab error. A bare ``sigmalab`` still shows the help.
    """

    def main(self, args: Sequence[str] | None = None, *positional: Any, **settings: Any) -> Any:
        """Run the command line, turning Typer's usage errors into one red line."""
        args = sys.argv[1:] if args is None else list(args)
        if not args or settings.get("standalone_mode") is False:
            return super().main(args, *positional, **settings)
        try:
            code = super().main(args, *positional, **{**settings, "standalone_mode": False})
        except typer.Abort:
            typer.secho("aborted", fg="yellow", err=True)
            sys.exit(1)
        except typer.TyperException as error:  # Typer's usage errors all derive from it
            context = getattr(error, "ctx", None)
            hint = f"; see '{context.command_path} --help'" if context is not None else ""
            print_error(error.format_message() + hint)
            sys.exit(USER_ERROR_EXIT)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="sigmalab",
    help="Build, train and inspect feed-forward neural networks in NumPy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineUsageErrors,
)


def _print_version(requested: bool) -> None:
    if requested:
        typer.echo(f"sigmalab {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build, train and inspect feed-forward neural networks in NumPy."""


def command(group: typer.Typer | None = None, **settings: Any) -> Callable[[Callable], Callable]:
    """Register a CLI verb (on ``group``, else the top level) whose user errors print one
    red line and exit with code 2."""

    def register(function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                with warnings.catch_warnings():
                    warnings.showwarning = print_warning
                    return function(*args, **kwargs)
            except (SigmalabError, OSError) as error:  # OSError: unwritable folder, full disk
                print_error(str(error))
                raise typer.Exit(USER_ERROR_EXIT) from None
            except KeyboardInterrupt:
                typer.secho("interrupted", fg="yellow", err=True)
                raise typer.Exit(INTERRUPTED_EXIT) from None

        return (group or app).command(**settings)(guarded)

    return register


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override one run-file key, e.g. --set train.optimizer.lr=0.1 (repeatable).",
    ),
]


def _load(run_file: Path, settings: list[str] | None) -> RunConfig:
    """The run file with its ``--set`` overrides applied, validated as one file."""
    from .config import load_run
    from .overrides import parse_overrides

    return load_run(run_file, parse_overrides(settings or []))


@command()
def train(
    run_file: Annotated[Path, typer.Argument(help="A TOML run file, e.g. examples/spiral.toml.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder [default: runs/<run file name>]."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    doctor: Annotated[
        bool,
        typer.Option("--doctor/--no-doctor", help="Watch training; findings go to summary.json."),
    ] = True,
    settings: SetOption = None,
) -> None:
    """Train the network a run file describes and write model, history, summary and report."""
    from .doctor import Doctor, render
    from .runner import open_outputs, train_run, write_outputs

    config = _load(run_file, settings)
    out_dir = out if out is not None else Path("runs") / run_file.stem
    watcher = Doctor() if doctor else None
    callbacks = [] if watcher is None else [watcher]
    # The folder is checked before training, not after it.
    overrides = [part for item in settings or [] for part in ("--set", item)]
    advice = (
        f"Lower train.optimizer.lr (now {config.train.optimizer.lr}) or set "
        "train.optimizer.clip_norm; to see why, train without --no-doctor or run: "
        + shlex.join(["sigmalab", "doctor", str(run_file), *overrides])
    )
    with (
        open_outputs(config, out_dir, {run_file: "run file"}) as outputs,
        divergence_advice(advice),
    ):
        result = train_run(config, callbacks=callbacks, verbose=0 if quiet else 1)
        if watcher is not None:
            result.summary["findings"] = [finding.to_dict() for finding in watcher.findings]
        write_outputs(result, config, outputs)
    if not quiet:
        print_summary(result.summary, out_dir)
        if watcher is not None:
            render(watcher.findings)


def print_summary(summary: dict[str, Any], out_dir: Path, console: Any = None) -> None:
    """The run's metrics as a table on ``console`` (a rich Console; the terminal if None)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not markup: a folder or dataset name such as "[red]x" is shown as it is.
    table = Table("metric", "value", title=Text(f"run written to {out_dir}"))
    for key, value in summary.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4g}")
        elif isinstance(value, str | int):
            table.add_row(key, Text(str(value)))
    (console or Console()).print(table)


@command(name="doctor")
def doctor_command(
    run_file: Annotated[Path, typer.Argument(help="A TOML run file to diagnose.")],
    repair: Annotated[
        bool, typer.Option("--repair", help="Retrain with remedies until the problems are gone.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print one JSON object {"findings", "repair"}.')
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Repaired run file (default: NAME.repaired.toml beside the run file).",
        ),
    ] = None,
    budget: Annotated[int, typer.Option("--budget", help="Most retrains a repair may use.")] = 4,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="With --repair: also write the repair report as HTML."),
    ] = None,
    settings: SetOption = None,
) -> None:
    """Train a run file with the doctor watching, explain what went wrong, and repair it.

    Exits with 0 when no warning or error remains (after the repair, with --repair), 1 when
    one does, 2 for a usage error.
    """
    import json

    from .files import check_writable, refuse_replacing_inputs

    check_int("--budget", budget, low=1)
    if html is not None and not repair:
        raise SigmalabError(
            f"--html: the HTML page is the repair report, add --repair (received --html {html})"
        )
    refuse_replacing_inputs({"--out": out, "--html": html}, {"run": run_file})
    if out is None:
        out = run_file.with_name(f"{run_file.stem}.repaired.toml")
    config = _load(run_file, settings)
    if repair:  # a repair's retrains are minutes of work that an unwritable output would lose
        for label, target in (("--out", out), ("--html", html)):
            if target is not None:
                check_writable(target, label)
    from .doctor.diagnose import diagnose
    from .doctor.repair import repair as repair_run

    result = repair_run(config, budget=budget, verbose=not as_json) if repair else None
    diagnosis = result.original if result is not None else diagnose(config)
    saved = None
    if result is not None and result.accepted:
        saved = out
        result.save(saved)
    if html is not None:
        result.save_html(html)
    remaining = (diagnosis if result is None else result.final).problems
    exit_code = PROBLEMS_LEFT_EXIT if remaining else 0
    if as_json:
        report = None if result is None else {**result.to_dict(), "saved_to": saved and str(saved)}
        findings = [finding.to_dict() for finding in diagnosis.findings]
        typer.echo(json.dumps({"findings": findings, "repair": report}, allow_nan=False))
        raise typer.Exit(exit_code)
    from .doctor import render

    render(diagnosis.findings)
    typer.echo(_metric_line(diagnosis))
    if result is not None and not result.original.problems:
        typer.echo("nothing to repair: no warning or error")
    elif result is not None:
        result.render()
        typer.echo(f"repaired run file: {saved}" if saved else "no remedy was accepted")
    raise typer.Exit(exit_code)


def _metric_line(diagnosis: Any) -> str:
    """'accuracy: train 0.6, test 0.585' (or the loss, for regression) of a diagnosed run."""
    metric = "accuracy" if diagnosis.metric.higher_is_better else "loss"
    label = metric if metric == "accuracy" else f"loss ({diagnosis.config.train.loss})"
    values = [
        f"{split} {_format_number(diagnosis.summary[f'{split}_{metric}'])}"
        for split in ("train", "validation", "test")
        if f"{split}_{metric}" in diagnosis.summary
    ]
    return f"{label}: {', '.join(values)}"


def _format_number(value: float) -> str:
    """Four significant digits; NaN and infinity as words."""
    return f"{value:.4g}" if math.isfinite(value) else str(value)


@command()
def datasets() -> None:
    """List the built-in datasets (a CSV path works anywhere a name does)."""
    from rich.console import Console
    from rich.table import Table

    from .data import available

    table = Table("name", "description", title="built-in datasets")
    for name, description in available().items():
        table.add_row(name, description)
    Console().print(table)


@command()
def predict(
    model: Annotated[
        Path, typer.Argument(help="A model file (it carries its preprocessing and classes).")
    ],
    csv_file: Annotated[Path, typer.Argument(help="CSV with the model's feature columns.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Predict each row of a CSV: class probabilities and the class name, or the value."""
    from .files import atomic_write_bytes, refuse_replacing_inputs
    from .runner import csv_text, predict_csv

    refuse_replacing_inputs({"--out": out}, {"model": model, "CSV": csv_file})
    text = csv_text(*predict_csv(model, csv_file))
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_bytes(out, text.encode())


@command()
def playground(
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port; a busy one moves to the next.")
    ] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (others get a warning).")
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the web browser.")
    ] = False,
) -> None:
    """Open the playground: a web page where a network trains live, with the doctor watching."""
    try:
        from .playground.server import serve
    except ImportError as error:
        raise SigmalabError(
            f"the playground needs its extra ({error.name} is missing): "
            "pip install 'sigmalab[playground]'"
        ) from None
    serve(host=host, port=port, open_browser=open_browser, say=typer.echo)


@command()
def export(
    model: Annotated[Path, typer.Argument(help="A model file saved by sigmalab.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="torch (a torch.export .pt2 file) or onnx.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
) -> None:
    """Write a model as a PyTorch program or an ONNX graph that computes its predictions."""
    from .export import check_format, export_model
    from .files import refuse_replacing_inputs
    from .io import load_model

    format = check_format(format, "--format")  # before the model loads
    refuse_replacing_inputs({"--out": out}, {"model": model})
    export_model(load_model(model), format, out)
    typer.echo(f"wrote {out}")


# ---- sweep -------------------------------------------------------------------------------
class RunByDefault(TyperGroup):
    """``sigmalab sweep RUN.toml ...`` means ``sigmalab sweep run RUN.toml ...``; ``show``
    and ``run`` name themselves."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Put ``run`` in front unless a subcommand (or the group's --help) comes first."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(
    help="Train a run file over a grid of settings x seeds, resumably: 'sigmalab sweep "
    "RUN.toml --grid KEY=V1,V2 ...' (short for 'sweep run'); 'sigmalab sweep show DIR'.",
    no_args_is_help=True,
    cls=RunByDefault,
)
app.add_typer(sweep_app, name="sweep")


@command(sweep_app, name="run")
def sweep_run(
    run_file: Annotated[Path, typer.Argument(help="A TOML run file, e.g. examples/circle.toml.")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            metavar="KEY=V1,V2,...",
            help="Values of one run-file key, e.g. --grid train.optimizer.lr=0.1,0.03 "
            "(repeatable: every combination runs).",
        ),
    ],
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds", help="Seeds per combination (model seeds; data too with --data-seeds)."
        ),
    ] = 1,
    data_seeds: Annotated[
        bool, typer.Option("--data-seeds", help="Vary the data seed with the model seed.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results folder [default: sweeps/<run file name>]."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-j", help="Local worker processes (or Dask workers).")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="A Dask scheduler such as tcp://host:8786, or 'local' for a LocalCluster.",
        ),
    ] = None,
    doctor: Annotated[
        bool, typer.Option("--doctor/--no-doctor", help="Record the doctor's finding kinds.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Train every combination of the grid x seeds; results go to DIR/results.sqlite."""
    from .sweeps.execute import results_folder, run_sweep
    from .sweeps.grid import parse_grid_options
    from .sweeps.progress import SweepProgress
    from .sweeps.show import show

    axes = parse_grid_options(grid)
    folder = results_folder(out, run_file)
    advice = (
        "The run is recorded with empty metrics: lower its train.optimizer.lr or set "
        "train.optimizer.clip_norm; to see why, sweep without --no-doctor."
    )
    with SweepProgress(quiet) as progress, divergence_advice(advice):
        store = run_sweep(
            run_file,
            axes,
            folder,
            seeds=seeds,
            data_seeds=data_seeds,
            workers=workers,
            scheduler=scheduler,
            doctor=doctor,
            on_start=progress.start,
            on_outcomes=progress.advance,
        )
    store.close()
    if not quiet:
        show(folder)


@command(sweep_app, name="show")
def sweep_show(
    folder: Annotated[Path, typer.Argument(help="A sweep's results folder.")],
) -> None:
    """Table of a sweep (mean +- std over seeds, best first); writes results.csv, sweep.png."""
    from .sweeps.show import show

    show(folder)


# ---- lab -----------------------------------------------------------------------------------
@command()
def lab(
    claims: Annotated[
        list[str] | None,
        typer.Argument(help="Claims to run (default: all), e.g. vanishing_gradients dropout."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder: index.html, run files, results.")
    ] = Path("lab"),
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer seeds (10) and epochs: about half a minute.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Local worker processes.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
) -> None:
    """Run the text's claims as sweeps over settings x seeds; write DIR/index.html."""
    from .experiments import run_lab, select
    from .experiments.lab_folder import check_lab_folder
    from .experiments.report import REPORT_FILE
    from .experiments.table import print_summary
    from .sweeps.progress import SweepProgress

    # An unknown claim, or a folder of someone else's files, fails before anything shows.
    check_lab_folder(out, select(claims or []))
    with SweepProgress(quiet) as progress:

        def announce(result: Any) -> None:
            if progress.bar is not None:  # above the bar, on the bar's console
                progress.bar.console.print(
                    f"{result.claim.name}: {result.evidence.verdict.status} "
                    f"({result.seconds:.1f} s)"
                )

        results = run_lab(
            claims or [],
            out,
            quick=quick,
            workers=workers,
            on_claim=announce,
            on_start=progress.start,
            on_outcomes=progress.advance,
        )
    if not quiet:
        print_summary(results, out / REPORT_FILE)
