"""The sequence report's HTML page: written by `simulacra evaluate --entity --order --html`, with every section."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from simulacra.cli.main import app
from simulacra.evaluate.sequence import evaluate_sequences
from simulacra.evaluate.sequence_html import render_sequence_html

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_evaluate_sequence import _co_moving, _histories  # noqa: E402

SECTIONS = ["summary", "histories", "autocorrelation", "statics", "windows", "next-step", "privacy"]


def _section(html: str, ident: str) -> str:
    found = re.search(rf'<section id="{ident}">(.*?)</section>', html, re.S)
    assert found, f"no section {ident}"
    return found.group(1)


def test_the_command_writes_a_page_with_every_section(tmp_path: Path) -> None:
    paths = {}
    for name, seed in (("real", 0), ("syn", 1), ("hold", 2)):
        paths[name] = tmp_path / f"{name}.csv"
        _histories(seed, n=20, length=30).to_csv(paths[name], index=False)
    page = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["evaluate", str(paths["real"]), str(paths["syn"]), "--entity", "id", "--order", "day",
                                   "--holdout", str(paths["hold"]), "--html", str(page)])
    assert res.exit_code == 0, res.output
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "entity id, ordered by day" in html
    for ident in SECTIONS:
        _section(html, ident)
    assert "entity_dcr_share" in _section(html, "summary") and "window_detection_auc" in _section(html, "summary")
    assert _section(html, "histories").count("data:image/png;base64,") == 2  # events per entity, gaps
    assert "high &gt;= price" in _section(html, "histories")  # a row rule
    acf = _section(html, "autocorrelation")
    assert all(f"lag {k}" in acf for k in range(1, 6)) and "data:image/png" in acf and "|changes|" in acf
    assert "<code>kind</code>" in _section(html, "statics")
    assert "synthetic windows (TSTR)" in _section(html, "next-step") and "data:image/png" in _section(html, "next-step")
    assert "entity-level DCR share" in _section(html, "privacy")
    assert "Not measured" not in html


def test_without_holdout_the_page_says_what_is_missing_and_shows_co_movement() -> None:
    report = evaluate_sequences(_co_moving(0, 0.6), _co_moving(1, 0.0), entity="id", order="day")
    html = render_sequence_html(report)
    assert 'id="cross-entity-figure"' in _section(html, "co-movement") and "price changes" in html
    assert "give held-out real entities (--holdout)" in _section(html, "next-step")
    assert "Entity-level DCR not measured" in _section(html, "privacy")
    assert report["histograms"]["events_per_entity"]["real"] == [1.0]  # every entity has 80 events
