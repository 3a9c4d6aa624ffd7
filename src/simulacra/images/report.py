"""Renderings of the image evaluation: a text summary and a self-contained HTML page (the evaluation
report's stack) with grids of real and synthetic images and the closest pairs side by side."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from simulacra.images.evaluate import ImageEvaluation

#: Metric -> (label, higher is better).
METRICS = {
    "class_accuracy": ("class accuracy of a real-trained CNN", True),
    "precision": ("precision (synthetic inside the real manifold)", True),
    "recall": ("recall (real inside the synthetic manifold)", True),
    "frechet_distance": ("Fréchet distance (CNN features)", False),
    "kernel_distance": ("kernel distance (CNN features)", False),
}


def tile(cells: np.ndarray, *, scale: int = 0, pad: int = 1) -> Any:
    """A Pillow image of ``cells`` (rows x columns x H x W x C, ``uint8``), enlarged to about 32 px a cell."""
    from PIL import Image

    rows, cols, h, w, c = cells.shape
    k = scale or max(1, 32 // max(h, w))
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 200, np.uint8)
    for r in range(rows):
        for j in range(cols):
            y, x = pad + r * (h + pad), pad + j * (w + pad)
            canvas[y:y + h, x:x + w] = cells[r, j]
    im = Image.fromarray(canvas[:, :, 0] if c == 1 else canvas)
    return im.resize((im.width * k, im.height * k), Image.Resampling.NEAREST)


def png_uri(image: Any) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _row(name: str, value: Any, ref: Any) -> str:
    label, _ = METRICS.get(name, (name, True))
    f = (lambda v: "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v))
    return f"{label:<52} {f(value):>9}   (held-out real: {f(ref)})"


def evaluation_text(ev: ImageEvaluation) -> str:
    """The scores, the memorisation check and the per-class accuracy as plain text."""
    s, r, m = ev.scores, ev.reference, ev.memorisation
    lines = [f"{s['n_synthetic']:,} synthetic vs {s['n_real']:,} real images (reference: {r['n_holdout']:,} held-out real)"]
    lines += [_row(k, s.get(k), r.get(k)) for k in METRICS if k in s]
    verdict = "no closer than" if m["no_closer_than_reference"] else "CLOSER than"
    lines.append(f"memorisation: median distance to the nearest training image {m['synthetic_median']:.3f} vs "
                 f"{m['reference_median']:.3f} for {m['reference']} ({verdict} the reference); "
                 f"{m['share_closer_than_reference_p5']:.1%} nearer than the reference's 5th percentile; "
                 f"{m['exact_copies']} exact copies")
    if ev.per_class:
        lines.append("per class: " + ", ".join(f"{c['class']}={c['accuracy']:.0%}" for c in ev.per_class
                                               if c["accuracy"] is not None))
    return "\n".join(lines + [f"note: {n}" for n in ev.notes])


def _level(name: str, value: float, ref: float) -> str:
    _, higher = METRICS[name]
    if higher:
        return "good" if value >= ref - 0.05 else "fair" if value >= ref - 0.2 else "poor"
    return "good" if value <= 2 * ref + 1e-9 else "fair" if value <= 5 * ref + 1e-9 else "poor"


def _plots(ev: ImageEvaluation) -> str:
    from simulacra.evaluate import plots

    fig = plots.figure(9.5, 2.8, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    if ev.per_class:
        names = [c["class"] for c in ev.per_class]
        x = np.arange(len(names))
        ax1.bar(x - 0.2, [c["accuracy"] or 0 for c in ev.per_class], 0.4, color=plots.SYN, label="synthetic")
        ax1.bar(x + 0.2, [c["holdout_accuracy"] or 0 for c in ev.per_class], 0.4, color=plots.HOLD, label="held-out real")
        ax1.set_xticks(x, names, fontsize=7)
        ax1.set_ylim(0, 1.05)
        ax1.legend(fontsize=7, frameon=False, loc="lower left")
    ax1.set_title("accuracy of the real-trained CNN, by class", fontsize=9)
    names = ["precision", "recall"]
    ax2.bar(np.arange(2) - 0.2, [ev.scores[n] for n in names], 0.4, color=plots.SYN, label="synthetic")
    ax2.bar(np.arange(2) + 0.2, [ev.reference[n] for n in names], 0.4, color=plots.HOLD, label="held-out real")
    ax2.set_xticks(range(2), names, fontsize=8)
    ax2.set_ylim(0, 1.05)
    ax2.set_title("manifold precision and recall (k-NN, CNN features)", fontsize=9)
    for ax in (ax1, ax2):
        plots.style(ax)
    return str(plots.png_uri(fig))


def evaluation_html(ev: ImageEvaluation) -> str:
    """The whole page: score cards, grids, closest pairs, per-class accuracy and notes."""
    from simulacra.evaluate import page

    esc = html.escape
    s, r, m = ev.scores, ev.reference, ev.memorisation
    cards = "".join(
        f'<div class="card {_level(k, s[k], r[k])}"><div class="name">{esc(METRICS[k][0])}</div>'
        f'<div class="score">{s[k]:.3f}</div><div>held-out real: {r[k]:.3f}</div></div>'
        for k in METRICS if k in s)
    mem_level = "good" if m["no_closer_than_reference"] else "poor"
    cards += (f'<div class="card {mem_level}"><div class="name">memorisation: median distance to nearest training image'
              f'</div><div class="score">{m["synthetic_median"]:.3f}</div><div>{esc(m["reference"])}: '
              f'{m["reference_median"]:.3f} · {m["exact_copies"]} exact copies</div></div>')
    classes = ev.grids.get("classes", [])
    grids = "".join(
        f'<figure><figcaption>{esc(name)} (a row per class: {esc(", ".join(map(str, classes[:12])))})</figcaption>'
        f'{page.img(png_uri(tile(ev.grids[name])), name + " images")}</figure>' for name in ("real", "synthetic"))
    pairs = np.stack([ev.pairs["synthetic"], ev.pairs["real"]])  # top row synthetic, below its nearest real
    pair_html = page.img(png_uri(tile(pairs)), "closest synthetic and training pairs")
    mem_rows = [["synthetic → training", m["synthetic_median"], m["synthetic_p5"]],
                [f"{m['reference']} → training", m["reference_median"], m["reference_p5"]]]
    per_class = page.table(["class", "synthetic images", "accuracy on synthetic", "accuracy on held-out real"],
                           [[esc(c["class"]), c["n"], c["accuracy"], c["holdout_accuracy"]] for c in ev.per_class])
    body = "".join([
        page.section("summary", "Summary", f'<div class="cards">{cards}</div>'),
        page.section("grids", "Real and synthetic images", f'<div class="grid">{grids}</div>'),
        page.section("scores", "Scores", page.figure(_plots(ev), "per-class accuracy and precision/recall"),
                     per_class if ev.per_class else ""),
        page.section("memorisation", "Memorisation",
                     '<p class="note">Pixel distance (0-1 scale, per pixel) of each synthetic image to its nearest '
                     "training image, against the same for real images the generator never saw. Synthetic images "
                     "much closer than those are copies.</p>",
                     page.table(["distance of", "median", "5th percentile"], mem_rows),
                     f"<p>{m['share_closer_than_reference_p5']:.1%} of the synthetic images are nearer than the "
                     "reference's 5th percentile.</p><h3>The closest pairs: synthetic images (top row) and their "
                     f"nearest training images (below)</h3>{pair_html}"),
        page.section("notes", "How to read this", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in ev.notes) + "</ul>"),
    ])
    return page.page("Synthetic images: evaluation", f"{s['n_synthetic']:,} synthetic vs {s['n_real']:,} real images", body)
