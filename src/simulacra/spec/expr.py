"""Spec formulas: the safe expression language of :mod:`simulacra.expr`, raising :class:`SpecError`.

The language (a whitelist of syntax parsed with :mod:`ast`, never ``eval``-ed, with bounds on length,
nesting and integer range) lives in the low module :mod:`simulacra.expr`, so that row filters
elsewhere use the very same rules; this module only gives it the spec's error class.
"""

from __future__ import annotations

from typing import ClassVar

from simulacra.errors import InputError, SpecError
from simulacra.expr import CONSTANTS, DRAWS, FUNCTIONS, ROW, numpy_values
from simulacra.expr import Expression as _Expression

__all__ = ["CONSTANTS", "DRAWS", "FUNCTIONS", "ROW", "Expression", "numpy_values"]


class Expression(_Expression):
    """A spec formula (see :class:`simulacra.expr.Expression`); a bad one raises :class:`SpecError`.

    >>> Expression("row * 2").evaluate({}, 3, __import__("numpy").random.default_rng(0), first_row=1).tolist()
    [2, 4, 6]
    """

    error: ClassVar[type[InputError]] = SpecError
