"""Out-of-bounds values, unseen categories, type errors and constraint violations in the synthetic table."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from simulacra.evaluate.context import CONTINUOUS, EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.metadata.temporal import datetime_seconds
from simulacra.transform.categorical import RARE_TOKEN


def _bounds(ctx: EvalContext, col: str) -> tuple[float, float]:
    meta = ctx.metadata.columns[col]
    real = ctx.floats(col)["real"]
    lo, hi = (float(np.nanmin(real)), float(np.nanmax(real))) if np.isfinite(real).any() else (-np.inf, np.inf)
    if not ctx.cache.get("metadata_given"):
        return lo, hi  # detected metadata holds a sample's range: the real table's own range is the bound
    mlo, mhi = getattr(meta, "minimum", None), getattr(meta, "maximum", None)
    if ctx.types[col] == "datetime":
        # the float view of dates is seconds since the epoch, as for the bounds (any year from 1 to 9999)
        mlo = datetime_seconds(pd.Series([mlo]))[0] if mlo else None
        mhi = datetime_seconds(pd.Series([mhi]))[0] if mhi else None
    return (float(mlo) if mlo is not None else lo, float(mhi) if mhi is not None else hi)


def _column_checks(ctx: EvalContext, bad: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = len(ctx.synthetic)
    bad["out_of_bounds"] = np.zeros(n, bool)
    bad["unseen_categories"] = np.zeros(n, bool)
    bad["type_errors"] = np.zeros(n, bool)
    for col, stype in ctx.types.items():
        meta = ctx.metadata.columns[col]
        if stype in CONTINUOUS:
            lo, hi = _bounds(ctx, col)
            x = ctx.floats(col)["synthetic"]
            oob = (x < lo) | (x > hi)
            bad["out_of_bounds"] |= oob
            info: dict[str, Any] = {"out_of_bounds": int(oob.sum()), "bounds": [lo, hi]}
            if stype == "numerical" and getattr(meta, "integer", False):
                frac = np.isfinite(x) & (x != np.round(x))
                bad["type_errors"] |= frac
                info["not_whole"] = int(frac.sum())
            out[col] = info
        elif stype in ("categorical", "boolean"):
            codes, labels = ctx.codes(col)
            allowed = getattr(meta, "categories", None)
            if allowed:
                ok_labels = np.isin(np.asarray(labels, dtype=object), np.asarray(allowed, dtype=object))
            else:
                ok_labels = np.zeros(len(labels), bool)
                ok_labels[np.unique(codes["real"][codes["real"] >= 0])] = True
            # the placeholder that stands for protected rare categories is by design, not an error
            placeholder = np.asarray(labels, dtype=object) == RARE_TOKEN
            ok_labels = ok_labels | placeholder
            c = codes["synthetic"]
            ok_labels = np.r_[ok_labels, True]  # index -1 (missing) reads this sentinel, never an error
            unseen = (c >= 0) & ~ok_labels[c]
            bad["unseen_categories"] |= unseen
            examples = pd.unique(np.asarray(labels, dtype=object)[c[unseen]])[:5].tolist()
            out[col] = {"unseen": int(unseen.sum()), "examples": [str(e) for e in examples]}
            protected = int(((c >= 0) & np.r_[placeholder, False][c]).sum())
            if protected:
                out[col]["rare_placeholder"] = protected
    for col, count in ctx.cache.get("type_errors", {}).items():
        out.setdefault(col, {})["unreadable"] = count
    for rows in ctx.cache.get("type_error_rows", {}).values():
        bad["type_errors"] |= rows
    return out


def _constraint(ctx: EvalContext, spec: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """Rows violating one constraint, or None with the reason when it cannot be read generically."""
    kind = str(spec.get("type", spec.get("kind", ""))).lower()
    syn = ctx.synthetic
    cols = ctx.types
    if kind == "inequality":
        low, high = spec.get("low", spec.get("low_column")), spec.get("high", spec.get("high_column"))
        if low in cols and high in cols:
            a, b = ctx.floats(low)["synthetic"], ctx.floats(high)["synthetic"]
            viol = (a >= b) if spec.get("strict") else (a > b)
            return viol, f"{low} {'<' if spec.get('strict') else '≤'} {high}"
    elif kind == "range":
        col = spec.get("column")
        if col in cols:
            x = ctx.floats(col)["synthetic"]
            lo, hi = spec.get("min", spec.get("low", -np.inf)), spec.get("max", spec.get("high", np.inf))
            lo = -np.inf if lo is None else float(lo)
            hi = np.inf if hi is None else float(hi)
            return (x < lo) | (x > hi), f"{lo} ≤ {col} ≤ {hi}"
    elif kind in ("fixed_combinations", "fixed_combination"):
        names = [c for c in spec.get("columns", []) if c in cols]
        if len(names) >= 2:
            key = lambda f: pd.MultiIndex.from_frame(f[names].astype(object))  # noqa: E731
            return ~key(syn).isin(key(ctx.real)), f"only combinations of {', '.join(names)} seen in the real data"
    elif kind == "unique":
        names = [c for c in spec.get("columns", [spec.get("column")]) if c in cols]
        if names:
            return syn.duplicated(subset=names, keep="first").to_numpy(), f"{', '.join(names)} unique"
    from simulacra.rules import describe_rule, rule_mask

    mask = rule_mask(spec, syn, ctx.real) if "kind" in spec else None
    if mask is not None:  # the rule language: derived, dependency, bound, clock, missing_with, sum
        return ~mask, describe_rule(spec)
    return None, f"constraint of kind '{kind or '?'}' is not evaluated generically"


@register_metric(
    "validity",
    family="validity",
    ideal="1.0 (every synthetic row valid)",
    explanation="""
    The share of synthetic rows with no problem of these kinds: a numerical or datetime value outside
    the real range (or the bounds in the metadata) — out_of_bounds; a category the real table never
    uses (or not in the metadata's categories) — unseen_categories (the placeholder '<rare>' that
    stands for protected rare categories is not counted: it is counted as rare_placeholder); a value of the wrong type (text in
    a number column, a fraction in a whole-number column) — type_errors; a violated constraint from
    the metadata (inequality, range, fixed combinations, unique) — constraint_violations. Each of
    these is given as a share of synthetic rows; a row that breaks a rule of the real table (see
    `rules`) — rule_violations.
    """,
    after=("rules",),
)
def validity(ctx: EvalContext) -> MetricResult:
    bad: dict[str, np.ndarray] = {}
    per_column = _column_checks(ctx, bad)
    bad["constraint_violations"] = np.zeros(len(ctx.synthetic), bool)
    constraints = []
    for spec in ctx.metadata.constraints:
        viol, label = _constraint(ctx, spec)
        constraints.append({"constraint": spec, "rule": label,
                            "violations": None if viol is None else int(np.sum(viol))})
        if viol is not None:
            bad["constraint_violations"] |= np.asarray(viol, bool)
    rule_bad = ctx.cache.get("rule_violations")
    bad["rule_violations"] = rule_bad if rule_bad is not None and len(rule_bad) == len(ctx.synthetic) else np.zeros(len(ctx.synthetic), bool)
    any_bad = np.logical_or.reduce(list(bad.values()))
    unreadable = sum(ctx.cache.get("type_errors", {}).values())
    extras = {k: float(v.mean()) for k, v in bad.items()}
    return MetricResult(
        "validity", "validity", value=float(1.0 - any_bad.mean()), extras=cast(dict[str, float | None], extras),
        details={"columns": per_column, "constraints": constraints, "unreadable_values": unreadable},
    )
