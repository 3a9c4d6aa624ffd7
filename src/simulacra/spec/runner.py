"""Running a table plan over one block of rows: columns in order, missing values, constraints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simulacra.errors import SpecError
from simulacra.random import blocks_of as blocks_of  # the one definition of a block range
from simulacra.spec.kinds.base import Block, Values, apply_nulls
from simulacra.spec.model import TablePlan
from simulacra.spec.source import SpecSource

#: rows are made in blocks of this size; block ``k`` of a table always draws from the same streams
BLOCK_ROWS = 1 << 16
#: attempts to redraw rows that break a constraint before the constraint is declared impossible
MAX_RETRIES = 20000
#: give up early when this many redraws in a row fixed nothing
HOPELESS = 25
#: ... or when, after that many, fewer than this share of redrawn rows come out valid
MIN_ACCEPTANCE = 1e-4


def run_entries(plan: TablePlan, block: Block, source: SpecSource) -> None:
    """Generate every column of ``plan`` into ``block.columns``, in dependency order."""
    for entry in plan.entries:
        try:
            produced = entry.kind.generate(block, entry.name)
        except SpecError as exc:
            raise source.error(entry.loc, str(exc)) from None
        except (ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as exc:
            raise source.error(entry.loc, f"generation failed: {type(exc).__name__}: {exc}") from None
        if entry.kind.null_rate > 0:
            for col in produced:
                mask = block.rng(col, salt=7).random(block.n) < entry.kind.null_rate
                produced[col] = apply_nulls(produced[col], mask)
        for col, values in produced.items():
            if len(values) != block.n:
                raise source.error(entry.loc, f"produced {len(values)} values for {block.n} rows")
        block.columns.update(produced)


def slice_values(values: Values, start: int, stop: int) -> Values:
    if isinstance(values, pa.Array):
        return values.slice(start, stop - start)
    return values[start:stop]


def prefix_context(context: dict[str, Any], n: int, m: int) -> dict[str, Any]:
    """The context of the first ``m`` rows of a block of ``n`` (row-aligned arrays are cut)."""
    return {k: (v[:m] if isinstance(v, np.ndarray) and len(v) == n else v) for k, v in context.items()}


def constraint_mask(plan: TablePlan, columns: dict[str, Values], n: int, first_row: int) -> list[np.ndarray]:
    """One mask per constraint: True where the row satisfies it (or reads a missing value)."""
    from simulacra.spec.expr import numpy_values

    masks = []
    rng = np.random.default_rng(0)  # constraints are deterministic; draws in them are refused at parse
    for expr, _loc, _text in plan.constraints:
        ok = np.broadcast_to(np.asarray(expr.evaluate(columns, n, rng, first_row), dtype=bool), (n,)).copy()
        for name in expr.names:
            if name in columns:
                ok |= np.asarray(pd.isna(numpy_values(columns[name])), dtype=bool)
        masks.append(ok)
    return masks


def _merge(orig: Values, cand: Values, rows: np.ndarray) -> Values:
    """``orig`` with positions ``rows`` taken from ``cand`` (a prefix of the same block)."""
    if isinstance(orig, pa.Array) or isinstance(cand, pa.Array):
        from simulacra.spec.kinds.base import to_arrow_strings

        o, c = to_arrow_strings(orig), to_arrow_strings(cand)
        index = np.arange(len(o))
        index[rows] = len(o) + rows
        return pa.concat_arrays([o, c]).take(pa.array(index))
    out = orig.copy()
    if isinstance(out, np.ndarray) and isinstance(cand, np.ndarray) and out.dtype != cand.dtype:
        out = out.astype(np.result_type(out.dtype, cand.dtype))
    out[rows] = cand[rows]
    return out


def enforce_constraints(plan: TablePlan, block: Block, source: SpecSource) -> None:
    """Redraw the rows that break a constraint (same positions, fresh streams) until all hold."""
    masks = constraint_mask(plan, block.columns, block.n, block.first_row)
    if not masks:
        return
    ok = np.logical_and.reduce(masks)
    tried = passed = 0
    for retry in range(1, MAX_RETRIES + 1):
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            return
        m = int(bad[-1]) + 1
        structural = {k: slice_values(block.columns[k], 0, m) for k in plan.structural if k in block.columns}
        cand = Block(m, block.first_row, block.seed, block.table_key, block.block, retry, structural,
                     prefix_context(block.context, block.n, m))
        run_entries(plan, cand, source)
        cand_ok = np.logical_and.reduce(constraint_mask(plan, cand.columns, m, block.first_row))
        fixed = bad[cand_ok[bad]]
        tried, passed = tried + bad.size, passed + fixed.size
        if retry >= HOPELESS and passed <= MIN_ACCEPTANCE * tried:
            break
        if fixed.size:
            for col in cand.columns:
                if col not in plan.structural:
                    block.columns[col] = _merge(block.columns[col], cand.columns[col], fixed)
            ok[fixed] = True
    _impossible(plan, masks, ok, tried, passed, retry, source)


def _impossible(
    plan: TablePlan, masks: list[np.ndarray], ok: np.ndarray, tried: int, passed: int, retry: int, source: SpecSource
) -> None:
    worst = int(np.argmin([m.mean() for m in masks]))
    _expr, loc, text = plan.constraints[worst]
    rate = float(masks[worst].mean())
    raise source.error(
        loc,
        f"impossible constraint '{text}': it holds in {rate:.2%} of generated rows and {passed} of {tried} redraws; "
        f"{int((~ok).sum())} rows still break it after {retry} attempts. Widen the constraint or change "
        "the distributions so that it can hold",
    )


def make_block(
    plan: TablePlan, source: SpecSource, *, seed: int, block: int, first_row: int, n: int,
    structural: dict[str, Values] | None = None, context: dict[str, Any] | None = None,
) -> dict[str, Values]:
    """All columns of ``n`` rows of block ``block`` of ``plan`` (constraints enforced)."""
    blk = Block(n, first_row, seed, plan.key, block, 0, dict(structural or {}), dict(context or {}))
    run_entries(plan, blk, source)
    enforce_constraints(plan, blk, source)
    return blk.columns


def to_frame(columns: dict[str, Values], names: list[str]) -> pd.DataFrame:
    """A DataFrame of the visible columns (Arrow-backed strings, numpy numbers and dates)."""
    data = {}
    for name in names:
        v = columns[name]
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        if isinstance(v, pa.Array):
            if pa.types.is_large_string(v.type) or pa.types.is_null(v.type):
                v = v.cast(pa.string())
            v = pd.arrays.ArrowStringArray(v) if pa.types.is_string(v.type) else v.to_pandas()
        data[name] = v
    return pd.DataFrame(data, copy=False)


Structural = Callable[[int, int], dict[str, Values]]
