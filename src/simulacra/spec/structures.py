"""Tables that are not independent rows: children per parent row, time series per entity, graphs.

Each generates by blocks of its *unit* (parent rows, entities) so that, like plain tables, the same
seed gives the same rows whatever the chunking.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simulacra.random import seed_sequence, stream
from simulacra.spec.kinds.base import stable_key
from simulacra.spec.kinds.distributions import Distribution
from simulacra.spec.model import GraphTable, SeriesTable, TablePlan
from simulacra.spec.runner import BLOCK_ROWS, blocks_of, make_block, slice_values

if TYPE_CHECKING:
    from simulacra.spec.engine import Spec


def parent_block_size(per_parent: Distribution) -> int:
    """Parent rows per block of a child table, so that a block holds about BLOCK_ROWS children.

    ``per_parent`` is a numeric distribution (the engine refuses anything else when it reads the
    spec), so it has moments; an infinite or undefined mean (a heavy-tailed Zipf) counts as one.
    """
    mean = float(per_parent.scipy().mean())
    return max(1, BLOCK_ROWS // max(1, math.ceil(mean if np.isfinite(mean) else 1.0)))


def child_counts(spec: Spec, plan: TablePlan, seed: int, pblock: int, hi: int) -> np.ndarray:
    """Children of the first ``hi`` parents of parent block ``pblock``."""
    kind = spec._per_parent[plan.name]
    rng = stream(seed, plan.key, pblock, stable_key("__per_parent__"), 0, 0)
    counts = np.asarray(kind.finish(kind.draw(rng, hi)))
    return np.maximum(np.round(counts), 0).astype(np.int64)


def children_before(spec: Spec, plan: TablePlan, seed: int, pblock: int) -> int:
    """Children of every parent block before ``pblock`` (cached running totals)."""
    size = parent_block_size(spec._per_parent[plan.name])
    cache = spec._totals.setdefault((plan.name, seed), [0])
    while len(cache) <= pblock:
        k = len(cache) - 1
        cache.append(cache[-1] + int(child_counts(spec, plan, seed, k, size).sum()))
    return cache[pblock]


def child_range(spec: Spec, plan: TablePlan, start: int, stop: int, seed: int, context: dict[str, Any]) -> pd.DataFrame:
    """The children of parent rows ``start`` .. ``stop``."""
    size = parent_block_size(spec._per_parent[plan.name])
    parent = plan.model.parent
    frames = []
    for k, lo, hi in blocks_of(start, stop, size):
        counts = child_counts(spec, plan, seed, k, hi)
        parent_rows = np.repeat(np.arange(k * size, k * size + hi, dtype=np.int64), counts)
        ctx = {**context, "parent": parent, "parent_rows": parent_rows}
        cols = make_block(plan, spec.source, seed=seed, block=k, first_row=children_before(spec, plan, seed, k),
                          n=len(parent_rows), context=ctx)
        skip = int(counts[:lo].sum())
        frames.append(spec._frame(plan, {c: slice_values(v, skip, len(parent_rows)) for c, v in cols.items()}))
    return spec._concat(plan, frames)


def child_total(spec: Spec, plan: TablePlan, seed: int, parents: int) -> int:
    size = parent_block_size(spec._per_parent[plan.name])
    full, rest = divmod(parents, size)
    return children_before(spec, plan, seed, full) + (int(child_counts(spec, plan, seed, full, rest).sum()) if rest else 0)


def series_range(spec: Spec, plan: TablePlan, start: int, stop: int, seed: int, context: dict[str, Any]) -> pd.DataFrame:
    """The series of entities ``start`` .. ``stop`` (``length`` rows each)."""
    model: SeriesTable = plan.model
    length = model.length
    size = max(1, BLOCK_ROWS // length)
    times = pd.date_range(pd.Timestamp(str(model.start)), periods=length, freq=model.freq).to_numpy()
    frames = []
    for k, lo, hi in blocks_of(start, stop, size):
        entities = np.arange(k * size, k * size + hi, dtype=np.int64)
        if isinstance(model.entities, str):
            keys = spec.resolve_key(spec._entity_key[plan.name], entities, seed)
        else:
            keys = entities + 1
        rep = np.repeat(np.arange(hi), length)
        structural = {
            model.entity_column: keys.take(pa.array(rep)) if isinstance(keys, pa.Array) else np.asarray(keys)[rep],
            model.time_column: np.tile(times, hi),
            "step": np.tile(np.arange(length, dtype=np.int64), hi),
        }
        if model.step_column:
            structural[model.step_column] = structural["step"]
        cols = make_block(plan, spec.source, seed=seed, block=k, first_row=k * size * length, n=hi * length,
                          structural=structural, context={**context, "series_length": length})
        frames.append(spec._frame(plan, {c: slice_values(v, lo * length, hi * length) for c, v in cols.items()}))
    return spec._concat(plan, frames)


@lru_cache(maxsize=8)
def _graph(model_json: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sources, targets, community, degree) of the graph of ``model`` for ``seed``."""
    from simulacra.errors import require

    nx: Any = require("networkx", "spec", "graph tables")
    model = GraphTable.model_validate_json(model_json)
    s = int(seed_sequence(seed, stable_key(model.model)).generate_state(1)[0])
    n = model.nodes or sum(model.sizes or [])
    if model.model == "erdos_renyi":
        g = nx.fast_gnp_random_graph(n, model.p, seed=s, directed=model.directed)
    elif model.model == "barabasi_albert":
        g = nx.barabasi_albert_graph(n, model.m, seed=s)
    elif model.model == "watts_strogatz":
        g = nx.watts_strogatz_graph(n, model.k, model.p, seed=s)
    else:
        g = nx.stochastic_block_model(model.sizes, model.probabilities, seed=s, directed=model.directed)
    edges = np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)
    community = np.zeros(n, dtype=np.int64)
    if model.sizes:
        community = np.repeat(np.arange(len(model.sizes)), model.sizes)
    degree = np.bincount(edges.ravel(), minlength=n).astype(np.int64)
    return edges[:, 0], edges[:, 1], community, degree


def graph_range(spec: Spec, plan: TablePlan, start: int, stop: int, seed: int, context: dict[str, Any]) -> pd.DataFrame:
    """Rows ``start`` .. ``stop`` of a graph's node table or edge table."""
    model: GraphTable = plan.model
    src, dst, community, degree = _graph(model.model_dump_json(), seed)
    is_edges = plan.structural[0] == model.source_column
    total = len(src) if is_edges else len(degree)
    stop = min(stop, total)
    frames = []
    for k, lo, hi in blocks_of(start, stop, BLOCK_ROWS):
        rows = slice(k * BLOCK_ROWS, k * BLOCK_ROWS + hi)
        if is_edges:
            structural = {model.source_column: src[rows], model.target_column: dst[rows]}
        else:
            structural = {model.node_column: np.arange(rows.start, rows.start + hi, dtype=np.int64),
                          "degree": degree[rows], "community": community[rows]}
        cols = make_block(plan, spec.source, seed=seed, block=k, first_row=k * BLOCK_ROWS, n=hi,
                          structural=structural, context=context)
        frames.append(spec._frame(plan, {c: slice_values(v, lo, hi) for c, v in cols.items()}))
    return spec._concat(plan, frames)


def graph_size(plan: TablePlan, seed: int) -> int:
    model: GraphTable = plan.model
    src, _, _, degree = _graph(model.model_dump_json(), seed)
    return len(src) if plan.structural[0] == model.source_column else len(degree)
