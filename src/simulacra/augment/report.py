"""Summaries, plain-words verdicts, and the table / JSON / HTML renderings of an uplift experiment."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulacra.augment.models import METRICS

if TYPE_CHECKING:  # pragma: no cover
    from simulacra.augment.uplift import UpliftResult


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over repeats, per method and ratio (``none`` first).

    Examples
    --------
    >>> runs = pd.DataFrame({"method": ["none", "none"], "ratio": [np.nan] * 2, "repeat": [0, 1],
    ...                      **{m: [0.5, 0.7] for m in METRICS}})
    >>> s = summarize(runs)
    >>> float(round(s.loc[0, "macro_f1_mean"], 3)), float(round(s.loc[0, "macro_f1_sd"], 3))
    (0.6, 0.141)
    """
    keys = ["method", "ratio"]
    order = list(dict.fromkeys(runs["method"]))
    g = runs.assign(ratio=runs["ratio"].fillna(-1.0)).groupby(keys, sort=False)
    out = g.size().rename("repeats").to_frame()
    for m in METRICS:
        out[f"{m}_mean"] = g[m].mean()
        out[f"{m}_sd"] = g[m].std(ddof=1)
    out = out.reset_index()
    out["ratio"] = out["ratio"].where(out["ratio"] >= 0)
    out["_o"] = out["method"].map(order.index)
    return out.sort_values(["_o", "ratio"], na_position="first").drop(columns="_o").reset_index(drop=True)


def verdicts(runs: pd.DataFrame, metric: str, baseline: str = "none") -> list[dict[str, Any]]:
    """For each method and ratio: mean gain over ``baseline`` (real-only by default; paired by repeat), its
    sd, the seed-to-seed noise (the larger sd of the two arms), and whether the gain is larger than that noise."""
    base_runs = runs[runs["method"] == baseline]
    if base_runs["ratio"].notna().any():  # a baseline run at several ratios: compare ratio by ratio
        base_runs = base_runs[base_runs["ratio"] == base_runs["ratio"].dropna().iloc[0]]
    base = base_runs.set_index("repeat")[metric]
    out = []
    for (method, ratio), grp in runs[~runs["method"].isin(["none", baseline])].groupby(["method", "ratio"], sort=False, dropna=False):
        arm = grp.set_index("repeat")[metric]
        common = arm.index.intersection(base.index)
        diff = (arm[common] - base[common]).to_numpy()
        n = len(diff)
        gain = float(diff.mean()) if n else float("nan")
        noise = float(max(base.std(ddof=1), arm.std(ddof=1))) if n > 1 else float("nan")
        sd_diff = float(diff.std(ddof=1)) if n > 1 else float("nan")
        if n < 2:
            call = "cannot tell (one repeat: no estimate of the noise)"
        elif gain > noise:
            call = "better: the gain is larger than the seed-to-seed noise"
        elif gain < -noise:
            call = "worse: the loss is larger than the seed-to-seed noise"
        else:
            call = "no clear difference: within the seed-to-seed noise"
        out.append({"method": method, "ratio": None if pd.isna(ratio) else float(ratio), "metric": metric,
                    "baseline": baseline, "gain": gain, "gain_sd": sd_diff, "noise_sd": noise, "repeats": n, "verdict": call})
    return out


def _fmt(mean: float, sd: float, pct: bool = True) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    k = 100 if pct else 1
    return f"{mean * k:.1f} ± {sd * k:.1f}" if not math.isnan(sd) else f"{mean * k:.1f}"


def sentences(result: UpliftResult, baseline: str = "none") -> list[str]:
    """The verdicts in plain words, best gain first (against real-only, or another ``baseline`` method)."""
    vs = sorted(result.verdicts(baseline=baseline), key=lambda v: -v["gain"] if not math.isnan(v["gain"]) else 0)
    out = []
    versus = "" if baseline == "none" else f" against {baseline}"
    for v in vs:
        where = "" if v["ratio"] is None else f" at ratio {v['ratio']:g}"
        sign = "raises" if v["gain"] >= 0 else "lowers"
        out.append(f"{v['method']}{where} {sign} {v['metric']}{versus} by {abs(v['gain']) * 100:.1f} points "
                   f"(noise: sd {v['noise_sd'] * 100:.1f} over {v['repeats']} repeats) — {v['verdict']}.")
    return out


def shown_metrics(result: UpliftResult) -> list[str]:
    """The metrics of the table and plot: the minority class's F1 only where the task has a minority class
    (an image task's classes are drawn alike: its first class's F1 said nothing). The JSON keeps them all."""
    return [m for m in METRICS if m != "minority_f1" or result.info.get("minority_class") is not None]


def _has_ratio(result: UpliftResult) -> bool:
    return bool(result.runs["ratio"].notna().any())


def header(result: UpliftResult) -> list[str]:
    """Column names of the scores table (the ratio column only where some method was run at a ratio)."""
    return ["method", *(["ratio"] if _has_ratio(result) else []), "repeats", *(LABELS[m] for m in shown_metrics(result))]


def table_rows(result: UpliftResult) -> list[list[str]]:
    s = result.summary()
    rows = []
    ratio_shown, metrics = _has_ratio(result), shown_metrics(result)
    for _, r in s.iterrows():
        ratio = ["" if pd.isna(r["ratio"]) else f"{r['ratio']:g}"] if ratio_shown else []
        rows.append([r["method"], *ratio, str(int(r["repeats"]))] + [_fmt(r[f"{m}_mean"], r[f"{m}_sd"]) for m in metrics])
    return rows


HEADER = ["method", "ratio", "repeats", "macro F1", "minority F1", "PR AUC", "ROC AUC", "accuracy"]


def render_text(result: UpliftResult) -> str:
    """A Markdown table (mean ± sd, in %) and the verdicts."""
    head = header(result)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    return "\n".join(lines + [""] + [f"- {s}" for b in result.baselines for s in sentences(result, b)])


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def to_dict(result: UpliftResult) -> dict[str, Any]:
    return _clean({
        "task": result.task, "headline_metric": result.headline, "info": result.info,
        "summary": result.summary().to_dict(orient="records"),
        "verdicts": [v for b in result.baselines for v in result.verdicts(baseline=b)],
        "verdict_sentences": [x for b in result.baselines for x in sentences(result, b)], "runs": result.runs.to_dict(orient="records"),
    })


def save_json(result: UpliftResult, path: str | Path) -> None:
    from simulacra.io import atomic_path

    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(to_dict(result), indent=2), encoding="utf-8")


def plot_uri(result: UpliftResult) -> str:
    """One panel per metric: mean ± sd by method (x: ratio); real-only as a grey band; an inline PNG."""
    from simulacra.evaluate import plots

    s = result.summary()
    metrics = shown_metrics(result)
    fig = plots.figure(3.0 * len(metrics), 2.9, layout="constrained")
    axes = fig.subplots(1, len(metrics))
    others = s[s.method != "none"]
    ratios = sorted(others["ratio"].dropna().unique())
    groups = list(others.groupby("method", sort=False))
    for ax, m in zip(axes, metrics):
        base = s[s.method == "none"]
        if len(base):
            mu, sd = base[f"{m}_mean"].iloc[0], np.nan_to_num(base[f"{m}_sd"].iloc[0])
            ax.axhspan(mu - sd, mu + sd, color="0.9")
            ax.axhline(mu, color="0.45", lw=1, label="none (real only)")
        for j, (method, grp) in enumerate(groups):
            shift = (j - (len(groups) - 1) / 2) * 0.08  # side by side, so error bars do not hide each other
            x = [(ratios.index(r) if not pd.isna(r) else 0) + shift for r in grp["ratio"]]
            ax.errorbar(x, grp[f"{m}_mean"], yerr=np.nan_to_num(grp[f"{m}_sd"]), marker="o", ms=4, capsize=3,
                        lw=1.4, color=plots.SERIES[j % len(plots.SERIES)], label=method)
        # no ratio: the EDA paper's for a text task, none at all for an image task (methods side by side)
        ax.set_xticks(range(max(1, len(ratios))), [f"{r:g}" for r in ratios] or ["" if result.task == "image" else "auto"])
        ax.set_title(LABELS[m], fontsize=9)
        ax.set_xlabel("ratio" if ratios or result.task != "image" else "", fontsize=8)
        plots.style(ax)
    axes[0].legend(fontsize=6.5, frameon=False)
    return str(plots.png_uri(fig))


#: Display names of the metrics.
LABELS = dict(zip(METRICS, HEADER[3:]))


def _level(verdict: str) -> str:
    return "good" if verdict.startswith("better") else "poor" if verdict.startswith("worse") else "fair"


def _cards(result: UpliftResult) -> str:
    """The headline metric: real data only, and the best augmentation with its verdict."""
    from simulacra.evaluate import page

    s, metric = result.summary(), result.headline
    base = s[s.method == "none"]
    cards = []
    if len(base):
        cards.append(f'<div class="card"><div class="name">real data only · {html.escape(LABELS[metric])}</div>'
                     f'<div class="score">{_fmt(base[f"{metric}_mean"].iloc[0], base[f"{metric}_sd"].iloc[0])}</div>'
                     f"<div>{int(base['repeats'].iloc[0])} repeats, in %</div></div>")
    vs = [v for v in result.verdicts() if v["metric"] == metric and not math.isnan(v["gain"])]
    if vs:
        best = max(vs, key=lambda v: v["gain"])
        where = "" if best["ratio"] is None else f" at ratio {best['ratio']:g}"
        cards.append(f'<div class="card {_level(best["verdict"])}"><div class="name">best: {html.escape(best["method"] + where)}</div>'
                     f'<div class="score">{best["gain"] * 100:+.1f}</div><div class="level">points of {html.escape(LABELS[metric])}'
                     f'</div><div>{html.escape(best["verdict"])}</div></div>')
    return page.section("summary", "Summary", '<div class="cards">' + "".join(cards) + "</div>") if cards else ""


def render_html(result: UpliftResult) -> str:
    """A self-contained page (the evaluation report's stack): verdicts, scores, plot and set-up."""
    from simulacra.evaluate import page

    esc = html.escape
    verdicts = ""
    for b in result.baselines:
        order = sorted(result.verdicts(baseline=b), key=lambda v: -v["gain"] if not math.isnan(v["gain"]) else 0)
        verdicts += "".join(f'<li class="{_level(v["verdict"])}">{esc(text)}</li>'
                            for v, text in zip(order, sentences(result, b)))
    head = header(result)
    scores = page.table(head, [[esc(c) for c in r] for r in table_rows(result)], right=range(1, len(head)))
    setup = page.table(["setting", "value"], [[f"<code>{esc(str(k))}</code>", esc(str(v))] for k, v in result.info.items()])
    body = "".join([
        _cards(result),
        page.section("verdicts", "Verdicts", f'<ul class="verdicts">{verdicts}</ul>'),
        page.section("scores", "Scores", '<p class="note">In %: mean ± standard deviation over repeats, on the real '
                     "test set.</p>", scores),
        page.section("plot", "By method and ratio" if _has_ratio(result) else "By method",
                     page.figure(plot_uri(result), "metrics by method", id="uplift-plot")),
        page.section("setup", "Set-up", setup, '<p class="note">Augmentations were fitted on the training split only; '
                     "the test set was used for scoring alone.</p>"),
    ])
    return page.page(f"Does augmentation help? Uplift on the real test set ({result.task})",
                     f"headline metric: {LABELS[result.headline]}", body)


def save_html(result: UpliftResult, path: str | Path) -> None:
    from simulacra.evaluate import page

    page.write(path, render_html(result))
