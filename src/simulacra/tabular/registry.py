"""Synthesizers by short name."""

from __future__ import annotations

from typing import TypeVar

from simulacra.errors import InputError
from simulacra.tabular.base import BaseSynthesizer

SYNTHESIZERS: dict[str, type[BaseSynthesizer]] = {}
T = TypeVar("T", bound=type[BaseSynthesizer])


def register(cls: T) -> T:
    """Class decorator: make a synthesizer available by its short ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a short 'name' to be registered")
    SYNTHESIZERS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    import simulacra.tabular.copula  # noqa: F401
    import simulacra.tabular.gmm  # noqa: F401
    import simulacra.tabular.trees  # noqa: F401


def get_synthesizer_class(name: str) -> type[BaseSynthesizer]:
    """The synthesizer class for a short name (``'copula'``) or a class name."""
    _load_builtin()
    if name in SYNTHESIZERS:
        return SYNTHESIZERS[name]
    for cls in SYNTHESIZERS.values():
        if cls.__name__ == name:
            return cls
    raise InputError(f"Unknown model '{name}'; available: {', '.join(sorted(SYNTHESIZERS))}")


def available_synthesizers() -> list[str]:
    _load_builtin()
    return sorted(SYNTHESIZERS)


def default_synthesizer_name() -> str:
    """The best synthesizer available: the registered one with the highest ``default_rank``."""
    _load_builtin()
    return max(SYNTHESIZERS.values(), key=lambda c: c.default_rank).name
