"""Fit one peer sequence synthesizer and sample; run inside that peer's own environment.

Usage: python _peer_seq.py MODEL TRAIN.parquet ENTITY ORDER N_ENTITIES OUT.parquet TIMING.json
       [--epochs E] [--minutes M] [--statics a,b,c]

MODEL is ``par`` (SDV's PARSynthesizer, env sdv; the static attributes are declared as its context
columns) or ``mostly`` (MOSTLY AI's engine, as its SDK runs a subject table and a linked sequential
table: a flat model of the entity table, entity key plus static attributes, then a sequential model of
the events with that table as its context; the synthetic entity table is the context of the synthetic
events). Prints nothing on success.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _par(train: pd.DataFrame, entity: str, order: str, n: int, epochs: int | None, statics: list[str]) -> pd.DataFrame:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    meta = Metadata.detect_from_dataframes({"t": train})
    meta.update_column(column_name=entity, sdtype="id", table_name="t")
    meta.set_sequence_key(column_name=entity, table_name="t")
    meta.set_sequence_index(column_name=order, table_name="t")
    kwargs: dict = {"context_columns": statics} if statics else {}
    if epochs is not None:
        kwargs["epochs"] = epochs
    synth = PARSynthesizer(meta, verbose=False, **kwargs)
    try:
        synth.fit(train)
    except Exception as exc:  # some SDV 2.x releases want {table_name: frame}
        if "dictionary" not in str(exc):
            raise
        synth.fit({"t": train})
    out = synth.sample_sequences(num_sequences=n)
    return out["t"] if isinstance(out, dict) else out


def _mostly(train: pd.DataFrame, entity: str, order: str, n: int, minutes: float | None, epochs: int | None,
            statics: list[str]) -> pd.DataFrame:
    from mostlyai import engine

    opts: dict = {"device": "cpu"}
    if minutes is not None:
        opts["max_training_time"] = minutes
    if epochs is not None:
        opts["max_epochs"] = epochs
    engine.init_logging()
    ctx = train[[entity, *statics]].drop_duplicates(entity).reset_index(drop=True)
    tgt = train.drop(columns=statics)
    with tempfile.TemporaryDirectory() as ws_ctx, tempfile.TemporaryDirectory() as ws_tgt:
        if statics:  # the subject table: its own flat model, sampled first
            engine.split(tgt_data=ctx, tgt_primary_key=entity, workspace_dir=ws_ctx)
            engine.analyze(workspace_dir=ws_ctx)
            engine.encode(workspace_dir=ws_ctx)
            engine.train(workspace_dir=ws_ctx, **opts)
            engine.generate(workspace_dir=ws_ctx, sample_size=n, device="cpu")
            fake_ctx = pd.read_parquet(Path(ws_ctx) / "SyntheticData")
        else:
            fake_ctx = pd.DataFrame({entity: [f"S{i:06d}" for i in range(n)]})
        engine.split(tgt_data=tgt, ctx_data=ctx, tgt_context_key=entity, ctx_primary_key=entity, workspace_dir=ws_tgt)
        engine.analyze(workspace_dir=ws_tgt)
        engine.encode(workspace_dir=ws_tgt)
        engine.train(workspace_dir=ws_tgt, **opts)
        engine.generate(workspace_dir=ws_tgt, ctx_data=fake_ctx, device="cpu")
        out = pd.read_parquet(Path(ws_tgt) / "SyntheticData")
    out = out.merge(fake_ctx, on=entity, how="left") if statics else out
    return out[train.columns]


def main(argv: list[str]) -> None:
    model, train_path, entity, order, n, out_path, timing_path = argv[:7]
    opts = dict(zip(argv[7::2], argv[8::2]))
    epochs = int(opts["--epochs"]) if "--epochs" in opts else None
    minutes = float(opts["--minutes"]) if "--minutes" in opts else None
    statics = [c for c in opts.get("--statics", "").split(",") if c]
    train = pd.read_parquet(train_path)
    start = time.perf_counter()
    if model == "par":
        out = _par(train, entity, order, int(n), epochs, statics)
    elif model == "mostly":
        out = _mostly(train, entity, order, int(n), minutes, epochs, statics)
    else:
        raise SystemExit(f"unknown peer model {model}")
    seconds = time.perf_counter() - start
    out.to_parquet(out_path)
    Path(timing_path).write_text(json.dumps({"fit_sample_seconds": seconds, "epochs": epochs, "minutes": minutes,
                                             "training_entities": int(train[entity].nunique())}))


if __name__ == "__main__":
    main(sys.argv[1:])
