"""Task results: rows, filtered rows with their reasons, per-stage accounting, and the run manifest."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulacra.text.types import StageCount


@dataclass
class TaskResult:
    """What a text task returns.

    ``records`` are the output rows (rows whose output stayed invalid are kept, with ``_status`` =
    ``"invalid"`` and ``_error``); ``filtered`` holds every row a filter removed, with ``_stage`` and
    ``_reason``; ``stages`` account for every row: ``inputs == outputs + filtered`` per stage.
    """

    task: str
    records: list[dict[str, Any]] = field(default_factory=list)
    filtered: list[dict[str, Any]] = field(default_factory=list)
    stages: list[StageCount] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    engine_stats: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def stage(self, name: str) -> StageCount:
        """A new stage appended to the accounting."""
        st = StageCount(name)
        self.stages.append(st)
        return st

    def reject(self, stage: StageCount, row: dict[str, Any], reason: str) -> None:
        """Record ``row`` as filtered by ``stage`` for ``reason`` (kept in ``filtered``, counted)."""
        stage.drop(reason)
        self.filtered.append({**row, "_stage": stage.name, "_reason": reason})

    def merge(self, other: TaskResult) -> TaskResult:
        """Add ``other``'s rows, filtered rows, notes and per-stage counts (stages of one name are summed)."""
        self.records += other.records
        self.filtered += other.filtered
        by_name = {s.name: s for s in self.stages}
        for st in other.stages:
            mine = by_name.get(st.name)
            if mine is None:
                mine = self.stage(st.name)
                by_name[st.name] = mine
            mine.inputs += st.inputs
            mine.outputs += st.outputs
            mine.invalid += st.invalid
            for reason, k in st.filtered.items():
                mine.drop(reason, k)
        self.notes += [n for n in other.notes if n not in self.notes]
        self.engine_stats = other.engine_stats or self.engine_stats
        return self

    @property
    def valid(self) -> list[dict[str, Any]]:
        """The rows whose output parsed and validated."""
        return [r for r in self.records if r.get("_status", "ok") == "ok"]

    def to_frame(self) -> Any:
        """The records as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)

    def manifest(self, engine_stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run manifest: config, model, seeds, per-stage counts, engine counters."""
        from simulacra import __version__

        invalid = sum(1 for r in self.records if r.get("_status", "ok") != "ok")
        return {
            "simulacra_version": __version__,
            "task": self.task,
            "config": self.config,
            "engine": engine_stats or self.engine_stats,
            "rows": len(self.records),
            "rows_valid": len(self.records) - invalid,
            "rows_invalid_kept": invalid,
            "rows_filtered": len(self.filtered),
            "stages": [s.as_dict() for s in self.stages],
            "accounting_balanced": all(s.balanced for s in self.stages),
            "notes": list(self.notes),
            "seconds": round(time.time() - self.started, 3),
        }


def fill(n: int, run: Callable[[int, int], TaskResult], *, max_attempts: int | None = None,
         dedup: Callable[[TaskResult, list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> TaskResult:
    """Run a task until ``n`` rows pass its filters, or ``max_attempts`` rows have been asked for.

    ``run(k, round)`` asks the task for ``k`` rows (with seeds that differ by ``round``). After the first
    round, each round asks for the missing rows divided by the yield so far. Invalid rows are replaced
    by valid ones when there are enough; the surplus is filtered as "quota reached"; ``dedup`` (if given)
    removes duplicates across rounds. A "fill" stage accounts for every row, and a note says how many
    attempts were made and why it stopped.

    Examples
    --------
    >>> def run(k, r):
    ...     res = TaskResult("demo")
    ...     res.records = [{"x": i, **({"_status": "invalid"} if i % 2 else {})} for i in range(k)]
    ...     return res
    >>> res = fill(4, run, max_attempts=20)
    >>> len(res.valid), len(res.records), res.stages[-1].balanced
    (4, 4, True)
    """
    budget = max(n, int(max_attempts) if max_attempts is not None else 3 * n)
    res = run(n, 0)
    attempts, rounds = n, 1
    while len(res.valid) < n and attempts < budget and not res.engine_stats.get("gave_up"):
        got = len(res.valid)
        rate = max(got / attempts, 0.1)
        k = min(budget - attempts, max(1, math.ceil((n - got) / rate)))
        more = run(k, rounds)
        attempts += k
        rounds += 1
        res.merge(more)
        if dedup is not None:
            res.records = dedup(res, res.records)
    stage = res.stage("fill")
    stage.inputs = len(res.records)
    valid = [r for r in res.records if r.get("_status", "ok") == "ok"]
    invalid = [r for r in res.records if r.get("_status", "ok") != "ok"]
    kept = valid[:n]
    for row in valid[n:]:
        res.reject(stage, row, "quota reached")
    room = max(0, n - len(kept))
    for row in invalid[room:]:
        res.reject(stage, row, "invalid output, replaced by a valid row" if room == 0 else "invalid output (surplus attempt)")
    kept += invalid[:room]
    stage.invalid = len(invalid[:room])
    stage.outputs = len(kept)
    res.records = kept
    res.config["fill"] = {"asked": n, "attempts": attempts, "budget": budget, "rounds": rounds}
    if rounds > 1 or len(valid) < n:
        why = ("" if len(valid) >= n else "; stopped: the backend gave up" if res.engine_stats.get("gave_up")
               else f"; stopped: the attempt budget ({budget}) was spent")
        res.notes.append(f"{min(len(valid), n)} of {n} valid rows after {attempts} attempts in {rounds} rounds{why}")
    return res


__all__ = ["TaskResult", "fill"]
