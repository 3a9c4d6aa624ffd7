"""The multi-table report: headline numbers, verdicts, per-table reports, JSON, HTML and a terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulacra.evaluate.report import NumberReport, Report, Summary, _num, privacy_score

#: Headline numbers, in the order shown.
HEADLINES = ("quality", "column_shapes", "column_pair_trends", "cardinality", "intertable_trends",
             "missing_similarity", "fk_resolved", "integrity_gap", "privacy")

EXPLANATIONS = {
    "quality": "The overall score: the mean of column_shapes, column_pair_trends, cardinality and intertable_trends "
               "(those measured), as SDMetrics' multi-table QualityReport computes it.",
    "column_shapes": "1 − KS statistic (numerical, datetime) or 1 − total variation (categorical, boolean) of every "
                     "scored column of every table, averaged over all those columns. Key columns are not scored.",
    "column_pair_trends": "Within each table, 1 − |Δ Pearson r| / 2 or the contingency similarity of every pair of "
                          "columns related in the real data (|r| > 0.5 or Cramér's V > 0.3), averaged over all such pairs.",
    "cardinality": "For each relationship, 1 − KS statistic between the real and synthetic numbers of children per "
                   "parent (parents without children count as 0); averaged over relationships.",
    "intertable_trends": "Each child row joined to its parent: the pair trend score of every (parent column, child "
                         "column) pair related in the real data, averaged over all such pairs of all relationships.",
    "missing_similarity": "1 − |share missing in real − share missing in synthetic| per column, averaged over the "
                          "columns of every table. Not part of quality (SDMetrics leaves missing values out).",
    "fk_resolved": "Share of the non-missing synthetic foreign key values, over all relationships, that name an "
                   "existing parent row. 1.0 unless the real data has orphans kept on purpose.",
    "integrity_gap": "The largest gap, over relationships, between the real and synthetic orphan rates or missing "
                     "foreign key rates (0 = kept as in the real data).",
    "privacy": "1 − the worst risk over the per-table and entity-level DCR shares and copies (as the single-table "
               "privacy score); only with a holdout. Tables copied whole (fixed at fit) are left out.",
}


def _integrity_verdict(rels: list[dict[str, Any]]) -> dict[str, str]:
    if not rels:
        return {"level": "unknown", "text": "No relationship was given or detected."}
    worst = 0.0
    for r in rels:
        real, syn = r["integrity"]["real"], r["integrity"]["synthetic"]
        if syn["orphan_rate"] is not None:
            worst = max(worst, syn["orphan_rate"] - (real["orphan_rate"] or 0.0))
        if syn["missing_rate"] is not None and real["missing_rate"] is not None:
            worst = max(worst, abs(syn["missing_rate"] - real["missing_rate"]))
        if syn["duplicate_parent_keys"]:
            worst = 1.0
    level = "good" if worst <= 0.01 else "fair" if worst <= 0.05 else "poor"
    text = {"good": "Foreign keys resolve (orphans and missing keys no more often than in the real data) and keys are unique.",
            "fair": "Some foreign keys point nowhere or are missing more often than in the real data.",
            "poor": "Many synthetic foreign keys point at no parent, are missing too often, or parent keys repeat: "
                    "joins on these tables will lose or duplicate rows."}
    return {"level": level, "text": text[level]}


class MultiTableReport(NumberReport):
    """The result of :func:`simulacra.evaluate_tables`.

    Headline numbers are attributes (``report.quality``, ``report.cardinality``, ``report.fk_resolved``...,
    None when not measured); ``report.tables`` holds each table's single-table :class:`Report` and
    ``report.relationships`` one record per relationship (cardinality, integrity, intertable trends);
    ``report.sequences`` the history figures of each declared sequence child, real beside synthetic.
    The report keeps no row of the evaluated tables.
    """

    def __init__(self, scores: dict[str, Any], *, tables: dict[str, Report], relationships: list[dict[str, Any]],
                 entity_privacy: dict[str, Any], info: dict[str, Any], warnings: list[str],
                 sequences: dict[str, Any] | None = None) -> None:
        self.tables = dict(tables)
        self.sequences = dict(sequences or {})
        self.relationships = list(relationships)
        self.entity_privacy = dict(entity_privacy)
        self.info = dict(info)
        self.warnings = list(warnings)
        flat = dict(scores)
        flat["privacy"] = self._privacy()
        self._flat = _num(flat)
        self.verdict = self._verdicts()

    def _privacy(self) -> float | None:
        parts = [rep.scores.get("privacy") for rep in self.tables.values()]
        parts += [privacy_score(e) for e in self.entity_privacy.values()]
        known = [p for p in parts if p is not None]
        return min(known) if known else None

    def _verdicts(self) -> dict[str, dict[str, str]]:
        fidelity = {"good": "The synthetic tables reproduce the real columns, their relations and the number of children per parent closely.",
                    "fair": "The synthetic tables follow the real ones broadly, with visible differences in some columns, pairs or relationships.",
                    "poor": "The synthetic tables differ clearly from the real ones; look at the lowest scores per table and per relationship.",
                    "unknown": "No column or relationship could be compared."}
        privacy = {"good": "Synthetic rows and entities are no closer to training data than to unseen data.",
                   "fair": "Some synthetic rows or entities sit closer to training data than to unseen data; check the privacy section.",
                   "poor": "Synthetic rows or entities copy or sit close to training data: do not share these tables as they are.",
                   "unknown": "Not measured: give holdout tables the synthesizer never saw."}
        return {"fidelity": _level(self._flat.get("quality"), 0.9, 0.8, fidelity),
                "integrity": _integrity_verdict(self.relationships),
                "privacy": _level(self._flat.get("privacy"), 0.9, 0.7, privacy)}

    def __repr__(self) -> str:
        parts = [f"{k}={self._flat[k]:.3f}" for k in ("quality", "cardinality", "fk_resolved", "privacy")
                 if self._flat.get(k) is not None]
        return f"MultiTableReport({len(self.tables)} tables, {len(self.relationships)} relationships, {', '.join(parts)})"

    def table_scores(self) -> dict[str, dict[str, Any]]:
        """The headline numbers of each table's report."""
        keys = ("quality", "column_shapes", "column_pair_trends", "missing_similarity", "dcr_share", "exact_copies", "privacy")
        return {name: {k: rep.scores.get(k) for k in keys} for name, rep in self.tables.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: headline numbers, verdicts, explanations, warnings, info, then every table and relationship."""
        return _num({**self._flat, "verdict": self.verdict, "explanations": EXPLANATIONS, "warnings": self.warnings,
                     "info": self.info, "relationships": self.relationships, "entity_privacy": self.entity_privacy,
                     "sequences": self.sequences,
                     "tables": {name: rep.to_dict() for name, rep in self.tables.items()}})

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report (plots inline) and return the path."""
        from simulacra.evaluate import page
        from simulacra.evaluate.multi_html import render_multi_html

        return page.write(path, render_multi_html(self))

    def summary(self) -> Summary:
        """A short table of the headline numbers, then one line per table and per relationship."""
        from rich.table import Table

        table = Table(title="simulacra evaluation of related tables")
        table.add_column("part", max_width=36, overflow="fold")
        table.add_column("metric", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("verdict")
        rows: list[tuple[str, str, Any, str]] = []
        verdict = {"quality": self.verdict["fidelity"]["level"], "fk_resolved": self.verdict["integrity"]["level"],
                   "privacy": self.verdict["privacy"]["level"]}
        rows += [("all", k, self._flat.get(k), verdict.get(k, "")) for k in HEADLINES]
        for name, s in self.table_scores().items():
            rows.append((f"table {name}", "quality", s["quality"], ""))
            if name in self.info.get("fixed", {}):
                rows.append(("", "privacy", "not scored", "copied whole (fixed)"))
        for r in self.relationships:
            rows.append((r["name"], "cardinality", r["cardinality"]["score"], ""))
            rows.append(("", "intertable_trends", r["intertable_trends"]["score"], ""))
            rows.append(("", "orphans real / synth.",
                         f"{_pct(r['integrity']['real']['orphan_rate'])} / {_pct(r['integrity']['synthetic']['orphan_rate'])}", ""))
        for name, seq in self.sequences.items():
            rows.append((f"histories of {name}", "repeated pairs", f"{seq['real']['repeated_pairs']} / "
                         f"{seq['synthetic']['repeated_pairs']}", ""))
            rows.append(("", "gaps 1 - KS", seq["gaps_ks"], ""))
            rows += [("", f"static {c}", f"{_pct(v)} / {_pct(seq['synthetic']['statics_constant'].get(c))}", "")
                     for c, v in seq["real"]["statics_constant"].items()]
        lines = [f"{'part':<32} {'metric':<22} {'value':>14}  verdict"]
        for part, key, value, level in rows:
            shown = value if isinstance(value, str) else "—" if value is None else f"{value:.3f}"
            table.add_row(part, key, shown, level)
            lines.append(f"{part:<32} {key:<22} {shown:>14}  {level}")
        lines += [f"warning: {w}" for w in self.warnings]
        out = Summary("\n".join(lines))
        out.rich_table = table
        return out


def _level(value: float | None, good: float, fair: float, texts: dict[str, str]) -> dict[str, str]:
    level = "unknown" if value is None else "good" if value >= good else "fair" if value >= fair else "poor"
    return {"level": level, "text": texts[level]}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"
