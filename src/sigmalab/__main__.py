"""``python -m sigmalab``: the same CLI as the ``sigmalab`` command."""

from .cli import app

app(prog_name="sigmalab")
