"""Scale benchmark: rows/s and peak memory of chunked jobs, and fitting on a table larger than memory.

Every measurement runs in a fresh child process; a sampler in this process sums the resident memory
(RSS) of the child and all its descendants (worker processes, Ray's raylet and workers) every 0.1 s,
so the peak is the whole job's memory, not one process's (RSS sum, and PSS, which counts pages
shared by forked workers once).

Commands (see benchmarks/RESULTS.md, section "Scale"):

    python benchmarks/bench_scale.py throughput --rows 4000000 --models copula spec --workers 1 2 --engines local ray
    python benchmarks/bench_scale.py throughput --rows 1000000 --models autoreg --workers 2
    python benchmarks/bench_scale.py fit --rows 10000000 --max-rows-in-memory 1000000
    nice -n 10 python benchmarks/bench_scale.py throughput --rows 100000000 --models copula --workers 2 --keep-output
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADULT = next(
    (p for p in (ROOT / "../shared/datasets/tabular/adult/adult.csv", Path("/work/shared/datasets/tabular/adult/adult.csv")) if p.exists()),
    None,
)
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- memory of a process tree ------------------------------------------------------------------------
def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


TICK = os.sysconf("SC_CLK_TCK")


def _tree_memory(root: int, cpu: dict[int, float] | None = None) -> tuple[int, int]:
    """(RSS, PSS) summed over ``root`` and every descendant, from /proc. PSS splits pages shared by
    forked workers among them; the RSS sum counts shared pages once per process (an upper bound)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            rss[pid] = int(fields[21]) * PAGE
            ticks[pid] = (int(fields[11]) + int(fields[12])) / TICK
            children.setdefault(ppid, []).append(pid)
        except (OSError, IndexError, ValueError):
            continue
    total_rss, total_pss, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total_rss += rss.get(pid, 0)
        total_pss += _pss(pid)
        if cpu is not None and pid in ticks:
            cpu[pid] = max(cpu.get(pid, 0.0), ticks[pid])
        stack.extend(children.get(pid, []))
    return total_rss, total_pss


def run_measured(args: list[str]) -> dict[str, Any]:
    """Run this script with ``args`` in a child; its JSON result plus the peak RSS of its process tree."""
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    peak, peak_pss = 0, 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory(proc.pid, cpu)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # CPU time of the child and every descendant it reaped
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    result["peak_pss_mb"] = round(peak_pss / 2**20, 1)
    result["cpu_s_total"] = round(usage.ru_utime + usage.ru_stime, 1)  # whole child run, set-up included
    result["cpu_s_tree_sampled"] = round(sum(cpu.values()), 1)  # includes Ray's processes
    return result


# -- producers -----------------------------------------------------------------------------------------
def _adult() -> Any:
    from simulacra.io import read_table

    if ADULT is None:
        raise SystemExit("Adult data set not found (../shared/datasets/tabular/adult/adult.csv)")
    return read_table(ADULT)


def prepare_models(folder: Path, models: list[str]) -> dict[str, str]:
    """Fit each model on Adult once and save it (or, for 'spec', a spec inferred from Adult)."""
    from simulacra.tabular.registry import get_synthesizer_class

    data = _adult()
    paths = {}
    for name in models:
        if name == "spec":
            import yaml

            from simulacra.spec.infer import infer_spec

            path = folder / "adult.yaml"
            path.write_text(yaml.safe_dump(infer_spec(data, name="adult")))
        else:
            path = folder / f"{name}.simulacra"
            t0 = time.perf_counter()
            get_synthesizer_class(name)(random_state=0).fit(data).save(path)
            print(f"fitted {name} on Adult in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        paths[name] = str(path)
    return paths


def one_job(cfg: dict[str, Any]) -> dict[str, Any]:
    """(In the child.) Write ``cfg['rows']`` rows with one configuration; returns the timing.

    With Ray, Ray is started first and its start-up time reported apart (``ray_init_s``): a cluster
    is started once for many jobs."""
    import resource

    out = cfg["out"]
    extra: dict[str, Any] = {}
    if cfg["engine"] == "ray":
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=cfg["workers"], include_dashboard=False, log_to_driver=False)

        @ray.remote(num_cpus=1)
        def warm_up() -> int:  # start the workers and import what the job needs, as a warm cluster has
            import simulacra.scale.engines
            import simulacra.spec.engine
            import simulacra.tabular.copula  # noqa: F401

            return os.getpid()

        ray.get([warm_up.remote() for _ in range(cfg["workers"])])
        extra["ray_init_s"] = round(time.perf_counter() - t0, 1)
    if cfg["model"] == "spec":
        from simulacra.scale.spec import run_generate_job
        from simulacra.spec.engine import Spec

        spec = Spec.from_yaml(Path(cfg["path"]))
        cpu0 = _cpu(resource)
        t0 = time.perf_counter()
        results = run_generate_job(
            spec, out, cfg["rows"], workers=cfg["workers"], chunk_rows=cfg["chunk_rows"], engine=cfg["engine"],
            random_state=1, progress=False, overwrite=True,
        )
        seconds = time.perf_counter() - t0
        rows = sum(r.rows for r in results.values())
    else:
        from simulacra import load as load_model
        from simulacra.scale.api import sample_to

        synth = load_model(cfg["path"])
        cpu0 = _cpu(resource)
        t0 = time.perf_counter()
        result = sample_to(
            synth, out, cfg["rows"], workers=cfg["workers"], chunk_rows=cfg["chunk_rows"], engine=cfg["engine"],
            random_state=1, progress=False, overwrite=True,
        )
        seconds = time.perf_counter() - t0
        rows = result.rows
    if cfg["engine"] == "local":  # Ray's workers are not this process's children: no CPU figure
        cpu = _cpu(resource) - cpu0
        extra["cpu_s"] = round(cpu, 2)
        extra["cores_used"] = round(cpu / seconds, 2)
        extra["rows_per_cpu_s"] = round(rows / cpu)
    size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) if Path(out).is_dir() else Path(out).stat().st_size
    return {**{k: v for k, v in cfg.items() if k not in ("path", "out")}, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "output_mb": round(size / 2**20, 1), **extra}


def _cpu(resource: Any) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one_fit(cfg: dict[str, Any]) -> dict[str, Any]:
    """(In the child.) fit_large on the Parquet folder ``cfg['input']``."""
    from simulacra.scale.fit import fit_large
    from simulacra.tabular.registry import get_synthesizer_class

    synth = get_synthesizer_class(cfg["model"])(random_state=0)
    t0 = time.perf_counter()
    report = fit_large(synth, cfg["input"], cfg["max_rows"], random_state=0, warn=False)
    seconds = time.perf_counter() - t0
    gaps = report.marginal_gaps
    return {"model": cfg["model"], "rows_total": report.rows_total, "rows_fitted": report.rows_fitted,
            "seconds": round(seconds, 1), "max_marginal_gap": round(max(gaps.values(), default=0.0), 4)}


# -- commands ------------------------------------------------------------------------------------------
def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cmd_throughput(ns: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=ns.tmp))
    try:
        paths = prepare_models(work, ns.models)
        results = []
        for model in ns.models:
            for engine in ns.engines:
                for workers in ns.workers:
                    cfg = {"model": model, "path": paths[model], "rows": ns.rows, "workers": workers, "engine": engine,
                           "chunk_rows": ns.chunk_rows, "out": str(work / f"out_{model}_{engine}_{workers}") + "/"}
                    before = load()
                    res = run_measured(["--one", json.dumps(cfg)])
                    res["load_before"], res["load_after"] = before, load()
                    print(json.dumps(res), flush=True)
                    results.append(res)
                    if not ns.keep_output:
                        shutil.rmtree(cfg["out"], ignore_errors=True)
        return results
    finally:
        if not ns.keep_output:
            shutil.rmtree(work, ignore_errors=True)


def cmd_fit(ns: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="bench_scale_fit_", dir=ns.tmp))
    try:
        paths = prepare_models(work, ["copula"])
        table = str(work / "big") + "/"
        made = run_measured(["--one", json.dumps({"model": "copula", "path": paths["copula"], "rows": ns.rows, "workers": 2,
                                                  "engine": "local", "chunk_rows": 1 << 20, "out": table})])
        print(json.dumps({"made_input": made}), file=sys.stderr)
        results = []
        for model in ns.models:
            before = load()
            res = run_measured(["--fit", json.dumps({"model": model, "input": table, "max_rows": ns.max_rows_in_memory})])
            res["input_mb"], res["load_before"], res["load_after"] = made["output_mb"], before, load()
            print(json.dumps(res), flush=True)
            results.append(res)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("--one", "--fit"):
        cfg = json.loads(sys.argv[2])
        print(json.dumps(one_job(cfg) if sys.argv[1] == "--one" else one_fit(cfg)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    tp = sub.add_parser("throughput", help="rows/s and peak RSS of sampling jobs to partitioned Parquet")
    tp.add_argument("--rows", type=int, default=2_000_000)
    tp.add_argument("--models", nargs="+", default=["copula", "spec"])
    tp.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    tp.add_argument("--engines", nargs="+", default=["local"])
    tp.add_argument("--chunk-rows", type=int, default=1 << 20)
    tp.add_argument("--keep-output", action="store_true")
    fp = sub.add_parser("fit", help="fit_large on a Parquet table of Adult's schema made by sampling")
    fp.add_argument("--rows", type=int, default=10_000_000)
    fp.add_argument("--models", nargs="+", default=["copula"])
    fp.add_argument("--max-rows-in-memory", type=int, default=1_000_000)
    for p in (tp, fp):
        p.add_argument("--tmp", default=None, help="folder for the outputs (default: the system's temp folder)")
        p.add_argument("--json-out", default=None, help="also write the results to this JSON file")
    ns = parser.parse_args()
    started = load()
    results = cmd_throughput(ns) if ns.command == "throughput" else cmd_fit(ns)
    summary = {"command": " ".join(sys.argv), "load_at_start": started, "cores": os.cpu_count(), "results": results}
    if ns.json_out:
        Path(ns.json_out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
