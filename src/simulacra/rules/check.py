"""Which rows of a table obey a rule: one reading of every rule kind, shared by discovery and evaluation.

A rule is the dict form of a constraint (``{"kind": "derived", "column": "hour", "formula":
"sched_dep_time // 100"}``). :func:`rule_mask` reads any table (the real one, a synthetic one from any
tool) with pandas and numpy only; a row where a column of the rule is missing obeys it, as for the
constraints a model keeps.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"a": [1, 2], "b": [3, 4], "t": [4, 7]})
>>> rule_mask({"kind": "derived", "column": "t", "formula": "a + b"}, df).tolist()
[True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.rules.formula import Formula, quote

__all__ = ["as_float", "describe_rule", "rule_columns", "rule_mask", "step_of"]


def as_float(series: pd.Series) -> np.ndarray:
    """Numbers as floats; dates and date-times as seconds since 1970 (UTC); anything else NaN."""
    s = series
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        stamps = s if getattr(s.dt, "tz", None) is None else s.dt.tz_convert("UTC").dt.tz_localize(None)
        out = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float) / 1e9
        return np.where(stamps.isna().to_numpy(), np.nan, out)
    numbers = pd.to_numeric(s, errors="coerce")
    if numbers.notna().sum() >= 0.9 * s.notna().sum():
        return numbers.to_numpy(dtype=float, na_value=np.nan)
    from simulacra.metadata.detect import read_text_dates

    stamps = read_text_dates(s, utc=True)  # all in the format they share: 06/01/2020 beside 13/01/2020 is 6 January
    return as_float(stamps)


def step_of(values: np.ndarray, most: int = 10) -> float:
    """The precision of ``values``: 1 for whole numbers, 0.01 for two decimals, 0 when finer.

    Examples
    --------
    >>> step_of(np.array([1.25, 2.5])), step_of(np.array([3.0, 7.0]))
    (0.01, 1.0)
    """
    finite = values[np.isfinite(values)][:50_000]
    if not finite.size:
        return 0.0
    scale = max(1.0, float(np.abs(finite).max()))
    for d in range(most + 1):
        if np.allclose(np.round(finite, d), finite, rtol=0, atol=1e-9 * scale):
            return 10.0 ** -d
    return 0.0


def rule_columns(spec: dict[str, Any]) -> list[str]:
    """Every column a rule names, in order."""
    kind = spec.get("kind")
    if kind == "derived":
        return [*Formula(str(spec["formula"])).columns, str(spec["column"])]
    if kind == "dependency":
        return [*map(str, spec["determinant"]), *map(str, spec["dependent"])]
    if kind == "bound":
        return [str(spec["column"]), *map(str, spec.get("at_least") or []), *map(str, spec.get("at_most") or [])]
    if kind == "missing_with":
        return [str(spec["if_missing"]), *map(str, spec["then_missing"])]
    if kind == "inequality":
        return [str(spec["low"]), str(spec["high"])]
    if kind == "sum":
        return [*map(str, spec["columns"]), str(spec["total"])]
    if kind == "fixed_combinations":
        return [str(c) for c in spec["columns"]]
    return [str(spec["column"])] if "column" in spec else []


def describe_rule(spec: dict[str, Any]) -> str:
    """A one-line human form of a rule.

    Examples
    --------
    >>> describe_rule({"kind": "bound", "column": "high", "at_least": ["open", "close"]})
    'high >= max(open, close)'
    """
    kind = spec.get("kind")
    if kind == "derived":
        return f"{quote(str(spec['column']))} = {spec['formula']}"
    if kind == "dependency":
        return f"{' + '.join(map(quote, spec['determinant']))} -> {', '.join(map(quote, spec['dependent']))}"
    if kind == "bound":
        parts = []
        for key, op, agg in (("at_least", ">=", "max"), ("at_most", "<=", "min")):
            cols = [quote(c) for c in spec.get(key) or []]
            if cols:
                other = cols[0] if len(cols) == 1 else f"{agg}({', '.join(cols)})"
                parts.append(f"{quote(spec['column'])} {op} {other}")
        return " and ".join(parts)
    if kind == "clock":
        return f"{quote(spec['column'])} is a clock time HHMM (minutes < 60)"
    if kind == "missing_with":
        return f"if {quote(spec['if_missing'])} is missing then {', '.join(map(quote, spec['then_missing']))} missing"
    if kind == "inequality":
        return f"{quote(spec['high'])} {'>' if spec.get('strict') else '>='} {quote(spec['low'])}"
    if kind == "sum":
        return f"{quote(spec['total'])} = {' + '.join(map(quote, spec['columns']))}"
    if kind == "fixed_combinations":
        return "only real combinations of " + ", ".join(map(quote, spec["columns"]))
    if kind == "range":
        return f"{spec.get('min', '')} <= {quote(spec['column'])} <= {spec.get('max', '')}".strip()
    if kind == "unique":
        return f"{quote(spec['column'])} unique"
    return str(kind)


def _floats(frame: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    return {c: as_float(frame[c]) for c in names}


def _derived(spec: dict[str, Any], frame: pd.DataFrame, reference: pd.DataFrame | None) -> np.ndarray:
    formula = Formula(str(spec["formula"]))
    target = str(spec["column"])
    values = _floats(frame, formula.columns)
    got, want = as_float(frame[target]), formula.evaluate(values) if values else np.full(len(frame), np.nan)
    base = reference if reference is not None else frame
    step = step_of(as_float(base[target]))
    tol = 0.5 * step + 1e-9 * np.maximum(1.0, np.abs(want))
    known = np.isfinite(got) & np.all([np.isfinite(v) for v in values.values()], axis=0) if values else np.isfinite(got)
    with np.errstate(invalid="ignore"):
        return ~known | (np.abs(got - want) <= tol)


def _pairs(frame: pd.DataFrame, columns: list[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[columns].astype(str).where(frame[columns].notna(), "<NA>"))


def _dependency(spec: dict[str, Any], frame: pd.DataFrame, reference: pd.DataFrame | None) -> np.ndarray:
    det, dep = [str(c) for c in spec["determinant"]], [str(c) for c in spec["dependent"]]
    cols = det + dep
    base = reference if reference is not None else frame
    known = frame[cols].notna().all(axis=1).to_numpy()
    if reference is None:  # no mapping to compare with: each determinant value has one dependent value
        keys = frame.loc[known, cols].astype(str)
        ok_det = keys.groupby(det, sort=False)[dep].nunique().max(axis=1) <= 1
        good = set(ok_det[ok_det].index.tolist())
        det_keys = [tuple(r) if len(det) > 1 else r[0] for r in frame[det].astype(str).itertuples(index=False)]
        return ~known | np.array([k in good for k in det_keys], dtype=bool)
    inside = _pairs(frame, cols).isin(_pairs(base.dropna(subset=cols), cols))
    return ~known | np.asarray(inside, dtype=bool)


def _bound(spec: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    x = as_float(frame[str(spec["column"])])
    ok = np.ones(len(frame), dtype=bool)
    strict = bool(spec.get("strict"))
    with np.errstate(invalid="ignore"):
        for c in spec.get("at_least") or []:
            lo = as_float(frame[str(c)])
            ok &= np.isnan(lo) | np.isnan(x) | ((x > lo) if strict else (x >= lo))
        for c in spec.get("at_most") or []:
            hi = as_float(frame[str(c)])
            ok &= np.isnan(hi) | np.isnan(x) | ((x < hi) if strict else (x <= hi))
    return ok


def _clock(spec: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    x = as_float(frame[str(spec["column"])])
    with np.errstate(invalid="ignore"):
        ok = (x >= 0) & (x <= 2400) & (np.mod(x, 100) < 60) & (x == np.round(x))
    return np.isnan(x) | ok


def rule_mask(spec: dict[str, Any], frame: pd.DataFrame, reference: pd.DataFrame | None = None) -> np.ndarray | None:
    """Rows of ``frame`` that obey ``spec`` (missing values exempt); None when a column is absent.

    ``reference`` is the real table, for rules defined by its values (a dependency's mapping, fixed
    combinations, a derived column's precision).
    """
    try:
        cols = rule_columns(spec)
    except (KeyError, TypeError):
        return None
    if not cols or any(c not in frame.columns for c in cols):
        return None
    kind = spec.get("kind")
    if kind == "derived":
        return _derived(spec, frame, reference)
    if kind in ("dependency", "fixed_combinations"):
        if kind == "fixed_combinations":
            spec = {"determinant": cols[:-1], "dependent": cols[-1:]}
            if reference is None:
                return None
        return _dependency(spec, frame, reference)
    if kind == "bound":
        return _bound(spec, frame)
    if kind == "inequality":
        return _bound({"column": spec["high"], "at_least": [spec["low"]], "strict": spec.get("strict")}, frame)
    if kind == "sum":
        total = " + ".join(quote(str(c)) for c in spec["columns"])
        return _derived({"column": spec["total"], "formula": total}, frame, reference)
    if kind == "clock":
        return _clock(spec, frame)
    if kind == "missing_with":
        a = frame[str(spec["if_missing"])].isna().to_numpy()
        b = frame[[str(c) for c in spec["then_missing"]]].isna().all(axis=1).to_numpy()
        return ~a | b
    if kind == "range":
        x = as_float(frame[str(spec["column"])])
        lo = as_float(pd.Series([spec["min"]]))[0] if spec.get("min") is not None else -np.inf
        hi = as_float(pd.Series([spec["max"]]))[0] if spec.get("max") is not None else np.inf
        with np.errstate(invalid="ignore"):
            return np.isnan(x) | ((x >= lo) & (x <= hi))
    if kind == "unique":
        s = frame[str(spec["column"])]
        return (~s.duplicated(keep=False) | s.isna()).to_numpy()
    return None
