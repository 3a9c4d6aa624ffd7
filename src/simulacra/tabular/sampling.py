"""Exactly ``n`` valid rows: conditions and constraints enforced by redrawing only the rows that fail.

Every model gets conditional sampling this way; models that condition natively (the copula) are
asked for conditioned rows directly and the check below then accepts them all. Rows are drawn in
rounds of a fixed size from the block's own random stream and accepted in order, so the same seed
gives the same rows whatever the number asked for. When the acceptance rate is (nearly) zero the
condition is impossible for the model and a :class:`~simulacra.errors.ConstraintError` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata
from simulacra.metadata.validate import BOOL_WORDS
from simulacra.random import block_rng, stream
from simulacra.tabular.constraints import ConstraintSet

if TYPE_CHECKING:
    from simulacra.tabular.base import BaseSynthesizer

#: Rows drawn in each round after the first (the first is a whole block).
RETRY_ROWS = 1 << 13
#: With no accepted row after this many draws, the request is impossible.
PROBE_ROWS = 1 << 18
#: Never draw more than this many rows for one block.
MAX_DRAWS = 1 << 23


@dataclass
class Plan:
    """How to sample: the user's conditions, the model-native form of them, and the constraints."""

    constraints: ConstraintSet
    conditions: dict[str, Any] = field(default_factory=dict)
    native: dict[str, Any] | None = None


def check_conditions(conditions: dict[str, Any], meta: Metadata, constraints: ConstraintSet) -> dict[str, Any]:
    """Validate condition columns and values against the table's metadata; returns a clean copy.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = Metadata.detect(pd.DataFrame({"x": [1.0, 2.0] * 20, "g": ["a", "b"] * 20}))
    >>> check_conditions({"g": "a"}, meta, ConstraintSet([]))
    {'g': 'a'}
    """
    if not isinstance(conditions, dict):
        raise ConstraintError(f"conditions must be a mapping of column to value, got {type(conditions).__name__}")
    out: dict[str, Any] = {}
    for name, value in conditions.items():
        if name not in meta.columns:
            raise ConstraintError(
                f"Conditions name unknown column '{name}'; columns are: {', '.join(meta.columns)}"
            )
        kind = meta.columns[name].type
        if kind in ("id", "text") or name in constraints.keys_:
            raise ConstraintError(f"Cannot condition on '{name}': its values are generated fresh ({kind}), not learned.")
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if not values:
            raise ConstraintError(f"The condition on '{name}' lists no value.")
        for v in values:
            if isinstance(v, (dict, list, tuple, set, frozenset)):
                raise ConstraintError(f"Condition {name}={value!r} is not a value: give one value or a list of values.")
            if _is_missing(v):
                continue
            if kind == "numerical" and _to_float(v) is None:
                raise ConstraintError(f"Condition {name}={v!r} is impossible: '{name}' is numerical.")
            if kind == "boolean" and _to_bool(v) is None:
                raise ConstraintError(f"Condition {name}={v!r} is impossible: '{name}' is true/false.")
            if kind == "datetime" and pd.isna(pd.to_datetime(pd.Series([str(v)]), errors="coerce", format="mixed")[0]):
                raise ConstraintError(f"Condition {name}={v!r} is impossible: '{name}' holds dates.")
        out[str(name)] = values if isinstance(value, (list, tuple, set, frozenset)) else value
    _check_against_constraints(out, meta, constraints)
    return out


def _check_against_constraints(conds: dict[str, Any], meta: Metadata, constraints: ConstraintSet) -> None:
    scalar = {k: v for k, v in conds.items() if not isinstance(v, list)}
    for c in constraints.constraints:
        cols = c.columns()
        if cols and set(cols) <= set(scalar) and c.kind != "unique":
            row = pd.DataFrame({k: pd.Series([scalar[k]]) for k in cols})
            try:
                ok = bool(c.valid(row)[0])
            except (TypeError, ValueError):
                ok = True
            if not ok:
                shown = ", ".join(f"{k}={scalar[k]!r}" for k in cols)
                raise ConstraintError(f"Conditions {shown} are impossible: they break {c.label()}.")


def _is_missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return BOOL_WORDS.get(str(value).strip().lower())


def matches(series: pd.Series, value: Any) -> np.ndarray:
    """Rows of ``series`` equal to ``value`` (or to any of a list of values; None means missing).

    Examples
    --------
    >>> matches(pd.Series(["a", "b", None]), ["a", None]).tolist()
    [True, False, True]
    """
    if isinstance(value, list):
        out = np.zeros(len(series), dtype=bool)
        for v in value:
            out |= matches(series, v)
        return out
    if _is_missing(value):
        return series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return (series == _to_bool(value)).fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        number = _to_float(value)
        x = series.to_numpy(dtype=float, na_value=np.nan)
        return np.isclose(x, number, rtol=1e-12, atol=0.0) if number is not None else np.zeros(len(x), bool)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamp = pd.Timestamp(value)
        if series.dt.tz is not None and stamp.tz is None:
            stamp = stamp.tz_localize(series.dt.tz)
        return (series == stamp).fillna(False).to_numpy(dtype=bool)
    values = series.astype(object)
    same = (values == value).fillna(False).to_numpy(dtype=bool)
    return same | (values.astype(str) == str(value)).to_numpy() & series.notna().to_numpy()


def condition_mask(frame: pd.DataFrame, conditions: dict[str, Any]) -> np.ndarray:
    ok = np.ones(len(frame), dtype=bool)
    for name, value in conditions.items():
        ok &= matches(frame[name], value)
    return ok


def sample_valid(
    model: BaseSynthesizer, need: int, seed: int, block: int, plan: Plan, block_rows: int
) -> pd.DataFrame:
    """The first ``need`` valid rows of block ``block`` (row ``block * block_rows`` onwards)."""
    rng = block_rng(seed, block)
    parts: list[pd.DataFrame] = []
    got = drawn = 0
    failures: dict[str, int] = {}
    while got < need or not parts:
        size = block_rows if drawn == 0 else RETRY_ROWS
        cand = model._sample_block(size, rng, block * block_rows + drawn, plan.native).reset_index(drop=True)
        table, broken = plan.constraints.reverse(cand)
        ok = ~broken & plan.constraints.valid(table)
        if plan.conditions:
            ok &= condition_mask(table, plan.conditions)
        if not ok.all():
            _count_failures(table, broken, plan, failures)
        parts.append(table[ok])
        got += int(ok.sum())
        drawn += size
        if got < need:
            _check_progress(got, drawn, need, plan, failures, model)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    out = out.iloc[:need].reset_index(drop=True)
    key_rng = stream(seed, block, 1)
    return plan.constraints.assign_keys(out, block * block_rows + np.arange(len(out)), key_rng)


def _count_failures(table: pd.DataFrame, broken: np.ndarray, plan: Plan, failures: dict[str, int]) -> None:
    if broken.any():
        failures["rows that could not be mapped back (rare values are protected)"] = (
            failures.get("rows that could not be mapped back (rare values are protected)", 0) + int(broken.sum())
        )
    for i, bad in plan.constraints.violations(table).items():
        if bad.any():
            label = plan.constraints.constraints[i].label()
            failures[label] = failures.get(label, 0) + int(bad.sum())
    for name, value in plan.conditions.items():
        bad = ~matches(table[name], value)
        if bad.any():
            label = f"condition {name}={value!r}"
            failures[label] = failures.get(label, 0) + int(bad.sum())


def rare_request_advice(model: Any) -> str:
    """What to do about a request too rare to meet by redrawing rows, for this ``model``.

    A differentially private model is never told to refit or to switch models on the real rows (that spends
    more budget); a model that conditions natively is told when it does; the others get the models that do.
    """
    if getattr(model, "differentially_private", False):
        return ("Ask for fewer rows, or relax the conditions or constraints. Do not fit another model on the real "
                "rows for this (it spends more privacy budget); a model fitted on rows sampled from this one "
                "(post-processing, no budget), e.g. model 'copula', can condition natively.")
    if getattr(model, "supports_conditions", False):
        return ("Ask for fewer rows, or relax the conditions or constraints. This model conditions natively only "
                "on single values of columns that no rule computes; a list of values, or a column a rule sets, "
                "is met by redrawing rows.")
    from simulacra.tabular.registry import conditioning_synthesizers

    names = " or ".join(repr(n) for n in conditioning_synthesizers())
    return f"Ask for fewer rows, relax the conditions, or use a model that conditions natively (model {names})."


def _check_progress(got: int, drawn: int, need: int, plan: Plan, failures: dict[str, int], model: Any) -> None:
    worst = sorted(failures.items(), key=lambda kv: -kv[1])[:3]
    why = "; ".join(f"{label} failed in {count / drawn:.1%} of them" for label, count in worst)
    if got == 0 and drawn >= PROBE_ROWS:
        raise ConstraintError(
            f"Cannot sample rows that satisfy the request: none of {drawn:,} rows drawn from the model did "
            f"({why}). The condition is impossible for this model (a value never learned, or one protected "
            "as rare); check the value, or relax the conditions or constraints."
        )
    if got > 0 and drawn * need / got > MAX_DRAWS:
        raise ConstraintError(
            f"The request is too rare to sample {need:,} rows: only {got:,} of {drawn:,} drawn rows "
            f"satisfied it (about {got / drawn:.2e}; {why}). {rare_request_advice(model)}"
        )
