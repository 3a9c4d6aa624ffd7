"""The multi-table report as one self-contained HTML page, on the shared page stack (:mod:`simulacra.evaluate.page`)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from simulacra.evaluate import page, plots

if TYPE_CHECKING:
    from simulacra.evaluate.multi_report import MultiTableReport

#: Distribution plots per table (lowest-scoring columns first) and parent–child pairs listed per relationship.
MAX_DISTRIBUTIONS = 12
MAX_PAIRS = 10


def cardinality_plot(name: str, card: dict[str, Any]) -> str:
    """Share of parents by number of children, real vs synthetic."""
    hist = card["histogram"]
    fig = plots.figure(3.6, 2.4)
    ax = fig.add_subplot()
    edges = np.asarray(hist["edges"], dtype=float)
    ax.stairs(hist["real"], edges, fill=True, alpha=0.35, color=plots.REAL, label="real")
    ax.stairs(hist["synthetic"], edges, color=plots.SYN, lw=1.6, label="synthetic")
    ax.set_xlabel("children per parent (last bin: that many or more)", fontsize=7)
    ax.set_ylabel("share of parents", fontsize=7)
    score = card["score"]
    ax.set_title(f"{name[:44]}  ({score:.3f})" if score is not None else name[:44], fontsize=8)
    ax.legend(fontsize=6, frameon=False)
    plots.style(ax)
    return plots.png_uri(fig)


def score_bars(labels: list[str], values: list[float | None], xlabel: str) -> str:
    """Horizontal bars of scores, lowest first."""
    items = sorted(((lab, v) for lab, v in zip(labels, values) if v is not None), key=lambda t: t[1])
    fig = plots.figure(7.5, max(1.4, 0.28 * len(items) + 0.6))
    ax = fig.add_subplot()
    ax.barh([lab[:40] for lab, _ in items], [v for _, v in items], color=plots.REAL)
    low = min((v for _, v in items), default=0.0)
    ax.set_xlim(max(0.0, min(0.9, low - 0.05)), 1)
    ax.set_xlabel(xlabel, fontsize=8)
    plots.style(ax)
    return plots.png_uri(fig)


def _cards(rep: MultiTableReport) -> str:
    names = {"fidelity": ("Fidelity", "quality", "quality score"),
             "integrity": ("Integrity", "fk_resolved", "foreign keys resolving"),
             "privacy": ("Privacy", "privacy", "privacy score")}
    cards = page.cards((f"{title} · {what}", rep.scores.get(number), rep.verdict[key]["level"], rep.verdict[key]["text"])
                       for key, (title, number, what) in names.items())
    from simulacra.evaluate.multi_report import EXPLANATIONS

    rows = [[f"<code>{k}</code>", rep.scores.get(k), escape(EXPLANATIONS[k])] for k in EXPLANATIONS]
    return page.section("summary", "Summary", cards, page.table(["metric", "value", "what it measures"], rows))


def _tables(rep: MultiTableReport) -> str:
    out = []
    rows = []
    for name, s in rep.table_scores().items():
        rows_in = rep.info["tables"][name]["rows"]
        rows.append([f"<code>{escape(name)}</code>", f"{rows_in.get('real', 0):,}", f"{rows_in.get('synthetic', 0):,}",
                     s["quality"], s["column_shapes"], s["column_pair_trends"], s["missing_similarity"], s["dcr_share"]])
    out.append(page.table(["table", "rows (real)", "rows (synthetic)", "quality", "column shapes", "pair trends",
                           "missing similarity", "DCR share"], rows, right=(1, 2)))
    for name, table_rep in rep.tables.items():
        shapes = table_rep.results.get("column_shapes")
        cols = shapes.details.get("columns", {}) if shapes else {}
        if not cols:
            continue
        order = sorted(cols, key=lambda c: cols[c]["score"] if cols[c]["score"] is not None else 2.0)
        out.append(f'<h3>{escape(name)}: lowest column shapes</h3><div class="grid">')
        out += [f'<figure>{page.img(plots.distribution(c, cols[c]), name + "." + c)}</figure>' for c in order[:MAX_DISTRIBUTIONS]]
        out.append("</div>")
        if len(order) > MAX_DISTRIBUTIONS:
            out.append(f'<p class="note">{len(order) - MAX_DISTRIBUTIONS} more columns are in the JSON report.</p>')
    return page.section("tables", "Tables", *out)


def _relationships(rep: MultiTableReport) -> str:
    if not rep.relationships:
        return page.section("relationships", "Relationships", '<p class="skipped">No relationship was given or detected.</p>')
    out = ['<p class="note">Cardinality: how many child rows each parent row has (parents without children count as 0), '
           "compared by 1 − the KS statistic. Intertable trends: each child row beside its parent's columns, the pair "
           "trend of every parent column with every child column related in the real data.</p>"]
    rows = []
    for r in rep.relationships:
        c = r["cardinality"]["summary"]
        rows.append([escape(r["name"]), r["cardinality"]["score"], c["real"]["mean"], c["synthetic"]["mean"],
                     c["real"]["zero_share"], c["synthetic"]["zero_share"], r["intertable_trends"]["score"],
                     r["intertable_trends"].get("n_counted", 0)])
    out.append(page.table(["relationship", "cardinality", "children per parent (real)", "(synthetic)",
                           "parents without children (real)", "(synthetic)", "intertable trends", "pairs counted"], rows))
    out.append('<h3>Children per parent</h3><div class="grid">')
    out += [f'<figure>{page.img(cardinality_plot(r["name"], r["cardinality"]), "children per parent, " + r["name"])}</figure>'
            for r in rep.relationships if r["cardinality"]["histogram"]["edges"]]
    out.append("</div>")
    pairs = [(r["name"], p) for r in rep.relationships for p in r["intertable_trends"]["pairs"]
             if p["counts"] and p["score"] is not None]
    if pairs:
        out.append('<h3>Parent–child pairs</h3><div class="plot">' + page.img(
            score_bars([" × ".join(p["columns"]) for _, p in pairs], [p["score"] for _, p in pairs],
                       "pair trend score through the join (1 = same relation)"), "parent-child pair scores") + "</div>")
        worst = sorted(pairs, key=lambda t: t[1]["score"])[:MAX_PAIRS]
        out.append(page.table(["relationship", "columns", "metric", "score", "real", "synthetic"],
                              [[escape(n), escape(" × ".join(p["columns"])), p["metric"], p["score"], p["real"], p["synthetic"]]
                               for n, p in worst]))
    return page.section("relationships", "Relationships", *out)


def _integrity(rep: MultiTableReport) -> str:
    if not rep.relationships:
        return ""
    rows = []
    for r in rep.relationships:
        real, syn = r["integrity"]["real"], r["integrity"]["synthetic"]
        rows.append([escape(r["name"]), syn["resolved"], real["orphan_rate"], syn["orphan_rate"], real["missing_rate"],
                     syn["missing_rate"], syn["duplicate_parent_keys"]])
    return page.section("integrity", "Referential integrity",
                        '<p class="note">Resolved: share of non-missing synthetic foreign keys naming an existing parent row. '
                        "Orphans: non-missing keys naming no parent. Duplicate parent keys make joins repeat rows.</p>",
                        page.table(["relationship", "resolved (synthetic)", "orphan rate (real)", "(synthetic)",
                                    "missing key rate (real)", "(synthetic)", "duplicate parent keys (synthetic)"], rows))


def _sequences(rep: MultiTableReport) -> str:
    if not rep.sequences:
        return ""
    rows = []
    for name, seq in rep.sequences.items():
        real, syn = seq["real"], seq["synthetic"]
        label = f"<code>{escape(name)}</code> by {escape('+'.join(seq['key']))}, ordered by {escape(seq['order'])}"
        rows.append([label, "histories", real["histories"], syn["histories"]])
        rows.append(["", "repeated (entity, order) pairs", real["repeated_pairs"], syn["repeated_pairs"]])
        rows.append(["", "gaps between events, 1 − KS", None, seq["gaps_ks"]])
        rows.append(["", "events per history, 1 − KS", None, seq["lengths_ks"]])
        rows += [["", f"static <code>{escape(c)}</code> constant (share of histories)", v, syn["statics_constant"].get(c)]
                 for c, v in real["statics_constant"].items()]
        rows += [["", f"lag-1 autocorrelation of <code>{escape(c)}</code>", v, syn["lag1"].get(c)]
                 for c, v in real["lag1"].items()]
    return page.section("sequences", "Histories of sequence children",
                        '<p class="note">Tables declared sequences in the metadata: what makes their rows histories. '
                        "Shown beside the score, not part of it.</p>",
                        page.table(["sequence child", "measure", "real", "synthetic"], rows))


def _privacy(rep: MultiTableReport) -> str:
    rows = [[f"table <code>{escape(n)}</code>", s["dcr_share"], s["exact_copies"], None] for n, s in rep.table_scores().items()
            if s["dcr_share"] is not None]
    rows += [[f"entities of <code>{escape(n)}</code> (with {escape(', '.join(e['children']))})", e["dcr_share"],
              e["exact_copies"], e["exact_copies_holdout"]] for n, e in rep.entity_privacy.items()]
    fixed = rep.info.get("fixed", {})
    copied = ('<p class="note">Copied whole (fixed), left out of the privacy measures: ' +
              ", ".join(f"<code>{escape(n)}</code> ({escape(why)})" for n, why in fixed.items()) +
              ". A lookup table kept as it is at fit is public by choice; its rows are the real rows.</p>") if fixed else ""
    if not rows:
        return page.section("privacy", "Privacy", copied +
                            '<p class="skipped">Not measured: give holdout tables the synthesizer never saw.</p>')
    return page.section("privacy", "Privacy", copied +
                        '<p class="note">DCR share: share of synthetic rows closer to a training row than to a holdout row '
                        "(0.5 ideal). Entities: each parent row with its number of children and their mean numerical values.</p>",
                        page.table(["measured on", "DCR share", "exact copies", "exact copies (holdout)"], rows))


def render_multi_html(rep: MultiTableReport) -> str:
    """The whole multi-table report as one HTML document."""
    n_rel = len(rep.relationships)
    sub = (f"{len(rep.tables)} tables · {n_rel} relationship{'s' if n_rel != 1 else ''} · "
           f"simulacra {rep.info.get('simulacra_version', '')}")
    body = "".join([_cards(rep), _tables(rep), _relationships(rep), _integrity(rep), _sequences(rep), _privacy(rep)])
    return page.page("Synthetic database evaluation", sub, body, warnings=rep.warnings)
