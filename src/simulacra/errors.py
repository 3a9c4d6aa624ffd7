"""Every exception simulacra raises, under one :class:`SimulacraError` base.

Messages say what happened and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence


class SimulacraError(Exception):
    """Base class of every error raised by simulacra."""


class InputError(SimulacraError, ValueError):
    """The data or arguments given cannot be used as they are."""


class DataReadError(InputError):
    """A file could not be read as a table."""


class MetadataError(InputError):
    """Metadata is malformed or does not fit the data."""


class ValidationError(InputError):
    """A table does not match its metadata; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str], *, subject: str = "table") -> None:
        self.problems = list(problems)
        head = f"The {subject} does not match its metadata ({len(self.problems)} problem"
        head += "s):" if len(self.problems) != 1 else "):"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class NotFittedError(SimulacraError, RuntimeError):
    """A model was used before ``fit`` was called."""


class ModelFileError(SimulacraError):
    """A saved model is missing, corrupt, tampered with or from an incompatible version."""

    @classmethod
    def corrupt(cls, what: str) -> ModelFileError:
        """The one message for a model file whose content is damaged; ``what`` says which part and how.

        >>> print(ModelFileError.corrupt("a tree has a node with one child"))
        The model file is corrupt: a tree has a node with one child. Re-fit the model and save it again.
        """
        return cls(f"The model file is corrupt: {what}. Re-fit the model and save it again.")


class ConstraintError(InputError):
    """A constraint is malformed, or cannot be satisfied."""


class SpecError(InputError):
    """A generation spec is invalid."""


class BackendError(SimulacraError):
    """An LLM backend stopped answering: a server down or silent past the deadline, a crashed model."""


class ShortfallError(SimulacraError):
    """A generation run wrote fewer valid rows than asked (``--min-yield``); what it has is written."""


class ExpressionError(InputError):
    """An expression (a row filter) is invalid, unsafe or cannot be computed."""


class MissingDependencyError(SimulacraError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        self.package = package
        self.extra = extra
        why = f" for {purpose}" if purpose else ""
        super().__init__(
            f"The optional package '{package}' is needed{why} but is not installed. "
            f"Install it with: pip install 'simulacra[{extra}]'"
        )


def require(module: str, extra: str, purpose: str = "") -> object:
    """Import and return an optional module, or raise :class:`MissingDependencyError`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise MissingDependencyError(module.split(".")[0], extra, purpose) from exc


__all__ = [
    "BackendError",
    "ConstraintError",
    "DataReadError",
    "ExpressionError",
    "InputError",
    "MetadataError",
    "MissingDependencyError",
    "ModelFileError",
    "NotFittedError",
    "ShortfallError",
    "SimulacraError",
    "SpecError",
    "ValidationError",
    "require",
]
