"""Statistics of a table computed exactly over a stream of chunks, in memory that does not grow with rows.

Per column: count, missing, mean, standard deviation, min and max; exact quantiles from a table of
distinct values and their counts (numeric columns, up to ``max_distinct`` values, then a weighted
summary accurate to about ``1 / max_distinct`` in rank); category counts (categorical columns); and
the pairwise-complete Pearson correlation of the numeric columns. Two summaries of different parts
of a table ``merge`` into the summary of the whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import DataReadError, InputError

#: Distinct values kept per column before numeric counts are summarised / categories stop being counted.
MAX_DISTINCT = 1_000_000


class _Numeric:
    def __init__(self) -> None:
        self.n = 0
        self.missing = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = np.inf
        self.max = -np.inf
        self.values = np.zeros(0)
        self.counts = np.zeros(0)
        self.exact = True

    def update(self, x: np.ndarray, max_distinct: int) -> None:
        ok = np.isfinite(x)
        self.missing += int(x.size - ok.sum())
        x = x[ok]
        if x.size == 0:
            return
        u, c = np.unique(x, return_counts=True)
        other = _Numeric()
        other.n, other.mean = int(x.size), float(x.mean())
        other.m2 = float(((x - other.mean) ** 2).sum())
        other.min, other.max, other.values, other.counts = float(u[0]), float(u[-1]), u.astype(float), c.astype(float)
        self.merge(other, max_distinct)

    def merge(self, other: _Numeric, max_distinct: int) -> None:
        n = self.n + other.n
        if other.n:
            delta = other.mean - self.mean
            self.mean += delta * other.n / n
            self.m2 += other.m2 + delta * delta * self.n * other.n / n
            self.min, self.max = min(self.min, other.min), max(self.max, other.max)
            values = np.concatenate([self.values, other.values])
            u, inv = np.unique(values, return_inverse=True)
            self.counts = np.bincount(inv, weights=np.concatenate([self.counts, other.counts]), minlength=u.size).astype(float)
            self.values = u
            self.exact = self.exact and other.exact
            if u.size > max_distinct:
                self._compress(max_distinct // 2)
        self.n = n
        self.missing += other.missing

    def _compress(self, size: int) -> None:
        """Group adjacent values into ``size`` weighted centroids (quantiles become approximate)."""
        cum = np.cumsum(self.counts)
        group = np.minimum((cum - self.counts / 2) / cum[-1] * size, size - 1).astype(int)
        weights = np.bincount(group, weights=self.counts, minlength=size)
        sums = np.bincount(group, weights=self.values * self.counts, minlength=size)
        keep = weights > 0
        self.values, self.counts = sums[keep] / weights[keep], weights[keep].astype(float)
        self.exact = False

    def quantiles(self, q: np.ndarray) -> np.ndarray:
        if self.n == 0:
            return np.full(q.shape, np.nan)
        cum = np.cumsum(self.counts)
        ranks = np.clip(np.ceil(q * self.n).astype(np.int64), 1, self.n)  # inverse CDF (lower quantile)
        return self.values[np.minimum(np.searchsorted(cum, ranks, side="left"), self.values.size - 1)]


class _Categorical:
    def __init__(self) -> None:
        self.n = 0
        self.missing = 0
        self.counts: dict[Any, int] = {}
        self.overflow = False

    def update(self, s: pd.Series, max_distinct: int) -> None:
        miss = s.isna()
        self.missing += int(miss.sum())
        self.n += int(len(s) - miss.sum())
        if self.overflow:
            return
        for key, count in s[~miss].value_counts(sort=False).items():
            self.counts[key] = self.counts.get(key, 0) + int(count)
        if len(self.counts) > max_distinct:
            self.counts, self.overflow = {}, True

    def merge(self, other: _Categorical, max_distinct: int) -> None:
        self.n += other.n
        self.missing += other.missing
        self.overflow = self.overflow or other.overflow or len(set(self.counts) | set(other.counts)) > max_distinct
        if self.overflow:
            self.counts = {}
            return
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count


class _Correlation:
    """Sums for the pairwise-complete Pearson correlation, shifted by a reference for accuracy."""

    def __init__(self, names: list[str]) -> None:
        k = len(names)
        self.names = names
        self.ref: np.ndarray | None = None
        self.n, self.sx, self.sxx, self.sxy = (np.zeros((k, k)) for _ in range(4))

    def update(self, x: np.ndarray) -> None:
        if self.ref is None:
            with np.errstate(all="ignore"):
                self.ref = np.nan_to_num(np.nanmean(x, axis=0)) if len(x) else np.zeros(x.shape[1])
        mask = np.isfinite(x)
        z = np.where(mask, x - self.ref, 0.0)
        m = mask.astype(float)
        self.n += m.T @ m
        self.sx += z.T @ m
        self.sxx += (z * z).T @ m
        self.sxy += z.T @ z

    def merge(self, other: _Correlation) -> None:
        if other.ref is None:
            return
        if self.ref is None:
            self.ref, self.n, self.sx, self.sxx, self.sxy = other.ref, other.n, other.sx, other.sxx, other.sxy
            return
        # move other's sums to self's reference: z' = z + d, with d = other.ref - self.ref
        d = other.ref - self.ref
        sx = other.sx + d[:, None] * other.n
        sxx = other.sxx + 2 * d[:, None] * other.sx + (d * d)[:, None] * other.n
        sxy = other.sxy + d[:, None] * other.sx.T + d[None, :] * other.sx + np.outer(d, d) * other.n
        self.n, self.sx, self.sxx, self.sxy = self.n + other.n, self.sx + sx, self.sxx + sxx, self.sxy + sxy

    def matrix(self) -> pd.DataFrame:
        with np.errstate(invalid="ignore", divide="ignore"):
            n = np.where(self.n > 0, self.n, np.nan)
            cov = self.sxy - self.sx * self.sx.T / n
            var_i = self.sxx - self.sx**2 / n
            corr = cov / np.sqrt(var_i * var_i.T)
        np.fill_diagonal(corr, 1.0)
        return pd.DataFrame(np.clip(corr, -1, 1), index=self.names, columns=self.names)


def numeric_values(s: pd.Series) -> np.ndarray:
    """A numeric or date column as floats (dates: seconds since the epoch, UTC), NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(s):
        values = s.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float) / 1e9
        values[s.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)) or pd.api.types.is_datetime64_any_dtype(s)


class StreamingStats:
    """Exact statistics of a table fed chunk by chunk.

    Parameters
    ----------
    max_distinct : int
        Distinct values kept per column (see the module notes).
    correlations : bool
        Also accumulate the Pearson correlation of the numeric columns.

    Examples
    --------
    >>> import pandas as pd
    >>> stats = StreamingStats()
    >>> for chunk in (pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"]}), pd.DataFrame({"x": [3.0, None], "g": ["a", None]})):
    ...     _ = stats.update(chunk)
    >>> stats.rows, float(stats.summary().loc["x", "mean"]), stats.value_counts("g").to_dict()
    (4, 2.0, {'a': 2, 'b': 1})
    """

    def __init__(self, *, max_distinct: int = MAX_DISTINCT, correlations: bool = True) -> None:
        if isinstance(max_distinct, bool) or not isinstance(max_distinct, (int, np.integer)) or max_distinct < 2:
            raise InputError(f"max_distinct must be a whole number of at least 2, got {max_distinct!r}")
        self.max_distinct = int(max_distinct)
        self.correlations = correlations
        self.rows = 0
        self.columns: dict[str, _Numeric | _Categorical] = {}
        self.kinds: dict[str, str] = {}
        self.non_numeric: dict[str, int] = {}
        self._corr: _Correlation | None = None

    def update(self, frame: pd.DataFrame) -> StreamingStats:
        """Add the rows of ``frame``; returns self."""
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"StreamingStats.update takes a pandas DataFrame, got {type(frame).__name__}.")
        if not self.columns:
            for name in frame.columns:
                kind = "numeric" if _is_numeric(frame[name]) else "categorical"
                self.kinds[str(name)] = kind
                self.columns[str(name)] = _Numeric() if kind == "numeric" else _Categorical()
            numeric = [n for n, k in self.kinds.items() if k == "numeric"]
            self._corr = _Correlation(numeric) if self.correlations and numeric else None
        missing = [n for n in self.columns if n not in frame.columns]
        if missing:
            raise DataReadError(f"A chunk lacks columns {missing}; every chunk of a table needs the same columns.")
        numeric_block = []
        for name, col in self.columns.items():
            s = frame[name]
            if isinstance(col, _Numeric):
                values = numeric_values(s)
                self.non_numeric[name] = self.non_numeric.get(name, 0) + int(np.isnan(values).sum() - s.isna().sum())
                col.update(values, self.max_distinct)
                numeric_block.append(values)
            else:
                col.update(s, self.max_distinct)
        if self._corr is not None and numeric_block:
            self._corr.update(np.column_stack(numeric_block))
        self.rows += len(frame)
        return self

    def merge(self, other: StreamingStats) -> StreamingStats:
        """Add the statistics of another part of the same table; returns self."""
        if not self.columns:
            self.__dict__.update({k: v for k, v in other.__dict__.items()})
            return self
        if other.columns and (other.kinds != self.kinds):
            raise InputError(
                "Cannot merge statistics of tables with different columns or column kinds "
                f"({sorted(self.kinds.items())} vs {sorted(other.kinds.items())}); merge parts of one table only."
            )
        for name, col in self.columns.items():
            if name not in other.columns:  # the other part saw no rows
                continue
            col.merge(other.columns[name], self.max_distinct)  # type: ignore[arg-type]
            self.non_numeric[name] = self.non_numeric.get(name, 0) + other.non_numeric.get(name, 0)
        if self._corr is not None and other._corr is not None:
            self._corr.merge(other._corr)
        self.rows += other.rows
        return self

    def summary(self, quantiles: Iterable[float] = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """One row per column: kind, count, missing, mean, std, min, quantiles, max, distinct."""
        qs = np.asarray(list(quantiles), dtype=float)
        rows = {}
        for name, col in self.columns.items():
            row: dict[str, Any] = {"kind": self.kinds[name], "count": col.n, "missing": col.missing}
            if isinstance(col, _Numeric):
                row.update(mean=col.mean if col.n else np.nan, std=np.sqrt(col.m2 / (col.n - 1)) if col.n > 1 else np.nan,
                           min=col.min if col.n else np.nan, max=col.max if col.n else np.nan,
                           distinct=int(col.values.size) if col.exact else None, exact=col.exact)
                row.update({f"q{q:g}": v for q, v in zip(qs, col.quantiles(qs))})
            else:
                row.update(distinct=None if col.overflow else len(col.counts), exact=not col.overflow)
            rows[name] = row
        return pd.DataFrame.from_dict(rows, orient="index")

    def quantiles(self, column: str, q: Iterable[float]) -> np.ndarray:
        """Quantiles (inverse empirical CDF) of a numeric column; exact while ``summary().exact``."""
        col = self._column(column)
        if not isinstance(col, _Numeric):
            raise InputError(f"'{column}' is categorical: it has no quantiles; use value_counts('{column}').")
        return col.quantiles(np.asarray(list(q), dtype=float))

    def value_counts(self, column: str) -> pd.Series:
        """Counts of every value of a column (categorical: categories; numeric: distinct values)."""
        col = self._column(column)
        if isinstance(col, _Numeric):
            return pd.Series(col.counts.astype(np.int64), index=col.values, name=column)
        if col.overflow:
            raise InputError(
                f"'{column}' has more than {self.max_distinct:,} distinct values, so its counts were not kept; "
                "compute the statistics again with a larger max_distinct."
            )
        counts = pd.Series(col.counts, name=column, dtype=np.int64)
        return counts.sort_values(ascending=False, kind="stable")

    def _column(self, column: str) -> Any:
        if column not in self.columns:
            shown = ", ".join(list(self.columns)[:20]) or "none yet: no rows were added"
            raise InputError(f"No column '{column}' in these statistics; columns are: {shown}.")
        return self.columns[column]

    def correlation(self) -> pd.DataFrame:
        """Pairwise-complete Pearson correlation of the numeric columns."""
        if self._corr is None:
            return pd.DataFrame()
        return self._corr.matrix()


def stream_stats(path: Any, *, chunk_rows: int = 250_000, **options: Any) -> StreamingStats:
    """Statistics of a table file or Parquet folder, read in chunks of ``chunk_rows`` rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x\\n1\\n2\\n3\\n4\\n")
    >>> float(stream_stats(p, chunk_rows=3).quantiles("x", [0.5])[0])
    2.0
    """
    from simulacra.io.reading import iter_table_chunks

    stats = StreamingStats(**{k: options.pop(k) for k in ("max_distinct", "correlations") if k in options})
    for chunk in iter_table_chunks(path, chunk_rows, **options):
        stats.update(chunk)
    return stats
