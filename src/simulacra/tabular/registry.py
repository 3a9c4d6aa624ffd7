"""Synthesizers by short name.

Built-in models are listed here with their module, so that naming one imports only that module (the
command line starts fast); third-party models join with the :func:`register` decorator.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple, TypeVar

from simulacra.errors import InputError
from simulacra.tabular.base import BaseSynthesizer

SYNTHESIZERS: dict[str, type[BaseSynthesizer]] = {}
T = TypeVar("T", bound=type[BaseSynthesizer])


class _Builtin(NamedTuple):
    module: str
    cls: str
    rank: int  # equals the class's default_rank (a test checks it)


BUILTIN: dict[str, _Builtin] = {
    "autoreg": _Builtin("simulacra.tabular.autoreg", "AutoregressiveSynthesizer", 20),
    "dp": _Builtin("simulacra.tabular.dp", "DPSynthesizer", 0),
    "copula": _Builtin("simulacra.tabular.copula", "GaussianCopulaSynthesizer", 10),
    "diffusion": _Builtin("simulacra.tabular.diffusion", "DiffusionSynthesizer", 1),
    "gmm": _Builtin("simulacra.tabular.gmm", "GaussianMixtureSynthesizer", 4),
    "trees": _Builtin("simulacra.tabular.trees", "DecisionTreeSynthesizer", 3),
}


#: Models of sequences (and of related tables): saved and loaded like the others, but not single-table
#: synthesizers, so ``--model`` does not offer them and the single-table checks do not run on them.
COMPOSITE: dict[str, tuple[str, str]] = {
    "SequenceSynthesizer": ("simulacra.tabular.sequence", "SequenceSynthesizer"),
    "RelationalSynthesizer": ("simulacra.tabular.relational", "RelationalSynthesizer"),
}


def get_model_class(name: str) -> Any:
    """The class of a saved model: a registered synthesizer or one of the :data:`COMPOSITE` models."""
    if name in COMPOSITE:
        module, cls = COMPOSITE[name]
        return getattr(importlib.import_module(module), cls)
    return get_synthesizer_class(name)


def register(cls: T) -> T:
    """Class decorator: make a synthesizer available by its short ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a short 'name' to be registered")
    SYNTHESIZERS[cls.name] = cls
    return cls


def _load_builtin(name: str | None = None) -> None:
    """Import the module of one built-in model (or of all of them)."""
    for key, entry in BUILTIN.items():
        if (name is None or name in (key, entry.cls)) and key not in SYNTHESIZERS:
            importlib.import_module(entry.module)


def get_synthesizer_class(name: str) -> type[BaseSynthesizer]:
    """The synthesizer class for a short name (``'copula'``) or a class name."""
    _load_builtin(name)
    if name in SYNTHESIZERS:
        return SYNTHESIZERS[name]
    for cls in SYNTHESIZERS.values():
        if cls.__name__ == name:
            return cls
    raise InputError(f"Unknown model '{name}'; available: {', '.join(available_synthesizers())}")


def available_synthesizers() -> list[str]:
    return sorted(set(BUILTIN) | set(SYNTHESIZERS))


def conditioning_synthesizers() -> list[str]:
    """The models that meet conditions natively (without redrawing rows), preferred first; none of them
    differentially private."""
    for name in BUILTIN:
        try:
            _load_builtin(name)
        except ImportError:  # pragma: no cover - an optional dependency missing
            continue
    found = [c for c in SYNTHESIZERS.values() if c.supports_conditions and not c.differentially_private]
    return [c.name for c in sorted(found, key=lambda c: -c.default_rank)]


def default_synthesizer_name() -> str:
    """The best synthesizer available: the one with the highest ``default_rank``."""
    ranks = {name: entry.rank for name, entry in BUILTIN.items()}
    ranks.update({name: cls.default_rank for name, cls in SYNTHESIZERS.items()})
    return max(ranks, key=ranks.__getitem__)
