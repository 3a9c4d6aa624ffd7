"""Plots of the report as inline PNG (matplotlib's Agg canvas; no global backend is touched)."""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

import numpy as np

REAL, SYN, HOLD = "#1f5f8b", "#e07b39", "#6a9f58"
#: Colours of further series (methods of an uplift plot), after the three above.
SERIES = (SYN, REAL, HOLD, "#8e5ea2", "#c44e52", "#4c9fb8", "#b8a23c")


def figure(w: float, h: float, layout: Literal["constrained", "compressed", "tight"] | None = None) -> Any:
    """A matplotlib figure on its own Agg canvas (``w`` x ``h`` inches): pyplot's global state is never used."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=96, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_uri(fig: Any) -> str:
    """The figure as an inline PNG (a ``data:`` URI)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def style(ax: Any) -> None:
    """The reports' axes style: no top and right spines, small tick labels."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)


def distribution(name: str, info: dict[str, Any]) -> str:
    """Real vs synthetic distribution of one column: histogram outlines or category bars."""
    fig = figure(3.4, 2.3)
    ax = fig.add_subplot()
    plot = info["plot"]
    if plot["kind"] == "continuous" and plot["edges"]:
        edges = np.asarray(plot["edges"])
        if info["type"] == "datetime":
            edges = edges / 86_400 / 365.25 + 1970  # seconds since epoch -> years
        ax.stairs(plot["real"], edges, fill=True, alpha=0.35, color=REAL, label="real")
        ax.stairs(plot["synthetic"], edges, color=SYN, lw=1.6, label="synthetic")
        ax.set_yticks([])
    elif plot["kind"] == "discrete":
        labels = [str(x)[:14] for x in plot["labels"]]
        y = np.arange(len(labels))
        ax.barh(y - 0.2, plot["real"], 0.4, color=REAL, label="real")
        ax.barh(y + 0.2, plot["synthetic"], 0.4, color=SYN, label="synthetic")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
    ax.set_title(f"{name[:30]}  ({info['score']:.3f})" if info["score"] is not None else name[:30], fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    style(ax)
    return png_uri(fig)


def shape_scores(columns: dict[str, dict[str, Any]]) -> str:
    """Column shape score of every column, lowest first."""
    items = sorted(((c, i["score"]) for c, i in columns.items() if i["score"] is not None), key=lambda t: t[1])
    fig = figure(7.5, max(1.6, 0.22 * len(items) + 0.6))
    ax = fig.add_subplot()
    ax.barh([c[:28] for c, _ in items], [s for _, s in items], color=REAL)
    low = min((s for _, s in items), default=0.0)
    ax.set_xlim(max(0.0, min(0.9, low - 0.05)), 1)
    ax.set_xlabel("column shape score (1 = identical distributions)", fontsize=8)
    style(ax)
    return png_uri(fig)


def association_matrices(pairs: list[dict[str, Any]], columns: list[str]) -> str:
    """Real, synthetic and |difference| matrices of pairwise association (Pearson r or Cramér's V)."""
    k = len(columns)
    pos = {c: i for i, c in enumerate(columns)}
    mats = {r: np.eye(k) for r in ("real", "synthetic")}
    for p in pairs:
        i, j = pos[p["columns"][0]], pos[p["columns"][1]]
        for role in mats:
            v = p.get(role)
            mats[role][i, j] = mats[role][j, i] = np.nan if v is None else v
    diff = np.abs(mats["real"] - mats["synthetic"])
    size = min(15.0, 3.0 * 3 + 0.12 * k * 3)
    fig = figure(size, size / 3 + 0.9, layout="constrained")
    axes = fig.subplots(1, 3)
    short = [c[:12] for c in columns]
    for ax, (title, m, cmap, lo) in zip(axes, [("real", mats["real"], "RdBu_r", -1), ("synthetic", mats["synthetic"], "RdBu_r", -1),
                                               ("|real − synthetic|", diff, "Reds", 0)]):
        im = ax.imshow(m, cmap=cmap, vmin=lo, vmax=1)
        ax.set_title(title, fontsize=10)
        ticks: np.ndarray | list[int] = np.arange(k) if k <= 40 else []
        ax.set_xticks(ticks, [short[t] for t in ticks], rotation=90, fontsize=6)
        ax.set_yticks(ticks, [short[t] for t in ticks], fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=6)
    return png_uri(fig)


def dcr_histogram(hist: dict[str, Any]) -> str:
    """Distances to the closest record: synthetic→train, synthetic→holdout and holdout→train."""
    fig = figure(7.0, 2.8)
    ax = fig.add_subplot()
    edges = np.asarray(hist["edges"])
    ax.stairs(hist["synthetic_to_train"], edges, color=SYN, lw=1.8, label="synthetic → nearest training row")
    ax.stairs(hist["synthetic_to_holdout"], edges, color=REAL, lw=1.8, ls="--", label="synthetic → nearest holdout row")
    ax.stairs(hist["holdout_to_train"], edges, color=HOLD, lw=1.2, ls=":", label="holdout → nearest training row")
    ax.set_xlabel("distance (scaled units)", fontsize=8)
    ax.set_ylabel("share of rows", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    style(ax)
    return png_uri(fig)


def utility_bars(scores: dict[str, dict[str, float]], metric: str) -> str:
    """TSTR vs TRTR for each score (ROC AUC, macro F1 or R²)."""
    names = list(scores["trtr"])
    fig = figure(5.0, 2.6)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    label = {"auc": "ROC AUC", "f1": "macro F1", "r2": "R²"}
    trtr = [scores["trtr"][n] for n in names]
    tstr = [scores["tstr"][n] for n in names]
    ax.bar(x - 0.2, trtr, 0.4, color=REAL, label="trained on real (TRTR)")
    ax.bar(x + 0.2, tstr, 0.4, color=SYN, label="trained on synthetic (TSTR)")
    for xi, v in zip(np.r_[x - 0.2, x + 0.2], trtr + tstr):
        ax.text(xi, max(v, 0) + 0.01, f"{v:.3f}", ha="center", fontsize=7)
    ax.set_xticks(x, [label.get(n, n) for n in names])
    ax.set_ylim(min(0.0, *trtr, *tstr), 1.1)
    ax.set_title(f"tested on the real holdout ({metric})", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    style(ax)
    return png_uri(fig)


def group_rates(col: str, groups: list[dict[str, Any]], outcome: str) -> str:
    """Target rate per group of a sensitive column, real vs synthetic."""
    names = [str(g["group"])[:16] for g in groups]
    fig = figure(6.0, max(1.6, 0.3 * len(names) + 0.7))
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y - 0.2, [g["real"] or 0 for g in groups], 0.4, color=REAL, label="real")
    ax.barh(y + 0.2, [g["synthetic"] or 0 for g in groups], 0.4, color=SYN, label="synthetic")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_title(f"{col}: {outcome}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    style(ax)
    return png_uri(fig)
