"""Scores synthetic tables with SDMetrics' QualityReport (run where sdmetrics and sdv are installed).

Usage: python sdmetrics_quality.py REAL.csv SYN1.parquet [SYN2.parquet ...]; prints JSON {file: score}.
The metadata is SDV's detection on the real table, the same for every synthetic table.
"""

import json
import sys

import pandas as pd
from sdmetrics.reports.single_table import QualityReport
from sdv.metadata import Metadata

real = pd.read_csv(sys.argv[1])
meta = Metadata.detect_from_dataframes({"table": real}).to_dict()
table = meta["tables"][next(iter(meta["tables"]))]
scores = {}
for path in sys.argv[2:]:
    syn = pd.read_parquet(path)
    for col in real.columns:
        if real[col].dtype.kind in "iuf":
            syn[col] = pd.to_numeric(syn[col], errors="coerce").astype(real[col].dtype, errors="ignore")
    report = QualityReport()
    report.generate(real, syn, table, verbose=False)
    scores[path] = report.get_score()
print(json.dumps(scores))
