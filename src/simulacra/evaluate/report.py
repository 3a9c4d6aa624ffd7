"""The evaluation report: headline numbers, verdicts, JSON and HTML, and a short terminal summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from simulacra.evaluate.registry import MetricResult, available_metrics

#: The three headline scores, in the order shown.
HEADLINES = ("fidelity", "utility", "privacy")


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item") and not isinstance(x, (list, dict, str)):
        return _num(x.item())
    if isinstance(x, dict):
        return {str(k): _num(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    return x


def privacy_score(flat: dict[str, Any]) -> float | None:
    """1 − the worst of: 2·(dcr_share − 0.5), 2·(mia_auc − 0.5), (copies − holdout copies) / 0.1; in [0, 1]."""
    risks = []
    if flat.get("dcr_share") is not None:
        risks.append(2 * (flat["dcr_share"] - 0.5))
    if flat.get("mia_auc") is not None:
        risks.append(2 * (flat["mia_auc"] - 0.5))
    if flat.get("exact_copies") is not None and flat.get("exact_copies_holdout") is not None:
        risks.append((flat["exact_copies"] - flat["exact_copies_holdout"]) / 0.1)
    if not risks:
        return None
    return float(min(1.0, max(0.0, 1.0 - max(risks))))


def _verdicts(flat: dict[str, Any], overlap: bool, empty: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    q, u, p = flat.get("quality"), flat.get("tstr_ratio"), flat.get("privacy")
    out: dict[str, dict[str, Any]] = {}
    if empty:
        names = ", ".join(f"'{c}' ({side})" for c, side in empty.items())
        out["fidelity"] = {"level": "poor", "text": f"Failed: columns entirely empty in one table only: {names}."}
    elif q is None:
        out["fidelity"] = {"level": "unknown", "text": "No column could be compared."}
    else:
        level = "good" if q >= 0.9 else "fair" if q >= 0.8 else "poor"
        text = {"good": "The synthetic table reproduces the real columns and their relations closely.",
                "fair": "The synthetic table follows the real one broadly, with visible differences in some columns or pairs.",
                "poor": "The synthetic table differs clearly from the real one; look at the columns with the lowest scores."}
        out["fidelity"] = {"level": level, "text": text[level]}
    if u is None:
        out["utility"] = {"level": "unknown", "text": "Not measured: give a holdout table and a target column."}
    else:
        level = "good" if u >= 0.95 else "fair" if u >= 0.85 else "poor"
        text = {"good": "A model trained on the synthetic table predicts the target about as well as one trained on real data.",
                "fair": "A model trained on the synthetic table is somewhat worse than one trained on real data.",
                "poor": "A model trained on the synthetic table is much worse than one trained on real data."}
        out["utility"] = {"level": level, "text": text[level]}
    if overlap:
        out["privacy"] = {"level": "unknown", "text": "Not meaningful: the holdout overlaps the training data."}
    elif p is None:
        out["privacy"] = {"level": "unknown", "text": "Not measured: give a holdout table the synthesizer never saw."}
    else:
        level = "good" if p >= 0.9 else "fair" if p >= 0.7 else "poor"
        text = {"good": "Synthetic rows are no closer to the training people than to unseen people: low risk of re-identification.",
                "fair": "Synthetic rows are somewhat closer to training people than to unseen ones: some risk; check the privacy section.",
                "poor": "Synthetic rows copy or sit close to training people: high risk; do not share this table as is."}
        out["privacy"] = {"level": level, "text": text[level]}
    return out


class Summary(str):
    """The report summary as text; shown as a table in a terminal or notebook."""

    rich_table: Any = None

    def __repr__(self) -> str:
        return str(self)

    def __rich__(self) -> Any:
        return self.rich_table if self.rich_table is not None else str(self)


class NumberReport:
    """What every evaluation report shares: its headline numbers as attributes, and JSON output.

    Subclasses set ``self._flat`` (number name → value) and define ``to_dict``.
    """

    _flat: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        flat = self.__dict__.get("_flat", {})
        if name in flat:
            return flat[name]
        raise AttributeError(f"{type(self).__name__} has no number '{name}'; numbers: {', '.join(sorted(flat))}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._flat})

    @property
    def scores(self) -> dict[str, Any]:
        """Every top-level number by name."""
        return dict(self._flat)

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every report defines it
        raise NotImplementedError

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically) and return the path."""
        from simulacra.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return path


class Report(NumberReport):
    """The result of :func:`simulacra.evaluate`: numbers, explanations, verdicts, JSON and HTML.

    Headline numbers are attributes: ``report.quality``, ``report.tstr_ratio``, ``report.dcr_share``...
    (None when not measured). The report keeps no row of the evaluated tables.
    """

    def __init__(self, results: dict[str, MetricResult], *, info: dict[str, Any], warnings: list[str]) -> None:
        self.results = dict(results)
        self.info = dict(info)
        self.warnings = list(warnings)
        flat: dict[str, Any] = {}
        for name, res in self.results.items():
            flat[name] = res.value
            flat.update(res.extras)
        flat["fidelity"] = flat.get("quality")
        flat["utility"] = flat.get("tstr_ratio")
        flat["privacy"] = privacy_score(flat)
        self._flat = _num(flat)
        overlap = any("overlaps the training data" in w for w in self.warnings)
        self.verdict = _verdicts(self._flat, overlap, self.info.get("empty_columns"))

    def __repr__(self) -> str:
        parts = [f"{k}={self._flat[k]:.3f}" for k in HEADLINES if self._flat.get(k) is not None]
        return f"Report({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: top-level numbers, then verdict, warnings, info and every metric in full."""
        metrics = available_metrics()
        detail = {}
        for name, res in self.results.items():
            entry = res.to_dict()
            if name in metrics:
                entry["explanation"] = metrics[name].explanation
                entry["ideal"] = metrics[name].ideal
            detail[name] = entry
        return _num({**self._flat, "verdict": self.verdict, "warnings": self.warnings,
                     "info": self.info, "metrics": detail})

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report (plots inline, no network needed) and return the path."""
        from simulacra.evaluate.html import render_html
        from simulacra.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(render_html(self), encoding="utf-8")
        return path

    def summary(self) -> Summary:
        """A short table of the headline numbers (text; shown as a rich table in a terminal)."""
        from rich.table import Table

        rows = [("Fidelity", "quality", self._flat.get("quality"), self.verdict["fidelity"]["level"])]
        empty = self.info.get("empty_columns") or {}
        if empty:
            rows += [("", "empty_columns", float(len(empty)), "FAILED: " + ", ".join(empty))]
        rows += [("", k, self._flat.get(k), "") for k in ("column_shapes", "column_pair_trends", "detection_auc")]
        rows += [("Utility", "tstr_ratio", self._flat.get("tstr_ratio"), self.verdict["utility"]["level"])]
        rows += [("", k, self._flat.get(k), "") for k in ("tstr_ratio_above_chance", "tstr", "trtr")]
        rows += [("Privacy", "privacy", self._flat.get("privacy"), self.verdict["privacy"]["level"])]
        guarantee = self.info.get("guarantee")
        if guarantee:
            rows += [("", "dp_epsilon", float(guarantee["epsilon"]), f"guarantee: {guarantee.get('guarantee') or 'DP'}")]
        rows += [("", k, self._flat.get(k), "") for k in ("dcr_share", "exact_copies", "exact_copies_holdout",
                                                           "mia_auc", "attribute_risk")]
        rows += [("Fairness", "bias_amplification", self._flat.get("bias_amplification"), ""),
                 ("Validity", "validity", self._flat.get("validity"), ""),
                 ("", "rules", self._flat.get("rules"), "")]
        table = Table(title="simulacra evaluation", show_lines=False)
        for head in ("family", "metric", "value", "verdict"):
            table.add_column(head, justify="right" if head == "value" else "left")
        lines = [f"{'family':<9} {'metric':<22} {'value':>8}  verdict"]
        for fam, key, value, verdict in rows:
            shown = "—" if value is None else f"{value:.0f}" if key == "empty_columns" else f"{value:.3f}"
            table.add_row(fam, key, shown, verdict)
            lines.append(f"{fam:<9} {key:<22} {shown:>8}  {verdict}")
        lines += [f"warning: {w}" for w in self.warnings]
        out = Summary("\n".join(lines))
        out.rich_table = table
        return out
