"""The HTML report renders in a real headless browser (Debian's chromium): sections and every plot."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import simulacra as sim

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(page, tmp_path):
    """The headless command that prints the DOM of ``page`` once loaded (screenshots: all but the last two)."""
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.d/evaluate.sh installs it)")
def test_report_renders_in_chromium(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "z": x + rng.normal(size=n), "c": rng.choice(list("abc"), n),
                             "y": np.where(x + rng.normal(size=n) > 0, "yes", "no")})

    from simulacra.evaluate import EvalOptions

    opts = EvalOptions(detection_rows=300, privacy_rows=200, reference_rows=400, attack_rows=100)
    rep = sim.evaluate(table(600), table(600), holdout=table(600), target="y", sensitive="c", secret="c", options=opts)
    page = rep.to_html(tmp_path / "report.html")
    cmd = _chromium(page, tmp_path)
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    for section in ("summary", "fidelity", "utility", "privacy", "fairness", "validity", "metrics"):
        assert f'id="{section}"' in dom, section
    total = re.search(r'data-images-total="(\d+)"', dom)
    ok = re.search(r'data-images-ok="(\d+)"', dom)
    assert total and ok, "the page's load handler did not run"
    assert int(total.group(1)) >= 8
    assert ok.group(1) == total.group(1), "some plots did not decode"
    shot = tmp_path / "shot.png"
    subprocess.run([*cmd[:-2], "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.d/evaluate.sh installs it)")
def test_multi_table_report_renders_in_chromium(tmp_path):
    import numpy as np
    import pandas as pd

    def db(seed: int) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(seed)
        users = pd.DataFrame({"id": np.arange(80), "age": rng.integers(18, 80, 80), "city": rng.choice(list("abc"), 80)})
        k = rng.poisson(users["age"] / 20)
        orders = pd.DataFrame({"user": np.repeat(users["id"], k).to_numpy(),
                               "amount": np.repeat(users["age"], k).to_numpy() * rng.gamma(2, 1, k.sum())})
        return {"users": users, "orders": orders}

    rel = [{"parent": "users", "parent_key": "id", "child": "orders", "child_key": "user"}]
    page = sim.evaluate_tables(db(0), db(1), rel).to_html(tmp_path / "report.html")
    cmd = _chromium(page, tmp_path)
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    for section in ("summary", "tables", "relationships", "integrity", "privacy"):
        assert f'id="{section}"' in dom, section
    total = re.search(r'data-images-total="(\d+)"', dom)
    ok = re.search(r'data-images-ok="(\d+)"', dom)
    assert total and ok and int(total.group(1)) >= 4 and ok.group(1) == total.group(1)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.d/evaluate.sh installs it)")
def test_sequence_report_renders_in_chromium(tmp_path):
    import numpy as np
    import pandas as pd

    from simulacra.evaluate.sequence_html import write_sequence_html

    def histories(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        days = pd.bdate_range("2021-01-04", periods=60)
        market = rng.normal(0, 0.01, 60)
        return pd.DataFrame([(f"s{seed}-{e}", d, p) for e in range(15) for d, p in
                             zip(days, 30 * np.exp(np.cumsum(0.6 * market + 0.8 * rng.normal(0, 0.01, 60))))],
                            columns=["id", "day", "price"])

    report = sim.evaluate_sequences(histories(0), histories(1), entity="id", order="day", holdout=histories(2))
    page = write_sequence_html(report, tmp_path / "report.html")
    cmd = _chromium(page, tmp_path)
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    for section in ("summary", "histories", "autocorrelation", "statics", "co-movement", "windows", "next-step", "privacy"):
        assert f'id="{section}"' in dom, section
    total = re.search(r'data-images-total="(\d+)"', dom)
    ok = re.search(r'data-images-ok="(\d+)"', dom)
    assert total and ok and int(total.group(1)) >= 5 and ok.group(1) == total.group(1)
