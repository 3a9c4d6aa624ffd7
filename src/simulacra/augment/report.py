"""Summaries, plain-words verdicts, and the table / JSON / HTML renderings of an uplift experiment."""

from __future__ import annotations

import base64
import html
import io
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


def verdicts(runs: pd.DataFrame, metric: str) -> list[dict[str, Any]]:
    """For each method and ratio: mean gain over real-only (paired by repeat), its sd, the seed-to-seed
    noise (the larger sd of the two arms), and whether the gain is larger than that noise."""
    base = runs[runs["method"] == "none"].set_index("repeat")[metric]
    out = []
    for (method, ratio), grp in runs[runs["method"] != "none"].groupby(["method", "ratio"], sort=False, dropna=False):
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
                    "gain": gain, "gain_sd": sd_diff, "noise_sd": noise, "repeats": n, "verdict": call})
    return out


def _fmt(mean: float, sd: float, pct: bool = True) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    k = 100 if pct else 1
    return f"{mean * k:.1f} ± {sd * k:.1f}" if not math.isnan(sd) else f"{mean * k:.1f}"


def sentences(result: UpliftResult) -> list[str]:
    """The verdicts in plain words, best gain first."""
    vs = sorted(result.verdicts(), key=lambda v: -v["gain"] if not math.isnan(v["gain"]) else 0)
    out = []
    for v in vs:
        where = "" if v["ratio"] is None else f" at ratio {v['ratio']:g}"
        sign = "raises" if v["gain"] >= 0 else "lowers"
        out.append(f"{v['method']}{where} {sign} {v['metric']} by {abs(v['gain']) * 100:.1f} points "
                   f"(noise: sd {v['noise_sd'] * 100:.1f} over {v['repeats']} repeats) — {v['verdict']}.")
    return out


def table_rows(result: UpliftResult) -> list[list[str]]:
    s = result.summary()
    rows = []
    for _, r in s.iterrows():
        ratio = "" if pd.isna(r["ratio"]) else f"{r['ratio']:g}"
        rows.append([r["method"], ratio, str(int(r["repeats"]))] + [_fmt(r[f"{m}_mean"], r[f"{m}_sd"]) for m in METRICS])
    return rows


HEADER = ["method", "ratio", "repeats", "macro F1", "minority F1", "PR AUC", "ROC AUC", "accuracy"]


def render_text(result: UpliftResult) -> str:
    """A Markdown table (mean ± sd, in %) and the verdicts."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    return "\n".join(lines + [""] + [f"- {s}" for s in sentences(result)])


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
        "summary": result.summary().to_dict(orient="records"), "verdicts": result.verdicts(),
        "verdict_sentences": sentences(result), "runs": result.runs.to_dict(orient="records"),
    })


def save_json(result: UpliftResult, path: str | Path) -> None:
    from simulacra.io import atomic_path

    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(to_dict(result), indent=2), encoding="utf-8")


def plot_png(result: UpliftResult) -> bytes:
    """One panel per metric: mean ± sd by method (x: ratio); real-only as a band."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    s = result.summary()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.0), constrained_layout=True)
    for ax, m in zip(axes, METRICS):
        base = s[s.method == "none"]
        if len(base):
            mu, sd = base[f"{m}_mean"].iloc[0], np.nan_to_num(base[f"{m}_sd"].iloc[0])
            ax.axhspan(mu - sd, mu + sd, color="0.85")
            ax.axhline(mu, color="0.4", lw=1, label="none (real only)")
        others = s[s.method != "none"]
        ratios = sorted(others["ratio"].dropna().unique())
        groups = list(others.groupby("method", sort=False))
        for j, (method, grp) in enumerate(groups):
            shift = (j - (len(groups) - 1) / 2) * 0.08  # side by side, so error bars do not hide each other
            x = [(ratios.index(r) if not pd.isna(r) else 0) + shift for r in grp["ratio"]]
            ax.errorbar(x, grp[f"{m}_mean"], yerr=np.nan_to_num(grp[f"{m}_sd"]), marker="o", capsize=3, label=method)
        ax.set_xticks(range(max(1, len(ratios))), [f"{r:g}" for r in ratios] or ["auto"])
        ax.set_title(m.replace("_", " "))
        ax.set_xlabel("ratio")
    axes[0].legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def render_html(result: UpliftResult) -> str:
    """A self-contained page: verdicts, table, plot (inline PNG) and the set-up; no network needed."""
    esc = html.escape
    img = base64.b64encode(plot_png(result)).decode("ascii")
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in table_rows(result))
    verdict = "".join(f"<li>{esc(s)}</li>" for s in sentences(result))
    info = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in result.info.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>simulacra uplift ({esc(result.task)})</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f4f4f4}}img{{max-width:100%}}</style>
</head><body><h1>Does augmentation help? Uplift on the real test set ({esc(result.task)})</h1>
<p>Headline metric: <b>{esc(result.headline)}</b>. Scores in %, mean ± standard deviation over repeats.</p>
<h2>Verdict</h2><ul>{verdict}</ul><h2>Scores</h2><table><tr>{head}</tr>{body}</table>
<h2>Plot</h2><img alt="metrics by method and ratio" src="data:image/png;base64,{img}">
<h2>Set-up</h2><table>{info}</table>
<p>Augmentations were fitted on the training split only; the test set was used for scoring alone.</p>
</body></html>"""


def save_html(result: UpliftResult, path: str | Path) -> None:
    from simulacra.io import atomic_path

    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(render_html(result), encoding="utf-8")
