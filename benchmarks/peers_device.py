"""Run the DP peers (smartnoise AIM, MOSTLY AI's engine with DP-SGD) as many jobs at once on a machine with
more cores and a GPU, and bring back their synthetic tables for scoring here (``bench_dp.py --synth-dir``).

The peers fit on exactly the training split that ``bench_dp.py`` uses (``_metrics.split``, seed 0), written by
``prepare``; ``run`` starts every job at once, each in its own process, and stops what is unfinished at the
deadline. Each finished job leaves ``{table}_{model}_{eps}.parquet`` and a timing ``.json`` (wall and CPU
seconds of fit + sample); every job's log is kept beside them.

    python benchmarks/peers_device.py prepare --tables adult,credit_default,bank_marketing --to DIR
    python benchmarks/peers_device.py run --data DIR --out OUT --jobs aim:adult:0.3,mostly_dp:adult:1 \\
        --python-aim PY --path-aim SITE --python-mostly PY --path-mostly SITE --device cuda --deadline 480
    python benchmarks/bench_dp.py --tables adult --models aim --eps 0.3 --synth-dir OUT --force
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DELTA = 1e-6
#: mostly_dp runs _peer.py (MOSTLY AI's engine with --epsilon); aim and mst run _peer_smartnoise.py
MODELS = ("aim", "mst", "mostly_dp")


def prepare(tables: list[str], to: Path) -> None:
    sys.path.insert(0, str(HERE))
    import _datasets as D
    import _metrics as M

    to.mkdir(parents=True, exist_ok=True)
    for table in tables:
        df, types, _ = D.load(table)
        train, _ = M.split(df, seed=0)
        train.to_parquet(to / f"{table}.parquet")
        (to / f"{table}.types.json").write_text(json.dumps(types))
        print(table, train.shape)


def parse_jobs(spec: str, data: Path) -> list[str]:
    """The ``MODEL:TABLE:EPS`` jobs of ``--jobs``, each checked before any is started (a bad one exits
    with a line saying what is wrong)."""
    jobs = [j.strip() for j in spec.split(",") if j.strip()]
    if not jobs:
        raise SystemExit("--jobs is empty: give MODEL:TABLE:EPS jobs, e.g. --jobs mostly_dp:adult:1")
    for job in jobs:
        parts = job.split(":")
        if len(parts) != 3 or parts[0] not in MODELS:
            raise SystemExit(f"job {job!r}: expected MODEL:TABLE:EPS with MODEL one of {', '.join(MODELS)}")
        try:
            eps = float(parts[2])
        except ValueError:
            eps = -1.0
        if not eps > 0:
            raise SystemExit(f"job {job!r}: ε must be a positive number, got {parts[2]!r}")
        if not (data / f"{parts[1]}.parquet").exists():
            raise SystemExit(f"job {job!r}: no training split {data / parts[1]}.parquet (run prepare first)")
    if len(set(jobs)) < len(jobs):  # the two would write the same files
        raise SystemExit(f"--jobs names {sorted({j for j in jobs if jobs.count(j) > 1})} more than once")
    return jobs


def _command(job: str, data: Path, out: Path, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    model, table, eps = job.split(":")
    n = pq.ParquetFile(data / f"{table}.parquet").metadata.num_rows  # from the footer, no rows read
    stem = out / f"{table}_{model}_{float(eps):g}"
    files = [str(data / f"{table}.parquet"), str(data / f"{table}.types.json"), str(n), f"{stem}.parquet",
             f"{stem}.json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    if model == "mostly_dp":
        cmd = [args.python_mostly, str(HERE / "_peer.py"), "tabularargn", *files, "--epsilon", eps,
               "--delta", str(DELTA), "--minutes", str(args.minutes), "--device", args.device]
        path = args.path_mostly
    else:
        cmd = [args.python_aim, str(HERE / "_peer_smartnoise.py"), model, *files, eps, str(DELTA)]
        path = args.path_aim
    if path:
        env["PYTHONPATH"] = path
    return cmd, env


def run(args: argparse.Namespace) -> int:
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = parse_jobs(args.jobs, data)
    start = time.time()
    procs = {}
    for job in jobs:
        cmd, env = _command(job, data, out, args)
        log = open(out / (job.replace(":", "_") + ".log"), "w")
        # its own process group: a stopped job's children (workers, compilers) are stopped with it
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs[job] = (proc, log, time.time())
    status: dict[str, str] = {}

    def reap() -> None:
        for job, (p, log, t0) in list(procs.items()):
            if p.poll() is not None:
                status[job] = f"rc={p.returncode} after {time.time() - t0:.0f} s"
                print(job, status[job], flush=True)
                log.close()
                del procs[job]

    while procs and time.time() - start < args.deadline:
        reap()
        time.sleep(min(2.0, max(args.deadline - (time.time() - start), 0.0)))
    reap()  # a job that finished during the last wait is finished, not stopped
    for job, (p, log, t0) in procs.items():
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        status[job] = f"stopped unfinished at the deadline ({time.time() - t0:.0f} s)"
        print(job, status[job], flush=True)
        log.close()
    (out / "status.json").write_text(json.dumps(status, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["prepare", "run"])
    ap.add_argument("--tables", default="adult,credit_default,bank_marketing")
    ap.add_argument("--to", default=".peer/data")
    ap.add_argument("--data", default=".peer/data")
    ap.add_argument("--out", default="out")
    ap.add_argument("--jobs", default="")
    ap.add_argument("--python-aim", default=sys.executable)
    ap.add_argument("--path-aim", default="")
    ap.add_argument("--python-mostly", default=sys.executable)
    ap.add_argument("--path-mostly", default="")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--minutes", type=float, default=14400, help="MOSTLY's training-time cap (its default: none in practice)")
    ap.add_argument("--deadline", type=float, default=480, help="seconds after which unfinished jobs are stopped")
    args = ap.parse_args()
    if args.what == "prepare":
        prepare(args.tables.split(","), Path(args.to))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
