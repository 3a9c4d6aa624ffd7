"""The deprecation shim of the old ``simulacra.text.augment`` path (renamed ``simulacra.text.perturb`` so that it
no longer shares a name with :mod:`simulacra.augment`)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def forwarder(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``old`` that returns ``new``'s public names with a DeprecationWarning."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(new)
        if not hasattr(module, name):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old} was renamed {new}; import {name} from {new}", DeprecationWarning, stacklevel=2)
        return getattr(module, name)

    return __getattr__
