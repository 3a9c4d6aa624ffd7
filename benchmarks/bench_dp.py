"""Differentially private synthesizers side by side (issue 17): simulacra's DPSynthesizer and smartnoise-synth.

Each table is split 80/20 (seed 0, ``_metrics.split``); every model fits the 80 % at each ε (δ = 1e-6)
and samples as many rows; all are scored here with the same judges: SDMetrics quality (and simulacra's
own report quality), TSTR/TRTR with HistGradientBoosting (ROC AUC on the holdout), fit time.
smartnoise-synth's MST and AIM run in their own environment (``/work/peer-envs/smartnoise``) through
``_peer_smartnoise.py``, with its defaults and 10 % of ε on its preprocessor; MOSTLY AI's engine with
differential privacy on (``mostly_dp``: DP-SGD, ``max_epsilon`` = ε of which 10 % on its value protection,
at most 10 minutes of training) runs in ``/work/peer-envs/mostly`` through ``_peer.py``. Results are cached per
(table, model, ε) in ``benchmarks/results/dp.json``; ``--force`` recomputes.

The audit part (``--audit``) plants a canary row, fits with and without it many times, attacks the
canary's membership and reports the ε lower bound with its Clopper–Pearson interval.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_dp.py --tables adult --models dp,mst --eps 0.3,1,3,10
    nice -n 10 .venv/bin/python benchmarks/bench_dp.py --audit --audit-eps 1,8 --trials 200
    .venv/bin/python benchmarks/bench_dp.py --tables adult,credit_default,bank_marketing --eps 0.3,1,3,10 --cpu-only
    nice -n 10 .venv/bin/python benchmarks/bench_dp.py --tables adult,credit_default,bank_marketing --eps 0.3,1,3,10 --seeds 0,1,2 --label new
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402

CACHE = HERE / "results" / "dp.json"
SEEDS_CACHE = HERE / "results" / "dp_seeds.json"  # --seeds: our model over several fit seeds, by --label
PEER_ENV = Path(os.environ.get("SMARTNOISE_ENV", "/work/peer-envs/smartnoise"))
MOSTLY_ENV = Path(os.environ.get("MOSTLY_ENV", "/work/peer-envs/mostly"))
MOSTLY_MINUTES = 10  # wall cap on the engine's training; DP training also stops once its ε is spent
DELTA = 1e-6
SYNTH_DIR: Path | None = None  # --synth-dir: score peers' tables fitted elsewhere (peers_device.py)
NAMES = {"dp": "simulacra DPSynthesizer", "mst": "smartnoise MST", "aim": "smartnoise AIM",
         "mostly_dp": "MOSTLY AI engine, DP on"}


def _ours(train: pd.DataFrame, types: dict[str, str], eps: float,
          seed: int = 0) -> tuple[pd.DataFrame, float, dict[str, Any]]:
    import simulacra as sim

    meta = D.metadata(train, types)
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sim.DPSynthesizer(epsilon=eps, delta=DELTA, metadata=meta, random_state=seed).fit(train)
    seconds = time.perf_counter() - start
    synth = model.sample(len(train), random_state=1)
    cpu = time.process_time() - cpu  # fit + sample, as the peers' figure
    info = model.describe()
    parents = {"parents": info["parents"]} if "parents" in info else {}
    return synth, seconds, {"tree": info["tree"], **parents, "cpu_seconds": round(cpu, 2)}


def _peer(model: str, train: pd.DataFrame, types: dict[str, str], eps: float,
          table: str) -> tuple[pd.DataFrame, float, dict[str, Any]]:
    if SYNTH_DIR is not None:  # fitted elsewhere on this very split (peers_device.py run)
        synth, timing = _from_dir(table, model, eps)
        extra = {k: round(timing[k], 2) for k in ("cpu_seconds", "load_after") if k in timing}
        machine = {k: timing[k] for k in ("device", "cores") if k in timing}  # where it was fitted (peers_device.py)
        return _coerce(synth, train, types), timing["seconds"], {**extra, **machine, "fitted_elsewhere": True}
    env = MOSTLY_ENV if model == "mostly_dp" else PEER_ENV
    python = env / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"peer environment missing at {env}")
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        train.to_parquet(tmpd / "train.parquet")
        (tmpd / "types.json").write_text(json.dumps(types))
        files = [str(tmpd / "train.parquet"), str(tmpd / "types.json"), str(len(train)), str(tmpd / "out.parquet"),
                 str(tmpd / "t.json")]
        if model == "mostly_dp":  # MOSTLY AI's engine with DP-SGD, ε in total (10 % on its value protection)
            cmd = [str(python), str(HERE / "_peer.py"), "tabularargn", *files, "--epsilon", str(eps),
                   "--delta", str(DELTA), "--minutes", str(MOSTLY_MINUTES)]
        else:
            cmd = [str(python), str(HERE / "_peer_smartnoise.py"), model, *files, str(eps), str(DELTA)]
        load_before = os.getloadavg()[0]
        done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "2"}, stderr=subprocess.PIPE, text=True)
        if done.returncode:  # the peer's own last words (e.g. smartnoise's "could not find bounds")
            sys.stderr.write(done.stderr)
            raise RuntimeError(f"{model} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        synth = pd.read_parquet(tmpd / "out.parquet")
        timing = json.loads((tmpd / "t.json").read_text())
        seconds = timing["seconds"]
    synth = _coerce(synth, train, types)
    extra = {k: round(timing[k], 2) for k in ("cpu_seconds", "load_after") if k in timing}
    return synth, seconds, {**extra, "load_before": round(load_before, 2)}


def _from_dir(table: str, model: str, eps: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A peer's synthetic table and its timing, written by ``peers_device.py run`` on the same split."""
    assert SYNTH_DIR is not None
    stem = SYNTH_DIR / f"{table}_{model}_{eps:g}"
    if not Path(f"{stem}.parquet").exists():  # (not with_suffix: "adult_aim_0.3" has a dot)
        raise RuntimeError(f"no synthetic table at {stem}.parquet: the job did not finish (see its log there)")
    return pd.read_parquet(f"{stem}.parquet"), json.loads(Path(f"{stem}.json").read_text())


def _coerce(synth: pd.DataFrame, train: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    for c, t in types.items():  # the peer returns categories (and the small-integer codes it was told are categories) as strings
        if c in synth and t == "numerical" and synth[c].dtype == object:
            synth[c] = pd.to_numeric(synth[c], errors="coerce")
        elif c in synth and t in ("categorical", "boolean") and train[c].dtype != object:
            synth[c] = pd.to_numeric(synth[c], errors="coerce").astype(train[c].dtype, errors="ignore")
    return synth


def _report_quality(train: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str]) -> float:
    import simulacra as sim

    cols = [c for c, t in types.items() if t != "id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sim.evaluate(train[cols], synth[cols], metrics=["quality"]).quality)


def run_one(table: str, model: str, eps: float, seed: int = 0) -> dict[str, Any]:
    df, types, spec = D.load(table)
    train, holdout = M.split(df, seed=0)
    synth, seconds, extra = _ours(train, types, eps, seed) if model == "dp" else _peer(model, train, types, eps, table)
    ids = [c for c, t in types.items() if t == "id"]
    q = M.quality(train, synth, types)
    u = M.utility(train, holdout, synth, spec["target"], spec["task"], drop=ids)
    return {"table": table, "model": model, "epsilon": eps, "delta": DELTA, "fit_seconds": round(seconds, 2),
            **{k: round(v, 4) for k, v in q.items()}, "report_quality": round(_report_quality(train, synth, types), 4),
            **{k: round(v, 4) for k, v in u.items()}, **extra}


def audit(eps_list: list[float], trials: int, max_parents: int | str = "auto") -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE.parent / "tests" / "unit" / "tabular"))
    from dp_audit import run_audit  # the same harness as the unit test, larger

    out = []
    for eps in eps_list:
        start = time.perf_counter()
        res = run_audit(eps, trials=trials, n_rows=200, seed=0, max_parents=max_parents)
        out.append({"epsilon": eps, "max_parents": max_parents, "trials_per_side": trials, "seconds": round(time.perf_counter() - start, 1),
                    **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.as_dict().items()}})
        print(json.dumps(out[-1]))
    return out


def plot(cache: dict[str, Any]) -> Path:
    """Quality and TSTR/TRTR against ε, one line per (table, model): the curve of docs/privacy.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [v for k, v in cache.items() if not k.startswith("audit") and "quality" in v]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.0))
    tables = sorted({r["table"] for r in runs})
    colours = {t: f"C{i}" for i, t in enumerate(tables)}  # one colour per table, one line style per model
    styles = {"dp": ("-", "o"), "mst": ("--", "s"), "aim": (":", "^"), "mostly_dp": ("-.", "D")}
    for (table, model) in sorted({(r["table"], r["model"]) for r in runs}, key=lambda tm: (tm[1] != "dp", tm)):
        rows = sorted((r for r in runs if r["table"] == table and r["model"] == model), key=lambda r: r["epsilon"])
        line, marker = styles.get(model, ("--", "x"))
        for ax, key in zip(axes, ("quality", "ratio")):
            ax.plot([r["epsilon"] for r in rows], [r[key] for r in rows], linestyle=line, marker=marker,
                    color=colours[table], label=f"{table} · {NAMES.get(model, model)}", markersize=4)
    for ax, title in zip(axes, ("SDMetrics quality", "TSTR / TRTR (ROC AUC)")):
        ax.set_xscale("log")
        ax.set_xlabel("ε (δ = 1e-6)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()  # below the panels: they have points in every corner
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    out = HERE.parent / "docs" / "img" / "dp_quality.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def markdown(cache: dict[str, Any]) -> str:
    """The cached runs as the Markdown tables of RESULTS.md."""
    runs = sorted((v for k, v in cache.items() if not k.startswith("audit")), key=lambda r: (r["table"], r["epsilon"], r["model"]))
    names = NAMES
    lines = ["| table | ε | model | quality | column shapes | pair trends | TSTR | TRTR | TSTR/TRTR | fit (s) | CPU (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['table']} | {r['epsilon']:g} | {names.get(r['model'], r['model'])} | failed: {r['error'][:80]} ||||||||")
            continue
        lines.append(f"| {r['table']} | {r['epsilon']:g} | {names.get(r['model'], r['model'])} | {r['quality']:.3f} | "
                     f"{r['shapes']:.3f} | {r['pairs']:.3f} | {r['tstr']:.3f} | {r['trtr']:.3f} | {r['ratio']:.3f} | "
                     f"{r['fit_seconds']:.1f} | {_cpu(r)} |")
    audit = [a for k, v in cache.items() if k.startswith("audit") for a in v]
    if audit:
        lines += ["", "| claimed ε | max_parents | trials per side | ε lower bound (95 %) | point estimate | TPR | FPR | seconds |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {a['epsilon']:g} | {a.get('max_parents', 'auto')} | {a['trials_per_side']} | {a['epsilon_lower']:.3f} | {a['epsilon_point']:.3f} | "
                  f"{a['tpr']:.3f} | {a['fpr']:.3f} | {a['seconds']:.0f} |" for a in audit]
    return "\n".join(lines)


def _cpu(run: dict[str, Any]) -> str:
    """CPU seconds of the fit (peers: fit + sample, all threads), or a dash for runs made before it was recorded."""
    return f"{run['cpu_seconds']:.1f}" if "cpu_seconds" in run else "–"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", default="adult")
    ap.add_argument("--models", default="dp,mst")
    ap.add_argument("--eps", default="0.3,1,3,10")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--audit", action="store_true")
    ap.add_argument("--audit-eps", default="1,8")
    ap.add_argument("--audit-parents", default="auto",
                    help="max_parents of the audited model: auto (the tree on the 200-row table), or 2, 3 (the network).")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--plot", action="store_true", help="Write docs/img/dp_quality.png from the cached results.")
    ap.add_argument("--cpu-only", action="store_true",
                    help="Our model only: refit and record the fit's CPU seconds in the cached runs, without scoring.")
    ap.add_argument("--seeds", default=None,
                    help="Our model only: fit with each of these random_state values (e.g. 0,1,2), record each run "
                         "under --label in results/dp_seeds.json and print the means.")
    ap.add_argument("--label", default="current", help="Name of the code version the --seeds runs measure.")
    ap.add_argument("--synth-dir", type=Path, default=None,
                    help="Score the peers' synthetic tables written by peers_device.py run into this folder.")
    args = ap.parse_args()
    global SYNTH_DIR
    SYNTH_DIR = args.synth_dir
    if args.cpu_only:
        for table in args.tables.split(","):
            df, types, _ = D.load(table)
            train, _ = M.split(df, seed=0)
            for eps in (float(e) for e in args.eps.split(",")):
                key = f"{table}/dp/{eps:g}"
                cached = json.loads(CACHE.read_text()).get(key) if CACHE.exists() else None
                if cached and "quality" in cached:
                    cpu = _ours(train, types, eps)[2]["cpu_seconds"]
                    _save({key: {**cached, "cpu_seconds": cpu}})
                    print(key, cpu)
        return
    if args.seeds is not None:
        seeds(args.tables.split(","), [float(e) for e in args.eps.split(",")],
              [int(x) for x in args.seeds.split(",")], args.label, args.force)
        return
    if args.plot:
        plot(json.loads(CACHE.read_text()))
        print(markdown(json.loads(CACHE.read_text())))
        return
    cache: dict[str, Any] = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    audit_key = "audit" if args.audit_parents == "auto" else f"audit_parents_{args.audit_parents}"
    if args.audit:
        parents: int | str = args.audit_parents if args.audit_parents == "auto" else int(args.audit_parents)
        cache[audit_key] = audit([float(e) for e in args.audit_eps.split(",")], args.trials, parents)
    else:
        for table in args.tables.split(","):
            for model in args.models.split(","):
                for eps in (float(e) for e in args.eps.split(",")):
                    key = f"{table}/{model}/{eps:g}"
                    if key in cache and not args.force:
                        continue
                    try:
                        cache[key] = run_one(table, model, eps)
                    except Exception as exc:  # a peer that fails is recorded, not fatal
                        cache[key] = {"table": table, "model": model, "epsilon": eps, "error": f"{type(exc).__name__}: {exc}"}
                    print(json.dumps(cache[key]))
                    _save({key: cache[key]})
    if args.audit:
        _save({audit_key: cache[audit_key]})


def seeds(tables: list[str], eps_list: list[float], fit_seeds: list[int], label: str, force: bool) -> None:
    """Our model over several fit seeds (the noise at small ε makes one seed a poor judge)."""
    cache = json.loads(SEEDS_CACHE.read_text()) if SEEDS_CACHE.exists() else {}
    for table in tables:
        for eps in eps_list:
            for seed in fit_seeds:
                key = f"{label}/{table}/dp/{eps:g}/{seed}"
                if key not in cache or force:
                    cache[key] = {**run_one(table, "dp", eps, seed), "seed": seed, "label": label}
                    _save({key: cache[key]}, SEEDS_CACHE)
                print(json.dumps(cache[key]))
    print(seed_means(cache))


def seed_means(cache: dict[str, Any]) -> str:
    """Mean (min–max) over the fit seeds of each (label, table, ε), as a Markdown table."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for run in cache.values():
        groups.setdefault((run["table"], run["epsilon"], run["label"]), []).append(run)
    lines = ["| table | ε | code | seeds | quality | TSTR/TRTR (mean) | TSTR/TRTR (min–max) |", "|---|---|---|---|---|---|---|"]
    for (table, eps, label), runs in sorted(groups.items()):
        q = sum(r["quality"] for r in runs) / len(runs)
        ratios = [r["ratio"] for r in runs]
        lines.append(f"| {table} | {eps:g} | {label} | {len(runs)} | {q:.3f} | {sum(ratios) / len(ratios):.3f} | "
                     f"{min(ratios):.3f}–{max(ratios):.3f} |")
    return "\n".join(lines)


def _save(entries: dict[str, Any], path: Path = CACHE) -> None:
    """Merge entries into the cache file as it is now (another run may have written it meanwhile)."""
    path.parent.mkdir(exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(entries)
    path.write_text(json.dumps(current, indent=1))


if __name__ == "__main__":
    main()
