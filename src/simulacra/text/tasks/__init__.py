"""Text tasks: each a prompt template, a parser (a JSON Schema) and filters, with published defaults."""

from __future__ import annotations

from typing import Any

from simulacra.text.engine import Engine


def as_engine(engine: Engine | None, backend: Any, **options: Any) -> Engine:
    """``engine`` itself, or a new in-memory-cached engine over ``backend`` (``"local"`` by default)."""
    if engine is not None:
        return engine
    return Engine(backend if backend is not None else "local", **options)


def call_seed(seed: int, *parts: int) -> int:
    """A per-request seed derived from the job seed and request coordinates (stable across runs).

    Examples
    --------
    >>> call_seed(1, 2) == call_seed(1, 2) != call_seed(1, 3)
    True
    """
    value = int(seed) & 0xFFFFFFFF
    for p in parts:
        value = (value * 1_000_003 + int(p) + 1) % 2_147_483_647
    return value


__all__ = ["as_engine", "call_seed"]


def dedup_stage(res: Any, rows: list[dict[str, Any]], field: str, name: str = "dedup", **options: Any) -> list[dict[str, Any]]:
    """Remove exact and near duplicates of ``rows[field]`` (valid rows only), recording each in ``res``."""
    from simulacra.text.dedup import find_duplicates

    stage = res.stage(name)
    stage.inputs = len(rows)
    ok = [i for i, r in enumerate(rows) if r.get("_status", "ok") == "ok" and isinstance(r.get(field), str)]
    dup = find_duplicates([rows[i][field] for i in ok], **options)
    drop = {ok[j]: reason for j, reason in enumerate(dup.reason) if reason}
    kept = []
    for i, row in enumerate(rows):
        if i in drop:
            res.reject(stage, row, str(drop[i]))
        else:
            kept.append(row)
    stage.outputs = len(kept)
    return kept
