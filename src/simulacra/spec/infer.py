"""A starting spec learned from a real table: one marginal per column and a correlated group.

A draft from private data gets the same privacy floors as a fitted model (``min_category_count``, 5 by
default): a category or integer value seen in fewer rows is never listed (text categories are merged into
``<rare>``), and numeric and date ranges end at the ``k``-th smallest and largest values, so no single
person's extreme value becomes a bound. The draft says so in its ``description``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.transform.categorical import RARE_TOKEN
from simulacra.transform.numerical import tail_bounds

_CANDIDATES = ("normal", "lognormal", "gamma", "uniform", "exponential")


def _fit_continuous(x: np.ndarray, floor: int) -> dict[str, Any]:
    """The candidate distribution with the smallest Kolmogorov-Smirnov distance, clipped to the tails
    that at least ``floor`` rows reach."""
    from scipy import stats

    best: tuple[float, dict[str, Any]] = (np.inf, {})
    spec: dict[str, Any]
    sample = x if len(x) <= 20_000 else np.random.default_rng(0).choice(x, 20_000, replace=False)
    tail_lo, tail_hi, _ = tail_bounds(x, floor)
    lo, hi = float(tail_lo), float(tail_hi)  # type: ignore[arg-type]
    for name in _CANDIDATES:
        if name in ("lognormal", "gamma", "exponential") and sample.min() <= 0 or name == "gamma" and np.ptp(sample) == 0:
            continue  # (a gamma cannot be fitted to a single value, e.g. a one-row table)
        if name == "normal":
            spec, dist = {"kind": "normal", "mean": float(sample.mean()), "std": float(max(sample.std(), 1e-9))}, None
            dist = stats.norm(spec["mean"], spec["std"])
        elif name == "lognormal":
            logs = np.log(sample)
            spec = {"kind": "lognormal", "mu": float(logs.mean()), "sigma": float(max(logs.std(), 1e-9))}
            dist = stats.lognorm(spec["sigma"], scale=np.exp(spec["mu"]))
        elif name == "gamma":
            a, _, scale = stats.gamma.fit(sample, floc=0)
            spec, dist = {"kind": "gamma", "shape": float(a), "scale": float(scale)}, stats.gamma(a, scale=scale)
        elif name == "uniform":
            spec, dist = {"kind": "uniform", "min": lo, "max": hi if hi > lo else lo + 1}, stats.uniform(lo, max(hi - lo, 1))
        else:
            spec, dist = {"kind": "exponential", "scale": float(sample.mean())}, stats.expon(scale=sample.mean())
        ks = float(stats.kstest(sample, dist.cdf).statistic)
        if ks < best[0]:
            best = (ks, spec)
    out = best[1]
    out["clip"] = [lo, hi]
    return out


def _numeric(s: pd.Series, integer: bool, floor: int) -> dict[str, Any]:
    x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"kind": "constant", "value": None}
    if integer and x.min() >= 0 and len(np.unique(x)) <= 50:
        values, counts = np.unique(x.astype(np.int64), return_counts=True)
        kept = counts >= floor  # a value seen in fewer rows is never listed; its share goes to the others
        if kept.any():
            values, counts = values[kept], counts[kept]
            return {"kind": "empirical", "values": values.tolist(), "weights": (counts / counts.sum()).round(6).tolist()}
    spec = _fit_continuous(x, floor)
    decimals = 0 if integer else _decimals(x)
    if decimals is not None:
        spec["round"] = decimals
    return spec


def _decimals(x: np.ndarray) -> int | None:
    for d in range(0, 7):
        if np.allclose(x[:1000], np.round(x[:1000], d)):
            return d
    return None


def _dates(s: pd.Series, floor: int) -> dict[str, Any]:
    d = pd.to_datetime(s, errors="coerce", format="mixed").dropna()
    if d.empty:
        return {"kind": "constant", "value": None}
    timestamps = bool((d != d.dt.normalize()).any())
    lo, hi, _ = tail_bounds(d.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(float), floor)
    start, end = pd.Timestamp(int(lo or 0)), pd.Timestamp(int(hi or 0))  # the k-th first and last dates
    if timestamps:
        return {"kind": "timestamp", "start": str(start), "end": str(end)}
    return {"kind": "date", "start": str(start.date()), "end": str(end.date())}


def _categories(s: pd.Series, max_categories: int, floor: int) -> dict[str, Any]:
    counts = s.dropna().astype(str).value_counts()
    total = counts.sum()
    kept = counts[counts >= floor].head(max_categories)
    values = {str(k): round(float(v / total), 6) for k, v in kept.items()}
    rare = int(counts[counts < floor].sum())
    if rare:  # categories seen in fewer rows than the floor share one label, as in the fitted models
        values[RARE_TOKEN] = round(float(rare / total), 6)
    return {"kind": "categorical", "values": values}


def _column(s: pd.Series, meta: Any, max_categories: int, floor: int) -> dict[str, Any]:
    kind = meta.type
    if kind == "numerical":
        spec = _numeric(s, bool(getattr(meta, "integer", False)), floor)
    elif kind == "boolean":
        spec = {"kind": "bernoulli", "p": round(float(s.dropna().astype(bool).mean()), 6)}
    elif kind == "datetime":
        spec = _dates(s, floor)
    elif kind == "id":
        spec = {"kind": "sequence"} if getattr(meta, "integer", False) else {"kind": "uuid"}
    else:
        spec = _categories(s, max_categories, floor)
    missing = float(s.isna().mean())
    if missing > 0 and spec["kind"] not in ("sequence", "uuid"):
        spec["null_rate"] = round(min(missing, 0.99), 4)
    return spec


def infer_spec(
    data: pd.DataFrame, *, name: str = "data", max_categories: int = 50, min_correlation: float = 0.1,
    min_category_count: int = 5,
) -> dict[str, Any]:
    """A draft spec (a dict to dump as YAML) that imitates ``data``'s columns.

    Numeric columns with some correlation (|r| >= ``min_correlation``) go into one correlated group.
    ``min_category_count`` is the privacy floor of the fitted models: categories and integer values seen
    in fewer rows are not listed (text categories are merged into ``<rare>``), and ranges (clip bounds,
    uniform and date bounds) stop at the ``k``-th smallest and largest values; 1 turns the floor off.

    >>> frame = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0) * 2 + 1, "c": ["a", "b"] * 50})
    >>> spec = infer_spec(frame)
    >>> spec["tables"]["data"]["columns"]["c"]["kind"], "correlation" in str(spec)
    ('categorical', True)
    """
    from simulacra.metadata import Metadata

    if not isinstance(data, pd.DataFrame) or data.empty:
        raise InputError("infer_spec needs a non-empty DataFrame")
    floor = max(1, int(min_category_count))
    meta = Metadata.detect(data)
    columns = {str(c): _column(data[c], meta.columns[str(c)], max_categories, floor) for c in data.columns}
    numeric = [c for c, s in columns.items() if s["kind"] in _CANDIDATES]
    out_columns: dict[str, Any] = {}
    group: list[str] = []
    if len(numeric) >= 2:
        corr = data[numeric].apply(pd.to_numeric, errors="coerce").corr().fillna(0.0).to_numpy()
        np.fill_diagonal(corr, 1.0)  # a constant column (or a one-row table) has no correlation, not 0 with itself
        strong = np.abs(corr - np.eye(len(numeric))).max(axis=1) >= min_correlation
        group = [c for c, keep in zip(numeric, strong) if keep]
        if len(group) >= 2:
            idx = [numeric.index(c) for c in group]
            matrix = np.round(corr[np.ix_(idx, idx)], 4).tolist()
            out_columns["numeric_group"] = {
                "kind": "correlated", "columns": {c: columns[c] for c in group}, "correlation": matrix,
            }
        else:
            group = []
    for c, spec in columns.items():
        if c not in group:
            out_columns[c] = spec
    return {"version": 1, "name": name, "description": privacy_note(floor, len(data)),
            "tables": {name: {"rows": int(len(data)), "columns": out_columns}}}


def privacy_note(floor: int, n_rows: int) -> str:
    """What the draft leaves out of the training data, in a sentence or two."""
    if floor <= 1:
        return "Inferred without privacy floors (min_category_count=1): rare values and exact extremes may appear."
    tails = min(floor, (n_rows + 1) // 2)
    small = (f" The table has only {n_rows} rows, so ranges end at the {tails} smallest and largest values."
             if tails < floor else "")
    return (f"Inferred with privacy floors: categories and integer values seen in fewer than {floor} rows are "
            f"not listed (text categories merged into '{RARE_TOKEN}'), and numeric and date ranges end where at "
            f"least {floor} rows reach, never at one row's extreme value.{small}")
