"""The sequence report (:func:`~simulacra.evaluate.sequence.evaluate_sequences`) as one self-contained HTML
page, on the shared page stack of the other reports (:mod:`simulacra.evaluate.page`, :mod:`simulacra.evaluate.plots`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from simulacra.evaluate.sequence import evaluate_sequences
>>> def make(seed):
...     r = np.random.default_rng(seed)
...     return pd.DataFrame([(f"e{e}", t, r.normal()) for e in range(20) for t in range(15)], columns=["id", "t", "x"])
>>> html = render_sequence_html(evaluate_sequences(make(0), make(1), entity="id", order="t"))
>>> 'id="autocorrelation"' in html
True
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.evaluate import page, plots

#: What each summary figure measures (the first table of the page).
EXPLANATIONS = {
    "length_ks_complement": "events per entity, 1 − KS statistic (1 = same distribution)",
    "gap_ks_complement": "gaps between consecutive events, 1 − KS statistic",
    "static_coherence": "share of synthetic entities whose static attributes stay constant",
    "autocorrelation_max_gap": "largest |real − synthetic| autocorrelation at lags 1–5 (0 ideal)",
    "window_detection_auc": "ROC AUC telling windows of 5 real events from synthetic ones (0.5 ideal)",
    "next_step_r2_tstr": "R² of next-step prediction trained on synthetic, tested on held-out real entities",
    "entity_dcr_share": "share of synthetic entities closer to a training entity than to a holdout one (0.5 ideal)",
    "copied_histories": "synthetic histories equal to a real one (0 ideal)",
}


def _level(value: float | None, good: float, fair: float, *, lower: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return ""
    if lower:
        return "good" if value <= good else "fair" if value <= fair else "poor"
    return "good" if value >= good else "fair" if value >= fair else "poor"


def summary_scores(rep: dict[str, Any]) -> dict[str, Any]:
    """The figures of the summary table, by name (None where not measured)."""
    return {
        "length_ks_complement": rep["length_ks_complement"], "gap_ks_complement": rep["gap_ks_complement"],
        "static_coherence": rep["static_coherence"], "autocorrelation_max_gap": rep["autocorrelation_max_gap"],
        "window_detection_auc": rep["window_detection_auc"],
        "next_step_r2_tstr": rep.get("next_step", {}).get("r2_tstr"),
        "entity_dcr_share": rep.get("privacy", {}).get("entity_dcr_share"),
        "copied_histories": rep["copied_histories"],
    }


def _summary(rep: dict[str, Any]) -> str:
    scores = summary_scores(rep)
    both = [v for v in (scores["length_ks_complement"], scores["gap_ks_complement"]) if v is not None and np.isfinite(v)]
    shape = float(np.mean(both)) if both else None
    auc, dcr = scores["window_detection_auc"], scores["entity_dcr_share"]
    cards = page.cards([
        ("Histories · lengths and gaps", shape, _level(shape, 0.9, 0.75),
         "mean of the 1 − KS of events per entity and of gaps"),
        ("Realism · window detection", auc, _level(auc, 0.6, 0.75, lower=True),
         "not measured: too few windows of 5 events" if auc is None else "ROC AUC, 0.5 = indistinguishable"),
        ("Privacy · entity DCR share", dcr, _level(dcr, 0.55, 0.6, lower=True),
         "not measured: give holdout entities (--holdout)" if dcr is None else "0.5 = no closer to training entities"),
    ])
    rows = [[f"<code>{k}</code>", v, escape(EXPLANATIONS[k])] for k, v in scores.items()]
    counts = (f'<p class="note">Entities: real {rep["entities"]["real"]:,}, synthetic {rep["entities"]["synthetic"]:,}; '
              f'events: real {rep["events"]["real"]:,}, synthetic {rep["events"]["synthetic"]:,}.</p>')
    return page.section("summary", "Summary", cards, counts, page.table(["figure", "value", "what it measures"], rows))


def _histories(rep: dict[str, Any]) -> str:
    figs = []
    for key, title, score in (("events_per_entity", "events per entity", rep["length_ks_complement"]),
                              ("gaps", "gaps between events", rep["gap_ks_complement"])):
        hist = rep.get("histograms", {}).get(key)
        if hist and hist["edges"]:
            info = {"plot": {"kind": "continuous", **hist}, "type": "numeric",
                    "score": score if score is not None and np.isfinite(score) else None}
            figs.append(f"<figure>{page.img(plots.distribution(title, info), title)}</figure>")
    rows = [["order strictly increasing within each synthetic entity", rep["order_increasing"]],
            ["duplicate (entity, order) pairs in the synthetic table", rep["duplicate_entity_order"]]]
    rules = [[f"<code>{escape(r['rule'])}</code>", r["real"], r["synthetic"]] for r in rep["row_rules"]]
    parts = ['<p class="note">Share of entities by number of events, and of consecutive events by gap, real vs '
             "synthetic (gaps in days for a date order column; the last bin holds the longest 1 %). Titles give 1 − KS.</p>",
             '<div class="grid" id="lengths-gaps">' + "".join(figs) + "</div>",
             page.table(["check", "value"], rows)]
    if rules:
        parts.append("<h3>Row rules</h3>" + page.table(["rule holding in the real rows", "share (real)", "share (synthetic)"], rules))
    return page.section("histories", "Lengths, gaps and order", *parts)


def acf_plot(column: str, table: dict[str, Any]) -> str:
    """Autocorrelation at each lag, real vs synthetic: of the level, and of changes and absolute changes where measured."""
    series = [("level", table)] + [(name, table[key]) for key, name in (("changes", "changes"),
                                                                         ("abs_changes", "|changes|")) if key in table]
    fig = plots.figure(3.4 * len(series), 2.3, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(series)))
    lags = table["lags"]
    for ax, (name, values) in zip(axes, series):
        ax.plot(lags, values["real"], "o-", color=plots.REAL, label="real")
        ax.plot(lags, values["synthetic"], "s--", color=plots.SYN, label="synthetic")
        ax.set_title(f"{column[:24]}: {name}", fontsize=9)
        ax.set_xticks(lags)
        ax.set_xlabel("lag (events)", fontsize=7)
        ax.axhline(0, color="#bbb", lw=0.6)
        plots.style(ax)
    axes[0].legend(fontsize=6, frameon=False)
    return plots.png_uri(fig)


def _autocorrelation(rep: dict[str, Any]) -> str:
    acf = rep["autocorrelation"]
    if not acf:
        return page.section("autocorrelation", "Autocorrelation", '<p class="skipped">No numeric column that moves within entities.</p>')
    rows = []
    for col, table in acf.items():
        for key, name in (("", "level"), ("changes", "changes"), ("abs_changes", "|changes|")):
            values = table if not key else table.get(key)
            if values is not None:
                rows.append([f"<code>{escape(col)}</code> {name}", *[f"{r:.3f} / {s:.3f}" for r, s in
                                                                 zip(values["real"], values["synthetic"])]])
    lags = next(iter(acf.values()))["lags"]
    return page.section(
        "autocorrelation", "Autocorrelation at lags 1–5",
        '<p class="note">Mean within-entity autocorrelation, real / synthetic; for a persistent level (a price) also '
        "of its log changes and of their absolute values (volatility clustering).</p>",
        page.table(["column", *[f"lag {k}" for k in lags]], rows, right=range(1, len(lags) + 1)),
        *[page.figure(acf_plot(c, t), "autocorrelation of " + c) for c, t in acf.items()])


def _statics(rep: dict[str, Any]) -> str:
    if not rep["statics"]:
        return page.section("statics", "Static attributes", '<p class="skipped">No column is constant within every real entity.</p>')
    names = ", ".join(f"<code>{escape(c)}</code>" for c in rep["statics"])
    return page.section("statics", "Static attributes",
                        f'<p class="note">Columns constant within every real entity: {names}.</p>',
                        page.table(["measure", "value"], [["synthetic entities whose static attributes stay constant",
                                                           rep["static_coherence"]]]))


def _co_movement(rep: dict[str, Any]) -> str:
    pairs = [(f"{col} {kind.replace('abs_changes', '|changes|')}", p) for col, kinds in rep.get("cross_entity_correlation", {}).items()
             for kind, p in kinds.items()]
    if not pairs:
        return ""
    groups = [{"group": name, "real": p["real"], "synthetic": p["synthetic"]} for name, p in pairs]
    return page.section(
        "co-movement", "Co-movement of entities",
        '<p class="note">Mean correlation between two entities of their values at the same order value (same-date '
        "changes of two stocks), real vs synthetic.</p>",
        page.table(["column", "real", "synthetic"], [[escape(n), p["real"], p["synthetic"]] for n, p in pairs]),
        page.figure(plots.group_rates("same-date correlation", groups, "real vs synthetic"), "cross-entity correlation",
                    id="cross-entity-figure"))


def _windows(rep: dict[str, Any]) -> str:
    auc = rep["window_detection_auc"]
    detect = ('<p class="skipped">Not measured: fewer than 50 windows of 5 consecutive events.</p>' if auc is None else
              page.table(["measure", "value"], [["window detection ROC AUC (0.5 = indistinguishable)", auc]]))
    nxt = rep.get("next_step")
    if nxt is None:
        tstr = '<p class="skipped">Not measured: give held-out real entities (--holdout).</p>'
    elif nxt.get("r2_tstr") is None or nxt.get("r2_trtr") is None:
        tstr = '<p class="skipped">Not measured: fewer than 50 windows in one of the tables.</p>'
    else:
        tstr = (page.table(["trained on", "R² on held-out entities"], [["synthetic windows (TSTR)", nxt["r2_tstr"]],
                                                                        ["real windows (TRTR)", nxt["r2_trtr"]]])
                + page.figure(plots.utility_bars({"trtr": {"r2": nxt["r2_trtr"]}, "tstr": {"r2": nxt["r2_tstr"]}},
                                                 "next event"), "next-step TSTR vs TRTR"))
    return (page.section("windows", "Window discriminator",
                         '<p class="note">A gradient-boosted classifier on windows of 5 consecutive events (values or '
                         "changes, and gaps), 3-fold cross-validated.</p>", detect)
            + page.section("next-step", "Next-step prediction (TSTR)",
                           '<p class="note">Predicting each next event from the 5 before it: a model trained on synthetic '
                           "windows beside one trained on the real training windows, both tested on held-out entities.</p>", tstr))


def _privacy(rep: dict[str, Any]) -> str:
    rows = [["synthetic histories equal to a real one", rep["copied_histories"]]]
    priv = rep.get("privacy")
    if priv:
        n = priv["entities_compared"]
        rows.insert(0, ["entity-level DCR share (0.5 ideal)", priv["entity_dcr_share"]])
        rows.append(["entities compared (train / holdout / synthetic)", f"{n['train']:,} / {n['holdout']:,} / {n['synthetic']:,}"])
    note = ('<p class="note">Each entity as one vector (length, gaps, statistics of its values, static attributes); '
            "DCR share: synthetic entities closer to a training entity than to a held-out one.</p>" if priv else
            '<p class="skipped">Entity-level DCR not measured: give held-out real entities (--holdout).</p>')
    return page.section("privacy", "Entity-level privacy", note, page.table(["measure", "value"], rows, right=(1,)))


def render_sequence_html(rep: dict[str, Any]) -> str:
    """The whole sequence report as one HTML document."""
    who = f"entity {rep['entity']}, ordered by {rep['order']} · " if rep.get("entity") else ""
    body = "".join([_summary(rep), _histories(rep), _autocorrelation(rep), _statics(rep), _co_movement(rep),
                    _windows(rep), _privacy(rep)])
    return page.page("Synthetic histories evaluation", f"{who}{rep['entities']['synthetic']:,} synthetic entities", body)


def write_sequence_html(rep: dict[str, Any], path: str | Path) -> Path:
    """Write the page of :func:`render_sequence_html` atomically; returns its path."""
    return page.write(path, render_sequence_html(rep))
