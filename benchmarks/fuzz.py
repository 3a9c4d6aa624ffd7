"""Fuzzing with a time budget: every target runs random cases until its share of ``--budget`` is spent.

    python benchmarks/fuzz.py --budget 60                 # all targets, 60 s in all
    python benchmarks/fuzz.py --budget 30 --target text   # one target

A target is a function ``case(seed: int, workdir: Path) -> (outcome, details)``; ``outcome`` is ``"ok"``,
``"clear error"`` or a string starting with ``"BUG"`` (the invariant broken). Targets are collected from
:data:`TARGETS` below and from ``TARGETS`` dicts of ``benchmarks/fuzz_*.py`` modules, so that each area adds
its own file. The output gives, per target, the number of cases per outcome class (and the details of each
bug, to reproduce it with ``--seed``); the exit status is 1 when a bug was found.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Case = Callable[[int, Path], tuple[str, dict[str, Any]]]


def _text(seed: int, workdir: Path) -> tuple[str, dict[str, Any]]:
    from simulacra.cli.main import app
    from simulacra.testing.chaos import text_chaos_case

    return text_chaos_case(seed, workdir, app)


TARGETS: dict[str, Case] = {
    "text": _text,  # the text commands against a server with random statuses, bodies, delays, drops and hangs
}


def collect() -> dict[str, Case]:
    """:data:`TARGETS` plus those of every ``benchmarks/fuzz_*.py``."""
    out = dict(TARGETS)
    for path in sorted(Path(__file__).parent.glob("fuzz_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out.update(getattr(module, "TARGETS", {}))
    return out


def run(targets: dict[str, Case], budget: float, first_seed: int = 0) -> dict[str, Any]:
    """Run each target for ``budget / len(targets)`` seconds; counts per outcome class and the bugs found."""
    share = budget / max(1, len(targets))
    report: dict[str, Any] = {}
    for name, case in targets.items():
        counts: Counter[str] = Counter()
        bugs = []
        start = time.perf_counter()
        seed = first_seed
        while time.perf_counter() - start < share:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    outcome, details = case(seed, Path(tmp))
                except Exception as exc:  # the case itself broke: a bug of the target
                    outcome, details = f"BUG: {type(exc).__name__} escaped", {"error": str(exc)[:300]}
            counts[outcome] += 1
            if outcome.startswith("BUG"):
                bugs.append({"seed": seed, "outcome": outcome, **details})
            seed += 1
        report[name] = {"cases": sum(counts.values()), "seconds": round(time.perf_counter() - start, 1),
                        "outcomes": dict(counts.most_common()), "bugs": bugs}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60.0, help="seconds in all, shared by the targets")
    ap.add_argument("--target", action="append", help="run only this target (repeatable)")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--json", type=Path, help="also write the report as JSON")
    args = ap.parse_args(argv)
    targets = collect()
    if args.target:
        unknown = [t for t in args.target if t not in targets]
        if unknown:
            ap.error(f"unknown targets {unknown}; have {sorted(targets)}")
        targets = {t: targets[t] for t in args.target}
    report = run(targets, args.budget, args.seed)
    for name, r in report.items():
        classes = ", ".join(f"{k}: {v}" for k, v in r["outcomes"].items())
        print(f"{name}: {r['cases']} cases in {r['seconds']} s ({classes})")
        for bug in r["bugs"]:
            print(f"  {bug}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 1 if any(r["bugs"] for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
