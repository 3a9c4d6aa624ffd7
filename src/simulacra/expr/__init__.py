"""Safe, vectorized expressions over columns: parsed with :mod:`ast`, never ``eval``-ed.

One language serves spec formulas (``= 2.5 * height + normal(0, 5)``) and row filters
(``augment table --where "age < 25 and sex == 'F'"``). Only a whitelist of syntax is accepted
(numbers, strings, column names, arithmetic, comparisons, ``and``/``or``/``not``, ``a if c else b``,
``x in [..]``) and a whitelist of functions (math, and random draws such as ``normal(0, 5)``).
A dialect brings its own functions and value rules through :class:`Evaluator` (the float formulas of
derived columns in :mod:`simulacra.rules.formula` are one).
Nothing can reach a module, an attribute, a file or the interpreter.

Bounds, so that hostile text costs little: at most :data:`MAX_CHARS` characters and
:data:`MAX_DEPTH` levels of nesting; integer arithmetic that leaves 64 bits is refused (so
``10 ** 10 ** 10`` is refused at once instead of running forever); text cannot be repeated with
``*``; ``//`` and ``%`` by zero are refused; ``int()`` of a missing value stays missing. Parts made
only of constants are computed when the expression is checked, so such errors show before any row is
made. This module imports nothing from simulacra but ``errors``.
"""

from __future__ import annotations

from simulacra.expr.evaluate import Evaluator, numpy_values
from simulacra.expr.filters import Filter, row_filter
from simulacra.expr.functions import CONSTANTS, DRAWS, FUNCTIONS, INT_LIMIT, MAX_CHARS, MAX_DEPTH, ROW, suggest
from simulacra.expr.language import Expression, unquote_names

__all__ = [
    "CONSTANTS", "DRAWS", "FUNCTIONS", "INT_LIMIT", "MAX_CHARS", "MAX_DEPTH", "ROW", "Evaluator", "Expression",
    "Filter", "numpy_values", "row_filter", "suggest", "unquote_names",
]
