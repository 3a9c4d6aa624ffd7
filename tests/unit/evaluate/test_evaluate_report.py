"""The report: stable JSON keys, attribute access, summary, self-contained HTML, every metric explained."""

from __future__ import annotations

import json
import re

import pytest

import simulacra as sim
from simulacra.evaluate import Report, available_metrics, register_metric

STABLE_KEYS = {"quality", "column_shapes", "column_pair_trends", "detection_auc", "tstr", "trtr", "tstr_ratio",
               "tstr_ratio_above_chance", "dcr_share", "exact_copies", "exact_copies_holdout", "mia_auc"}


@pytest.fixture(scope="module")
def report(tables, small_options) -> Report:
    return sim.evaluate(tables["real"], tables["synthetic"], holdout=tables["holdout"], target="y",
                        sensitive=["group"], secret="group", options=small_options)


def test_json_keys_are_stable_and_valid(report, tmp_path):
    data = report.to_dict()
    assert STABLE_KEYS <= set(data)
    assert all(isinstance(data[k], float) for k in STABLE_KEYS)
    path = report.to_json(tmp_path / "r.json")
    loaded = json.loads(path.read_text())
    assert loaded["quality"] == data["quality"]
    assert set(loaded["metrics"]) == set(available_metrics())
    assert all(loaded["metrics"][m]["explanation"] for m in loaded["metrics"])


def test_attributes_and_summary(report):
    assert report.quality == report.to_dict()["quality"]
    with pytest.raises(AttributeError, match="no number"):
        report.nonsense
    text = report.summary()
    assert isinstance(text, str) and "quality" in text and "dcr_share" in text
    assert repr(text) == str(text)
    assert "fidelity=" in repr(report)


def test_html_is_self_contained_and_explains_every_metric(report, tmp_path):
    html = report.to_html(tmp_path / "r.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html
    for section in ("summary", "fidelity", "utility", "privacy", "fairness", "validity", "metrics", "sampling"):
        assert f'id="{section}"' in html
    for name in available_metrics():
        assert f"<code>{name}</code>" in html
    assert html.count("data:image/png;base64,") >= len(report.results["column_shapes"].details["columns"]) + 4


def test_simulacra_evaluate_is_callable_module_and_function(tables):
    import simulacra.evaluate as module

    assert callable(sim.evaluate) and callable(module)
    rep = module(tables["real"], tables["synthetic"], metrics=["column_shapes"])
    assert rep.column_shapes > 0.8


def test_registered_metric_appears_in_report(tables):
    from simulacra.evaluate.registry import _REGISTRY, MetricResult

    @register_metric("row_count_ratio", family="validity", ideal="1.0", explanation="Synthetic rows per real row.")
    def _ratio(ctx):
        return MetricResult("row_count_ratio", "validity", value=len(ctx.synthetic) / len(ctx.real))

    try:
        rep = sim.evaluate(tables["real"], tables["synthetic"].iloc[:400], metrics=["row_count_ratio"])
        assert rep.row_count_ratio == 0.5
        assert "Synthetic rows per real row." in rep.to_dict()["metrics"]["row_count_ratio"]["explanation"]
        assert available_metrics()["row_count_ratio"](tables["real"], tables["real"]).value == 1.0
    finally:
        _REGISTRY.pop("row_count_ratio")


def test_metric_registration_mistakes_are_clear_errors():
    from simulacra.errors import InputError

    with pytest.raises(InputError, match="Unknown metric family 'fidelty'"):
        register_metric("x", family="fidelty", ideal="1", explanation="")
    with pytest.raises(InputError, match="needs unknown inputs"):
        register_metric("x", family="fidelity", ideal="1", explanation="", needs=("labels",))
    with pytest.raises(InputError, match="Unknown metric family"):
        available_metrics("fairnes")
