"""Nearest-neighbour distances on samples, shared by the privacy metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, EvalContext, sample_index
from simulacra.evaluate.features import distance_matrix, is_in, model_columns, row_hashes


def nearest(reference: np.ndarray, query: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Distances and positions of the ``k`` nearest reference rows of every query row (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    nn = NearestNeighbors(n_neighbors=k, algorithm="auto").fit(reference)
    dist, idx = nn.kneighbors(query)
    return dist, idx


def cached_nearest(ctx: EvalContext, reference: str, query: str, k: int) -> np.ndarray:
    """Distances from the ``query`` set to its ``k`` nearest rows of the ``reference`` set (cached)."""
    key = f"nn:{reference}:{query}"
    found = ctx.cache.get(key)
    if found is None or found.shape[1] < k:
        sets = privacy_sets(ctx)
        found, _ = nearest(sets[reference], sets[query], max(k, 2))
        ctx.cache[key] = found
    return found[:, :k]  # type: ignore[no-any-return]


def privacy_sets(ctx: EvalContext) -> dict[str, Any]:
    """Sampled, encoded tables for the distance-based metrics (cached).

    ``train`` and ``holdout`` references have the same size (so that 0.5 is the fair DCR share);
    ``queries`` are synthetic rows, ``holdout_queries`` holdout rows used as the baseline.
    """
    if "privacy_sets" in ctx.cache:
        return ctx.cache["privacy_sets"]  # type: ignore[no-any-return]
    assert ctx.holdout is not None
    rng = ctx.rng("privacy")
    opts = ctx.options
    m = min(len(ctx.real), len(ctx.holdout), opts.reference_rows)
    rows = {
        "real": sample_index(len(ctx.real), m, rng),
        "holdout": sample_index(len(ctx.holdout), m, rng),
        "synthetic": sample_index(len(ctx.synthetic), opts.privacy_rows, rng),
    }
    cols = model_columns(ctx)
    mats = distance_matrix(ctx, cols, rows)
    q_hold = sample_index(len(mats["holdout"]), opts.privacy_rows, rng)
    out = {
        "train": mats["real"], "holdout": mats["holdout"], "queries": mats["synthetic"],
        "holdout_queries": mats["holdout"] if q_hold is None else mats["holdout"][q_hold],
        "reference_rows": m, "query_rows": len(mats["synthetic"]), "columns": cols,
        "sampled": m < max(len(ctx.real), len(ctx.holdout)) or len(mats["synthetic"]) < len(ctx.synthetic),
    }
    ctx.cache["privacy_sets"] = out
    return out


def row_keys(ctx: EvalContext) -> dict[str, np.ndarray]:
    """A hash of every row by role over the non-id columns, on shared encodings (cached)."""
    if "row_keys" in ctx.cache:
        return ctx.cache["row_keys"]  # type: ignore[no-any-return]
    parts: dict[str, list[np.ndarray]] = {role: [] for role in ctx.frames()}
    for col, stype in ctx.types.items():
        if stype == "id":
            continue
        views = ctx.floats(col) if stype in CONTINUOUS else ctx.codes(col)[0]
        for role, v in views.items():
            parts[role].append(v)
    keys = {role: row_hashes(p) for role, p in parts.items()}
    ctx.cache["row_keys"] = keys
    return keys


def check_overlap(ctx: EvalContext) -> dict[str, float]:
    """Warn when the holdout shares far more rows with the training table than chance duplicates explain."""
    import pandas as pd

    keys = row_keys(ctx)
    dup_rate = float(pd.Index(keys["real"]).duplicated(keep=False).mean())
    hold_rate = float(is_in(keys["holdout"], keys["real"]).mean())
    if hold_rate > max(0.05, 2 * dup_rate + 0.01):
        ctx.warn(
            f"The holdout overlaps the training data: {hold_rate:.1%} of holdout rows are also training rows "
            f"(duplicates within the training table: {dup_rate:.1%}). Privacy metrics compare against the "
            "holdout and are meaningless unless it was kept apart; split the data before synthesis."
        )
    return {"holdout_in_train": hold_rate, "train_duplicates": dup_rate}
