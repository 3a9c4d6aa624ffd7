"""The table, JSON and HTML renderings of the language-model uplift (:mod:`simulacra.augment.llm`), in the
style of the table and text uplift (the same verdict words, the same page stack)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulacra.augment.report import _clean, _fmt, _level

if TYPE_CHECKING:  # pragma: no cover
    from simulacra.augment.llm import LlmUpliftResult


def header(result: LlmUpliftResult) -> list[str]:
    """The columns of the scores table: model, repeats, then the task's metrics."""
    return ["model", "repeats"] + [result.labels[m] for m in result.metrics]


def sentences(result: LlmUpliftResult) -> list[str]:
    """The verdicts in plain words, in the order of the models."""
    out = []
    for v in result.verdicts():
        if math.isnan(v["gain"]):
            out.append(f"{v['method']}: {v['verdict']}.")
            continue
        sign = "raises" if v["gain"] >= 0 else "lowers"
        noise = "n/a" if math.isnan(v["noise_sd"]) else f"{v['noise_sd'] * 100:.1f}"
        out.append(f"{v['method']} {sign} {result.labels[v['metric']]} by {abs(v['gain']) * 100:.1f} points "
                   f"(noise: sd {noise} over {v['repeats']} repeats) — {v['verdict']}.")
    return out


def table_rows(result: LlmUpliftResult) -> list[list[str]]:
    return [[str(r["model"]), str(int(r["repeats"]))] + [_fmt(r[m], r[f"{m}_sd"]) for m in result.metrics]
            for _, r in result.summary().iterrows()]


def render_text(result: LlmUpliftResult) -> str:
    """A Markdown table (mean ± sd over repeats, in %) and the verdicts."""
    head = header(result)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    notes = [f"Note: {n}" for n in result.info.get("notes", [])]
    return "\n".join(lines + [""] + [f"- {s}" for s in sentences(result)] + ([""] + notes if notes else []))


def to_dict(result: LlmUpliftResult) -> dict[str, Any]:
    """``summary``: one entry per model (``model``, ``repeats``, each metric's mean and ``<metric>_sd``)."""
    return dict(_clean({
        "task": result.task, "headline_metric": result.headline, "info": result.info,
        "summary": result.summary().to_dict(orient="records"), "verdicts": result.verdicts(),
        "verdict_sentences": sentences(result), "runs": result.runs.drop(columns="ratio").to_dict(orient="records"),
        "answers": result.answers,
    }))


def save_json(result: LlmUpliftResult, path: str | Path) -> None:
    from simulacra.io import atomic_path

    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(to_dict(result), indent=2, ensure_ascii=False), encoding="utf-8")


def plot_uri(result: LlmUpliftResult) -> str:
    """Bars of every metric per model (mean ± sd over repeats), as an inline PNG."""
    from simulacra.evaluate import plots

    s = result.summary()
    fig = plots.figure(7.5, 2.8, layout="constrained")
    ax = fig.subplots(1, 1)
    width = 0.8 / max(1, len(s))
    metrics = result.metrics
    for j, (_, r) in enumerate(s.iterrows()):
        x = np.arange(len(metrics)) + (j - (len(s) - 1) / 2) * width
        ax.bar(x, [np.nan_to_num(r[m]) * 100 for m in metrics], width,
               yerr=[np.nan_to_num(r[f"{m}_sd"]) * 100 for m in metrics], capsize=3,
               color=plots.SERIES[j % len(plots.SERIES)], label=str(r["model"]))
    ax.set_xticks(range(len(metrics)), [result.labels[m] for m in metrics], fontsize=8)
    ax.set_ylabel("%", fontsize=8)
    ax.set_ylim(0, 100)
    plots.style(ax)
    ax.legend(fontsize=7, frameon=False)
    return str(plots.png_uri(fig))


def _examples(result: LlmUpliftResult, limit: int = 12) -> list[list[str]]:
    """Requests the last model got wrong (first repeat), with what it answered."""
    if not result.answers:
        return []
    last = result.answers[-1]["model"]
    wrong = [a for a in result.answers if a["model"] == last and a["repeat"] == 0 and not a["exact"]][:limit]
    esc = html.escape
    if result.task == "qa":
        return [[esc(a["request"]), esc(str(a["expected"])), esc(a["answer"][:300]), esc(a.get("reason", ""))]
                for a in wrong]
    return [[esc(a["request"]), f"<code>{esc(json.dumps(a['expected'], ensure_ascii=False))}</code>",
             f"<code>{esc(a['answer'][:300])}</code>"] for a in wrong]


#: per task: the note under the scores, the failures table's columns, and the page title
_TASK_TEXT = {
    "function-calling": ("Right function, schema valid and runs count rows that expect a call; no-call accuracy counts "
                         "rows that expect none.", ["request", "expected", "answer"],
                         "Does fine-tuning help? Function-calling uplift on held-out requests"),
    "qa": ("Answer match: the reference's normalised words are all in the answer (numbers as digits, 1,001 = 1001), "
           "with no other number, no hedge (or, maybe), no list of candidates, not both yes and no, and no long "
           "padding; token F1 against the reference; judged correct only by a judge that passed calibration.",
           ["question", "reference", "answer", "why not a match"],
           "Does fine-tuning help? Question answering on held-out questions"),
}


def render_html(result: LlmUpliftResult) -> str:
    """A self-contained page: headline cards, verdicts, scores, plot, failures and set-up."""
    from simulacra.evaluate import page

    esc = html.escape
    s, metric = result.summary(), result.headline
    note, columns, title = _TASK_TEXT.get(result.task, _TASK_TEXT["function-calling"])
    cards = [f'<div class="card"><div class="name">{esc(str(r["model"]))} · {esc(result.labels[metric])}</div>'
             f'<div class="score">{_fmt(r[metric], r[f"{metric}_sd"])}</div><div>{int(r["repeats"])} repeats, in %</div></div>'
             for _, r in s.iterrows()]
    vs = result.verdicts()
    items = "".join(f'<li class="{_level(v["verdict"])}">{esc(t)}</li>' for v, t in zip(vs, sentences(result)))
    items += "".join(f'<li class="fair">{esc(str(n))}</li>' for n in result.info.get("notes", []))
    head = header(result)
    scores = page.table(head, [[esc(c) for c in r] for r in table_rows(result)], right=range(1, len(head)))
    setup = page.table(["setting", "value"], [[f"<code>{esc(str(k))}</code>", esc(str(v))] for k, v in result.info.items()
                                              if k != "notes"])
    examples = _examples(result)
    body = "".join([
        page.section("summary", "Summary", '<div class="cards">' + "".join(cards) + "</div>"),
        page.section("verdicts", "Verdicts", f'<ul class="verdicts">{items}</ul>'),
        page.section("scores", "Scores", '<p class="note">In %: mean ± standard deviation over training seeds, on the '
                     f"held-out rows. {esc(note)}</p>", scores),
        page.section("plot", "By model", page.figure(plot_uri(result), "metrics by model", id="uplift-plot")),
        page.section("failures", "Where the last model is wrong",
                     page.table(columns, examples) if examples else "<p>None.</p>"),
        page.section("setup", "Set-up", setup, '<p class="note">Greedy decoding; the held-out rows were never '
                     "trained on.</p>"),
    ])
    return page.page(title, f"headline metric: {result.labels[metric]}", body)


def save_html(result: LlmUpliftResult, path: str | Path) -> None:
    from simulacra.evaluate import page

    page.write(path, render_html(result))


__all__ = ["render_html", "render_text", "save_html", "save_json", "sentences", "to_dict"]
