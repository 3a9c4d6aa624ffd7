"""A starting spec learned from a real table: one marginal per column and a correlated group."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError

_CANDIDATES = ("normal", "lognormal", "gamma", "uniform", "exponential")


def _fit_continuous(x: np.ndarray) -> dict[str, Any]:
    """The candidate distribution with the smallest Kolmogorov-Smirnov distance."""
    from scipy import stats

    best: tuple[float, dict[str, Any]] = (np.inf, {})
    spec: dict[str, Any]
    sample = x if len(x) <= 20_000 else np.random.default_rng(0).choice(x, 20_000, replace=False)
    lo, hi = float(sample.min()), float(sample.max())
    for name in _CANDIDATES:
        if name in ("lognormal", "gamma", "exponential") and lo <= 0:
            continue
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


def _numeric(s: pd.Series, integer: bool) -> dict[str, Any]:
    x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return {"kind": "constant", "value": None}
    if integer and x.min() >= 0 and len(np.unique(x)) <= 50:
        values, counts = np.unique(x.astype(np.int64), return_counts=True)
        return {"kind": "empirical", "values": values.tolist(), "weights": (counts / counts.sum()).round(6).tolist()}
    spec = _fit_continuous(x)
    decimals = 0 if integer else _decimals(x)
    if decimals is not None:
        spec["round"] = decimals
    return spec


def _decimals(x: np.ndarray) -> int | None:
    for d in range(0, 7):
        if np.allclose(x[:1000], np.round(x[:1000], d)):
            return d
    return None


def _column(s: pd.Series, meta: Any, max_categories: int) -> dict[str, Any]:
    kind = meta.type
    if kind == "numerical":
        spec = _numeric(s, bool(getattr(meta, "integer", False)))
    elif kind == "boolean":
        spec = {"kind": "bernoulli", "p": round(float(s.dropna().astype(bool).mean()), 6)}
    elif kind == "datetime":
        d = pd.to_datetime(s, errors="coerce", format="mixed").dropna()
        timestamps = bool((d != d.dt.normalize()).any())
        spec = {"kind": "timestamp" if timestamps else "date", "start": str(d.min().date() if not timestamps else d.min()),
                "end": str(d.max().date() if not timestamps else d.max())}
    elif kind == "id":
        spec = {"kind": "sequence"} if getattr(meta, "integer", False) else {"kind": "uuid"}
    else:
        counts = s.dropna().astype(str).value_counts()
        top = counts.head(max_categories)
        spec = {"kind": "categorical", "values": {str(k): round(float(v / counts.sum()), 6) for k, v in top.items()}}
    missing = float(s.isna().mean())
    if missing > 0 and spec["kind"] not in ("sequence", "uuid"):
        spec["null_rate"] = round(min(missing, 0.99), 4)
    return spec


def infer_spec(
    data: pd.DataFrame, *, name: str = "data", max_categories: int = 50, min_correlation: float = 0.1
) -> dict[str, Any]:
    """A draft spec (a dict to dump as YAML) that imitates ``data``'s columns.

    Numeric columns with some correlation (|r| >= ``min_correlation``) go into one correlated group.

    >>> frame = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0) * 2 + 1, "c": ["a", "b"] * 50})
    >>> spec = infer_spec(frame)
    >>> spec["tables"]["data"]["columns"]["c"]["kind"], "correlation" in str(spec)
    ('categorical', True)
    """
    from simulacra.metadata import Metadata

    if not isinstance(data, pd.DataFrame) or data.empty:
        raise InputError("infer_spec needs a non-empty DataFrame")
    meta = Metadata.detect(data)
    columns = {str(c): _column(data[c], meta.columns[str(c)], max_categories) for c in data.columns}
    numeric = [c for c, s in columns.items() if s["kind"] in _CANDIDATES]
    out_columns: dict[str, Any] = {}
    group: list[str] = []
    if len(numeric) >= 2:
        corr = data[numeric].apply(pd.to_numeric, errors="coerce").corr().fillna(0.0).to_numpy()
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
    return {"version": 1, "name": name, "tables": {name: {"rows": int(len(data)), "columns": out_columns}}}
