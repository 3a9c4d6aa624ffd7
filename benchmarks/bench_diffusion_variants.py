"""Variants of the table diffusion model on Adult, scored like ``bench_synthesizers.py`` (issue 19).

Each run fits ``DiffusionSynthesizer`` with the parameters given as JSON on the same 80 % split, samples
as many rows as it trained on, and prints one JSON line: wall and CPU seconds, SDMetrics quality (shapes,
pairs) and TSTR/TRTR with the same judges. Used to choose how categories are diffused and how long to
train; run with one torch thread and nice::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_diffusion_variants.py '{"steps": 1500}'
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_diffusion_variants.py '{"steps": 1500, "categorical": "gaussian"}'
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402


def main() -> None:
    import torch

    from simulacra.tabular.diffusion import DiffusionSynthesizer

    params = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    table = sys.argv[2] if len(sys.argv) > 2 else "adult"
    df, types, spec = D.load(table)
    train, holdout = M.split(df)
    meta = D.metadata(train, types)
    wall, cpu = time.perf_counter(), time.process_time()
    model = DiffusionSynthesizer(metadata=meta, random_state=0, **params).fit(train)
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    synth = model.sample(len(train), random_state=1)
    sample_wall, sample_cpu = time.perf_counter() - wall, time.process_time() - cpu
    quality = M.quality(train, synth, types)
    util = M.utility(train, holdout, synth, spec["target"], spec["task"], [])
    out = {"table": table, "params": params, "torch_threads": torch.get_num_threads(), "steps": model.steps_,
           "fit_wall_s": fit_wall, "fit_cpu_s": fit_cpu, "sample_wall_s": sample_wall, "sample_cpu_s": sample_cpu,
           **{k: v for k, v in quality.items() if isinstance(v, float)},
           "tstr": util["tstr"], "trtr": util["trtr"], "tstr_trtr": util["ratio"]}
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}), flush=True)


if __name__ == "__main__":
    main()
