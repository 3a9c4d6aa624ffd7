"""Fit one peer synthesizer and sample; run inside that peer's own environment (benchmarks/.envs/<env>).

Usage: python _peer.py MODEL TRAIN.parquet TYPES.json N_ROWS OUT.parquet TIMING.json [--epochs E] [--minutes M]
       [--epsilon EPS --delta DELTA] [--device cpu|cuda]
MODEL is sdv_copula, ctgan, tvae (env sdv) or tabularargn (env mostly). With ``--epsilon`` MOSTLY AI's engine
trains with differential privacy on (DP-SGD through Opacus, ``max_epsilon`` = EPS in total, of which 10 % buys
its value protection: the DP column bounds and rare-category thresholds of its analysis step). Prints nothing
on success.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _sdv(model: str, train: pd.DataFrame, types: dict[str, str], n: int, epochs: int) -> pd.DataFrame:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    meta = Metadata.load_from_dict(
        {"tables": {"t": {"columns": {c: {"sdtype": t} for c, t in types.items()}}}}
    )
    if model == "sdv_copula":
        synth = GaussianCopulaSynthesizer(meta)
    elif model == "ctgan":
        synth = CTGANSynthesizer(meta, epochs=epochs)
    else:
        synth = TVAESynthesizer(meta, epochs=epochs)
    try:
        synth.fit(train)
    except Exception as exc:  # SDV 2.x wants {table_name: frame}
        if "dictionary" not in str(exc):
            raise
        synth.fit({"t": train})
    out = synth.sample(n)
    return out["t"] if isinstance(out, dict) else out


def _argn(train: pd.DataFrame, n: int, minutes: float, epochs: int, dp: dict[str, float] | None = None,
          device: str = "cpu") -> pd.DataFrame:
    from mostlyai import engine

    config = None
    if dp is not None:
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        config = DifferentialPrivacyConfig(max_epsilon=dp["epsilon"], delta=dp["delta"],
                                           value_protection_epsilon=0.1 * dp["epsilon"])
    with tempfile.TemporaryDirectory() as ws:
        engine.init_logging()
        engine.split(tgt_data=train, workspace_dir=ws)
        engine.analyze(workspace_dir=ws, differential_privacy=config)
        engine.encode(workspace_dir=ws)
        engine.train(workspace_dir=ws, max_training_time=minutes, max_epochs=epochs, device=device,
                     differential_privacy=config)
        engine.generate(workspace_dir=ws, sample_size=n, device=device)
        out = pd.read_parquet(Path(ws) / "SyntheticData")
    return out[train.columns]


def main(argv: list[str]) -> None:
    model, train_path, types_path, n, out_path, timing_path = argv[:6]
    opts = dict(zip(argv[6::2], argv[7::2]))
    epochs, minutes = int(opts.get("--epochs", 100)), float(opts.get("--minutes", 10))
    train = pd.read_parquet(train_path)
    types = json.loads(Path(types_path).read_text())
    start, cpu = time.perf_counter(), _cpu()
    dp = {"epsilon": float(opts["--epsilon"]), "delta": float(opts.get("--delta", 1e-6))} if "--epsilon" in opts else None
    if model == "tabularargn":
        synth = _argn(train, int(n), minutes, epochs, dp, opts.get("--device", "cpu"))
    else:
        synth = _sdv(model, train, types, int(n), epochs)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    synth.to_parquet(out_path)
    machine = {"device": opts.get("--device", "cpu"), "cores": os.cpu_count()}  # where it ran, for --synth-dir scoring
    Path(timing_path).write_text(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, **machine}))


def _cpu() -> float:
    """CPU seconds (user + system) of this process, all its threads, and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main(sys.argv[1:])
