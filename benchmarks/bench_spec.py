"""Spec generation benchmarks: people columns vs Faker and Mimesis, and 10M mixed rows to Parquet.

Run: .venv/bin/python benchmarks/bench_spec.py [--rows 10000000] [--people-rows 1000000]
Prints a Markdown table (paste into benchmarks/RESULTS.md) and writes benchmarks/results/spec.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIXED = ROOT / "examples" / "specs" / "mixed.yaml"
PEOPLE = """
tables:
  people:
    rows: 1000
    columns:
      p: {kind: person, locale: en_US, fields: [name, email, address, phone]}
"""

CHILD = """
import resource, sys, time
from simulacra.spec import Spec
spec = Spec.from_yaml(sys.argv[1])
t = time.perf_counter()
spec.generate_to(sys.argv[2], int(sys.argv[3]), seed=1, chunk_rows=int(sys.argv[4]))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bench_people(n: int) -> dict[str, float]:
    from faker import Faker
    from mimesis import Address, Person
    from mimesis.locales import Locale

    from simulacra.spec import Spec

    spec = Spec.from_yaml(PEOPLE)
    spec.generate_range("people", 0, 1000, seed=0)  # pools built once (counted separately)
    t = time.perf_counter()
    frame = spec.generate_range("people", 0, n, seed=1)
    ours = n / (time.perf_counter() - t)
    assert len(frame) == n
    fake, m = Faker("en_US"), 5000
    t = time.perf_counter()
    for _ in range(m):
        fake.name(), fake.email(), fake.address(), fake.phone_number()
    faker_rate = m / (time.perf_counter() - t)
    person, address, k = Person(Locale.EN), Address(Locale.EN), 50_000
    t = time.perf_counter()
    for _ in range(k):
        person.full_name(), person.email(), address.address(), person.telephone()
    mimesis_rate = k / (time.perf_counter() - t)
    return {"simulacra_rows_per_s": ours, "faker_rows_per_s": faker_rate, "mimesis_rows_per_s": mimesis_rate}


def bench_mixed(rows: int, chunk: int) -> tuple[float, float, Path]:
    out = Path(tempfile.mkdtemp()) / f"mixed_{rows}_{chunk}.parquet"
    res = subprocess.run([sys.executable, "-c", CHILD, str(MIXED), str(out), str(rows), str(chunk)],
                         capture_output=True, text=True, check=True)
    seconds, rss = map(float, res.stdout.split())
    return seconds, rss, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--people-rows", type=int, default=1_000_000)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    people = bench_people(args.people_rows)
    small_s, small_rss, small = bench_mixed(1_000_000, 1 << 18)
    other_s, _, other = bench_mixed(1_000_000, 100_000)
    import pandas as pd

    same = pd.read_parquet(small).equals(pd.read_parquet(other))
    big_s, big_rss, big = bench_mixed(args.rows, 1 << 18)
    result = {
        "load_1min_at_start": load, "cpus": os.cpu_count(), **people,
        "mixed_1M_seconds": small_s, "mixed_1M_peak_rss_mb": small_rss,
        f"mixed_{args.rows}_seconds": big_s, f"mixed_{args.rows}_peak_rss_mb": big_rss,
        "mixed_rows_per_s": args.rows / big_s, "same_rows_for_chunk_262144_and_100000": same,
        "parquet_mb": big.stat().st_size / 2**20,
    }
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "spec.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"""
| measure | simulacra | Faker (one call per row) | Mimesis (one call per row) |
|---|---|---|---|
| people rows/s (name, email, address, phone) | {people['simulacra_rows_per_s']:,.0f} | {people['faker_rows_per_s']:,.0f} | {people['mimesis_rows_per_s']:,.0f} |

| mixed 10-column spec to Parquet | rows | seconds | peak RSS (MB) |
|---|---|---|---|
| | 1,000,000 | {small_s:.1f} | {small_rss:.0f} |
| | {args.rows:,} | {big_s:.1f} | {big_rss:.0f} |
""")


if __name__ == "__main__":
    main()
