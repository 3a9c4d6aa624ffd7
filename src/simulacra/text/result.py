"""Task results: rows, filtered rows with their reasons, per-stage accounting, and the run manifest."""

from __future__ import annotations

import time
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


__all__ = ["TaskResult"]
