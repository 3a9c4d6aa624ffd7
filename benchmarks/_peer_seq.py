"""Fit one peer sequence synthesizer and sample; run inside that peer's own environment.

Usage: python _peer_seq.py MODEL TRAIN.parquet ENTITY ORDER N_ENTITIES OUT.parquet TIMING.json [--epochs E] [--minutes M]
MODEL is par (SDV's PARSynthesizer, env sdv) or mostly (MOSTLY AI's engine, sequential with a context
table of the entities, env mostly). Prints nothing on success.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _par(train: pd.DataFrame, entity: str, order: str, n: int, epochs: int | None) -> pd.DataFrame:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    meta = Metadata.detect_from_dataframes({"t": train})
    meta.update_column(column_name=entity, sdtype="id", table_name="t")
    meta.set_sequence_key(column_name=entity, table_name="t")
    meta.set_sequence_index(column_name=order, table_name="t")
    kwargs = {} if epochs is None else {"epochs": epochs}
    synth = PARSynthesizer(meta, verbose=False, **kwargs)
    try:
        synth.fit(train)
    except Exception as exc:  # some SDV 2.x releases want {table_name: frame}
        if "dictionary" not in str(exc):
            raise
        synth.fit({"t": train})
    out = synth.sample(num_sequences=n)
    return out["t"] if isinstance(out, dict) else out


def _mostly(train: pd.DataFrame, entity: str, order: str, n: int, minutes: float | None, epochs: int | None) -> pd.DataFrame:
    from mostlyai import engine

    ctx = pd.DataFrame({entity: train[entity].drop_duplicates().to_numpy()})
    opts = {}
    if minutes is not None:
        opts["max_training_time"] = minutes
    if epochs is not None:
        opts["max_epochs"] = epochs
    with tempfile.TemporaryDirectory() as ws:
        engine.init_logging()
        engine.split(tgt_data=train, ctx_data=ctx, tgt_context_key=entity, ctx_primary_key=entity, workspace_dir=ws)
        engine.analyze(workspace_dir=ws)
        engine.encode(workspace_dir=ws)
        engine.train(workspace_dir=ws, device="cpu", **opts)
        engine.generate(workspace_dir=ws, sample_size=n, device="cpu")
        out = pd.read_parquet(Path(ws) / "SyntheticData")
    return out[train.columns]


def main(argv: list[str]) -> None:
    model, train_path, entity, order, n, out_path, timing_path = argv[:7]
    opts = dict(zip(argv[7::2], argv[8::2]))
    epochs = int(opts["--epochs"]) if "--epochs" in opts else None
    minutes = float(opts["--minutes"]) if "--minutes" in opts else None
    train = pd.read_parquet(train_path)
    start = time.perf_counter()
    if model == "par":
        out = _par(train, entity, order, int(n), epochs)
    elif model == "mostly":
        out = _mostly(train, entity, order, int(n), minutes, epochs)
    else:
        raise SystemExit(f"unknown peer model {model}")
    seconds = time.perf_counter() - start
    out.to_parquet(out_path)
    Path(timing_path).write_text(json.dumps({"fit_sample_seconds": seconds, "epochs": epochs, "minutes": minutes}))


if __name__ == "__main__":
    main(sys.argv[1:])
