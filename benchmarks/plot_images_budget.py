"""The 8x8 digits' uplift by the CNN's budget (issue 19): accuracy of real only, classic and classic +
synth with 60 passes over each arm's own images and with a fixed 3,000 / 8,000 steps in every arm, on the
validation images and on the test set, from the results JSON of ``bench_images.py uplift`` (see
benchmarks/RESULTS.md).

    .venv/bin/python benchmarks/plot_images_budget.py   # writes docs/images/digits_uplift_budget.png
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # panel -> [(budget label, results file)]; a missing file leaves its budget out of the panel
    "validation images (1,338)": [("60 passes", "images_uplift_diffusion_val_base.json"),
                                  ("3,000 steps", "images_uplift_diffusion_val_cs3000.json"),
                                  ("8,000 steps", "images_uplift_diffusion_val_cs8000.json")],
    "test set (359)": [("60 passes", "images_uplift_diffusion_filtered10_rerun.json"),
                       ("8,000 steps", "images_uplift_diffusion_cs8000.json")],
}
ARMS = {"none": "real only", "classic": "classic", "classic+synth": "classic + synth"}


def accuracy_by_arm(path: Path) -> dict[str, np.ndarray]:
    """Accuracy in % of each arm, by repeat (sorted by repeat)."""
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
    runs = sorted(runs, key=lambda r: r["repeat"])
    return {arm: 100 * np.array([r["accuracy"] for r in runs if r["method"] == arm]) for arm in ARMS}


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(RUNS), figsize=(10, 3.6), sharey=True)
    for ax, (panel, budgets) in zip(axes, RUNS.items()):
        found = [(label, accuracy_by_arm(ROOT / "benchmarks/results" / name)) for label, name in budgets
                 if (ROOT / "benchmarks/results" / name).exists()]
        x = np.arange(len(found))
        for k, (arm, name) in enumerate(ARMS.items()):
            acc = [a[arm] for _, a in found]
            ax.errorbar(x + (k - 1) * 0.12, [v.mean() for v in acc], yerr=[v.std(ddof=1) for v in acc],
                        fmt="o", capsize=3, label=name)
        ax.set_xticks(x, [label for label, _ in found])
        ax.set_xlim(-0.5, len(found) - 0.5)
        ax.set_title(panel)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("accuracy, % (mean ± sd, 5 repeats)")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("8x8 digits, 10 real per class: the CNN's budget", fontsize=10)
    fig.tight_layout()
    out = ROOT / "docs/images/digits_uplift_budget.png"
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
