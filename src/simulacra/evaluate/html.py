"""The evaluation's HTML report, on the shared page stack of :mod:`simulacra.evaluate.page` (one self-contained
file: inline CSS and PNG plots, no network, no external script)."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from simulacra.evaluate import page, plots
from simulacra.evaluate.registry import available_metrics
from simulacra.evaluate.validity.rules import rules_html

if TYPE_CHECKING:
    from simulacra.evaluate.report import Report

#: At most this many per-column distribution plots (the lowest-scoring columns first).
MAX_DISTRIBUTIONS = 60

def _ci(ci: Any) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] is not None and ci[1] is not None else ""


def _summary(rep: Report) -> str:
    names = {"fidelity": ("Fidelity", "quality score"), "utility": ("Utility", "TSTR / TRTR"),
             "privacy": ("Privacy", "privacy score")}
    return page.section("summary", "Summary", page.cards(
        (f"{title} · {what}", rep.scores.get(key), rep.verdict[key]["level"], rep.verdict[key]["text"])
        for key, (title, what) in names.items()))


def _fidelity(rep: Report) -> str:
    out = ['<section id="fidelity"><h2>Fidelity</h2>']
    rows = [[f"<code>{n}</code>", rep.scores.get(n), _ci(rep.results[n].ci) if n in rep.results else ""]
            for n in ("quality", "column_shapes", "column_pair_trends", "detection_auc", "missing_similarity")]
    out.append(page.table(["metric", "value", "95% interval"], rows))
    shapes = rep.results.get("column_shapes")
    if shapes and shapes.details.get("columns"):
        cols = shapes.details["columns"]
        out.append('<h3>Column shapes</h3><div class="plot">' + page.img(plots.shape_scores(cols), "column shape scores") + "</div>")
        order = sorted(cols, key=lambda c: cols[c]["score"] if cols[c]["score"] is not None else 2.0)
        shown = order[:MAX_DISTRIBUTIONS]
        out.append('<h3>Distributions, real vs synthetic</h3><div class="grid" id="distributions">')
        out += [f'<figure>{page.img(plots.distribution(c, cols[c]), "distribution of " + c)}</figure>' for c in shown]
        out.append("</div>")
        if len(order) > len(shown):
            out.append(f'<p class="note">{len(order) - len(shown)} more columns are in the JSON report.</p>')
    pairs = rep.results.get("column_pair_trends")
    if pairs and pairs.details.get("pairs"):
        cols_in = list(dict.fromkeys(c for p in pairs.details["pairs"] for c in p["columns"]))
        out.append('<h3 id="correlations">Correlation matrices: real, synthetic, difference</h3>'
                   '<p class="note">Pearson r for two numerical/datetime columns, Cramér\'s V for any other pair.</p>'
                   '<div class="plot">' + page.img(plots.association_matrices(pairs.details["pairs"], cols_in),
                                               "association matrices") + "</div>")
        worst = sorted((p for p in pairs.details["pairs"] if p["counts"]), key=lambda p: p["score"])[:10]
        if worst:
            out.append("<h3>Related pairs reproduced least well</h3>" + page.table(
                ["columns", "metric", "score", "real", "synthetic"],
                [[escape(" × ".join(p["columns"])), p["metric"], p["score"], p["real"], p["synthetic"]] for p in worst]))
    missing = rep.results.get("missing_similarity")
    if missing:
        rows = [[escape(c), r["real"], r["synthetic"]] for c, r in missing.details["columns"].items()
                if r["real"] or r["synthetic"]]
        if rows:
            out.append("<h3>Missing values</h3>" + page.table(["column", "share missing (real)", "share missing (synthetic)"], rows))
    return "".join(out) + "</section>"


def _utility(rep: Report) -> str:
    res = rep.results.get("tstr")
    out = ['<section id="utility"><h2>Utility</h2>']
    if res is None or res.skipped:
        reason = res.skipped if res else "not computed"
        assert reason is not None  # a present result reaches here only when skipped is set
        return "".join(out) + f'<p class="skipped">Not measured ({escape(reason)}).</p></section>'
    d = res.details
    out.append(f'<p>Target <code>{escape(d["target"])}</code>, {d["task"]}; model: gradient boosting.</p>')
    out.append('<div class="plot" id="tstr-plot">' + page.img(plots.utility_bars(d["scores"], d["metric"]), "TSTR vs TRTR") + "</div>")
    rows = [["tstr", rep.tstr, _ci(res.ci)], ["trtr", rep.trtr, ""], ["tstr_ratio", rep.tstr_ratio, ""],
            ["tstr_ratio_above_chance", rep.scores.get("tstr_ratio_above_chance"), ""]]
    if d["task"] == "classification":
        rows += [["tstr_f1", rep.tstr_f1, ""], ["trtr_f1", rep.trtr_f1, ""]]
    out.append(page.table(["metric", "value", "95% interval"], [[f"<code>{a}</code>", b, c] for a, b, c in rows]))
    return "".join(out) + "</section>"


def _privacy(rep: Report) -> str:
    out = ['<section id="privacy"><h2>Privacy</h2>', _guarantee(rep.info.get("guarantee"))]
    rows = []
    for name, base in (("dcr_share", "0.5"), ("exact_copies", page.fmt(rep.scores.get("exact_copies_holdout"))),
                       ("nndr", page.fmt(rep.scores.get("nndr_holdout"))), ("mia_auc", "0.5"), ("attribute_risk", "0")):
        res = rep.results.get(name)
        if res is None:
            continue
        value = res.skipped and f'<span class="skipped">{escape(res.skipped)}</span>' or res.value
        rows.append([f"<code>{name}</code>", value, _ci(res.ci), base])
    out.append(page.table(["metric", "value", "95% interval", "baseline / ideal"], rows))
    dcr = rep.results.get("dcr_share")
    if dcr and not dcr.skipped:
        out.append('<h3>Distance to closest record</h3><p class="note">If the synthetic rows (orange) are no closer to '
                   'training rows than to holdout rows (blue, dashed), the synthesizer did not memorise people.</p>'
                   '<div class="plot" id="dcr-plot">' + page.img(plots.dcr_histogram(dcr.details["histogram"]), "DCR histograms") + "</div>")
    return "".join(out) + "</section>"


def _guarantee(guarantee: dict[str, Any] | None) -> str:
    """The model's formal guarantee, stated above the measured risks that check it empirically."""
    if not guarantee:
        return ""
    eps, delta = guarantee["epsilon"], guarantee["delta"]
    text = (f'<p><b>Formal guarantee:</b> {escape(str(guarantee.get("guarantee") or "differential privacy"))} '
            f'(ε = {eps:g}, δ = {delta:.2g}, {escape(str(guarantee.get("neighbouring", "one row")))}): whatever an attacker '
            f"knows, the released model changes the odds of any conclusion about one person by at most a factor "
            f"e<sup>ε</sup> = {math.exp(eps):.3g} (plus probability δ). The metrics below measure the risk empirically on this sample; "
            f"they should sit at their ideal values.</p>")
    composed = guarantee.get("composed")
    if composed:
        text += (f'<p class="note">The same rows fed {composed["releases"]} releases: together they are '
                 f'(ε = {composed["epsilon"]:g}, δ = {composed["delta"]:.2g})-DP.</p>')
    if guarantee.get("mechanism"):
        text += f'<p class="note">Mechanism: {escape(str(guarantee["mechanism"]))}</p>'
    return text


def _fairness(rep: Report) -> str:
    res = rep.results.get("bias_amplification")
    out = ['<section id="fairness"><h2>Bias</h2>']
    if res is None or not res.details.get("columns"):
        reason = res.skipped if res and res.skipped else "not computed"
        return "".join(out) + f'<p class="skipped">Not measured ({escape(reason)}).</p></section>'
    for col, p in res.details["columns"].items():
        out.append(f"<h3>{escape(col)}</h3><p>Demographic parity difference: real {page.fmt(p['parity_difference_real'])}, "
                   f"synthetic {page.fmt(p['parity_difference_synthetic'])} (change {page.fmt(p['amplification'])}).</p>")
        out.append('<div class="plot">' + page.img(plots.group_rates(col, p["groups"], res.details["outcome"]), "rates of " + col) + "</div>")
        out.append(page.table(["group", "rows (real)", "rows (synthetic)", "rate (real)", "rate (synthetic)"],
                          [[escape(g["group"]), g["n_real"], g["n_synthetic"], g["real"], g["synthetic"]] for g in p["groups"]]))
    return "".join(out) + "</section>"


def _validity(rep: Report) -> str:
    res = rep.results.get("validity")
    out = ['<section id="validity"><h2>Validity</h2>']
    if res is None:
        return "".join(out) + "</section>"
    out.append(page.table(["metric", "share of synthetic rows"], [[f"<code>{k}</code>", v] for k, v in
                                                              [("validity", res.value), *res.extras.items()]]))
    rows = [[escape(c), i.get("out_of_bounds", 0), i.get("unseen", 0), i.get("not_whole", 0) + i.get("unreadable", 0),
             escape(", ".join(i.get("examples", [])))] for c, i in res.details["columns"].items()
            if i.get("out_of_bounds") or i.get("unseen") or i.get("not_whole") or i.get("unreadable")]
    if rows:
        out.append(page.table(["column", "out of bounds", "unseen categories", "type errors", "examples"], rows))
    if res.details["constraints"]:
        out.append(page.table(["constraint", "violations"], [[escape(c["rule"]), c["violations"]] for c in res.details["constraints"]]))
    return "".join(out) + "</section>"


def _glossary(rep: Report) -> str:
    items, notes = [], []
    for name, metric in available_metrics().items():
        res = rep.results.get(name)
        state = "not computed" if res is None else (f"skipped: {res.skipped}" if res.skipped else f"value {page.fmt(res.value)}")
        items.append(f"<dt><code>{name}</code> · {metric.family} · {escape(state)}</dt><dd>{escape(metric.explanation)}"
                     f' <span class="note">Ideal: {escape(metric.ideal)}.</span></dd>')
        if res is not None and res.sampling:
            notes.append(f"<li><code>{name}</code>: {escape(res.sampling)}</li>")
    sampling = ("<ul>" + "".join(notes) + "</ul>") if notes else "<p>Every number was computed on all rows.</p>"
    return ('<section id="sampling"><h2>Sampling</h2><p class="note">Where exact computation would be quadratic or '
            "model-based, metrics use random samples (seeded); their 95% intervals are shown beside them.</p>"
            + sampling + '</section><section id="metrics"><h2>What the metrics mean</h2><dl class="glossary">'
            + "".join(items) + "</dl></section>")


def render_html(rep: Report) -> str:
    """The whole report as one HTML document."""
    rows = rep.info.get("rows", {})
    sub = ", ".join(f"{k}: {v:,} rows" for k, v in rows.items())
    body = "".join([_summary(rep), _fidelity(rep), _utility(rep), _privacy(rep), _fairness(rep), _validity(rep), rules_html(rep), _glossary(rep)])
    return page.page("Synthetic data evaluation", f"{sub} · {len(rep.info.get('columns', {}))} columns · "
                     f"simulacra {rep.info.get('simulacra_version', '')}", body, warnings=rep.warnings)
