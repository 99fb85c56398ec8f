"""The README's first command installs everything the examples need (the message for a
missing scikit-learn names the same command: test_datasets.py)."""

import tomllib
from pathlib import Path

from sigmalab.config import load_run
from sigmalab.data.real import INSTALL_COMMAND
from sigmalab.data.registry import REAL

ROOT = Path(__file__).parents[1]


def _readme_commands():
    """The lines of the README's first code block: the two commands at the very top."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


def test_the_readme_starts_with_exactly_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("sigmalab train examples/spiral.toml --out runs/spiral")
    assert commands[1].endswith(".venv/bin/python -m pytest")


def test_the_first_command_installs_what_every_example_needs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert INSTALL_COMMAND == "pip install -e '.[datasets]'"
    assert f".venv/bin/{INSTALL_COMMAND}" in _readme_commands()[0]
    assert any(requirement.startswith("scikit-learn") for requirement in extras["datasets"])
    needing = [p.name for p in ROOT.glob("examples/*.toml") if load_run(p).data.dataset in REAL]
    assert len(needing) == 4  # digits, iris, wine, breast_cancer: all covered by the extra
