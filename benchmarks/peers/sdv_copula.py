"""Peer script (run in the SDV environment): CSV in -> SDV GaussianCopulaSynthesizer -> Parquet out."""

import sys

import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer

train_csv, n_rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = pd.read_csv(train_csv)
metadata = Metadata.detect_from_dataframes({"table": data})
synth = GaussianCopulaSynthesizer(metadata)
synth.fit({"table": data})  # SDV 2 takes a dict of one table
rows = synth.sample(n_rows)
rows = rows["table"] if isinstance(rows, dict) else rows
rows.to_parquet(out, index=False)
