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
    """A validated spec formula; ``names`` are the columns it reads, ``random`` whether it draws.

    >>> import numpy as np
    >>> ex = Expression("2.5 * height + 50 + normal(0, 5)")
    >>> sorted(ex.names), ex.random
    (['height'], True)
    >>> Expression("where(x > 1, x, 0)").evaluate({"x": np.array([0.5, 2.0])}, 2, np.random.default_rng(0))
    array([0., 2.])
    """

    error: ClassVar[type[InputError]] = SpecError
