"""Row filters: expressions that are true or false per row of a table (``--where``)."""

from __future__ import annotations

import keyword
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import ExpressionError
from simulacra.expr.evaluate import numpy_values
from simulacra.expr.functions import ROW, suggest
from simulacra.expr.language import Expression, unquote_names


class Filter(Expression):
    """A row filter: an expression that is true or false for each row, with no random draws.

    Column names that are not identifiers go in backticks (```hours-per-week` > 40``).

    >>> import pandas as pd
    >>> Filter("age < 30 and `home town` == 'Oslo'").mask(pd.DataFrame({"age": [20, 40], "home town": ["Oslo"] * 2}))
    array([ True, False])
    """

    what: ClassVar[str] = "filter"
    syntax_hint: ClassVar[str] = " (column names that are not plain names, such as `hours-per-week` or `class`, go in backticks)"

    def __init__(self, text: str) -> None:
        self.quoted: dict[str, str] = {}
        super().__init__(text)
        if self.random:
            raise self.error(f"filter '{self._shown()}': random draws are not allowed in a filter")
        self._raw_names = set(self.names)
        self.names = {self.quoted.get(n, n) for n in self.names}

    def _parse_text(self) -> str:
        return unquote_names(self.text, self.quoted)

    def mask(self, frame: Any) -> np.ndarray:
        """True for the rows of ``frame`` (a DataFrame) where the filter holds; missing counts as false."""
        missing = sorted(n for n in self.names if n not in frame.columns and n != ROW)
        if missing:
            cols = [str(c) for c in frame.columns]
            raise self.error(
                f"filter '{self._shown()}' names column '{missing[0]}'{suggest(missing[0], cols)}, which the table "
                f"does not have; columns: {', '.join(cols)}"
                + ("" if all(c.isidentifier() and not keyword.iskeyword(c) for c in cols)
                   else " (put names that are not plain names in `backticks`)")
            )
        columns = {raw: _frame_column(frame[self.quoted.get(raw, raw)]) for raw in self._raw_names
                   if self.quoted.get(raw, raw) in frame.columns}
        out = np.asarray(self.evaluate(columns, len(frame), np.random.default_rng(0)))
        if out.shape != (len(frame),):
            out = np.broadcast_to(out, (len(frame),))
        if out.dtype.kind == "O":
            if not all(v is None or isinstance(v, (bool, np.bool_)) for v in out[:1000]):
                raise self.error(f"filter '{self._shown()}' gives values, not true/false; write a condition such as 'age < 25'")
            out = np.array([bool(v) if v is not None else False for v in out], dtype=bool)
        if out.dtype.kind != "b":
            raise self.error(f"filter '{self._shown()}' gives values, not true/false; write a condition such as 'age < 25'")
        return np.asarray(out, dtype=bool)


def _frame_column(series: Any) -> Any:
    import pandas as pd

    if isinstance(series, pd.DataFrame):
        raise ExpressionError(f"the table has several columns named '{series.columns[0]}'; rename them first")
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return series.to_numpy(dtype=object, na_value=None)
    return numpy_values(series.array if pd.api.types.is_extension_array_dtype(series.dtype) else series.to_numpy())


def row_filter(frame: Any, where: str) -> np.ndarray:
    """The boolean mask of the rows of ``frame`` for which the filter text ``where`` holds.

    Filters use the safe expression language of spec formulas (see ``docs/spec.md``): no ``@variables``,
    attributes or calls outside the whitelist; a column the table lacks is a clear error.

    >>> import pandas as pd
    >>> row_filter(pd.DataFrame({"age": [20, 40, 25]}), "age < 30").tolist()
    [True, False, True]
    """
    return Filter(where).mask(frame)
