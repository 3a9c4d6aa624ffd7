from __future__ import annotations

import json

import pandas as pd

from simulacra.demo import run_demo


def test_demo_end_to_end(tmp_path):
    summary = run_demo(tmp_path, n_rows=3000, model="copula", log=lambda _: None)
    files = json.loads((tmp_path / "summary.json").read_text())["files"]
    for name in files.values():
        assert (tmp_path / name).exists(), name
    syn = pd.read_parquet(tmp_path / "synthetic_flights.parquet")
    assert len(syn) == summary["training_rows"] and syn.shape[1] == 19
    assert 0.5 < summary["scores"]["quality"] <= 1.0
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html or "data:image/png" in html
