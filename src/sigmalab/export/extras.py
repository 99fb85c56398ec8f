"""The optional packages an export needs, imported only when an export asks for them."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import SigmalabError

# Import name -> the extra that installs it.
EXTRAS = {"torch": "torch", "onnx": "onnx", "onnxruntime": "onnx"}


class MissingExtraError(SigmalabError):
    """An export needs a package that the core install leaves out."""


def require(package: str) -> ModuleType:
    """Import ``package``, or say which extra to install: sigmalab itself never needs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        extra = EXTRAS[package]
        raise MissingExtraError(
            f"this export needs the package {package!r}, which is not installed; "
            f"install it with: pip install 'sigmalab[{extra}]'"
        ) from None
