"""The uplift experiment: honesty (no test row reaches an augmentation), metrics, verdicts, reports."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from simulacra.augment import run_table_uplift, run_text_uplift
from simulacra.augment.models import classification_metrics
from simulacra.augment.report import verdicts
from simulacra.errors import InputError


def make_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "g": rng.choice(["a", "b"], n),
                         "y": np.where(x + rng.normal(scale=0.5, size=n) > 1.0, "yes", "no")})


class SpySynth:
    """Records every frame it is fitted on; samples by resampling those rows."""

    fitted: ClassVar[list[pd.DataFrame]] = []
    supports_conditions = False
    name = "spy"

    def __init__(self, *, metadata: Any = None, random_state: int | None = None) -> None:
        self.random_state = random_state

    def fit(self, data: pd.DataFrame) -> SpySynth:
        SpySynth.fitted.append(data.copy())
        self.data_ = data.reset_index(drop=True)
        return self

    def sample(self, n: int, random_state: int | None = None, conditions: Any = None) -> pd.DataFrame:
        return self.data_.sample(n, replace=True, random_state=random_state).reset_index(drop=True)


def test_synthesizer_never_sees_the_test_set() -> None:
    train, test = make_table(300, 0), make_table(200, 1)
    test["x"] += 1000.0  # test rows are unmistakable
    SpySynth.fitted.clear()
    res = run_table_uplift(train, test, "y", methods=["synth", "synth-conditional"], repeats=2, train_size=150,
                           synthesizer=SpySynth)
    assert len(SpySynth.fitted) >= 4
    for frame in SpySynth.fitted:
        assert (frame["x"] < 500).all(), "a test row reached the synthesizer"
        assert len(frame) <= 150
        merged = frame.merge(train, how="left", indicator=True)
        assert (merged["_merge"] == "both").all(), "the synthesizer saw rows outside the training split"
    assert set(res.runs["method"]) == {"none", "synth", "synth-conditional"}
    assert (res.runs["n_real"] == 150).all()


def test_table_uplift_report_round_trip(tmp_path: Any) -> None:
    train, test = make_table(300, 2), make_table(200, 3)
    res = run_table_uplift(train, test, "y", methods=["random", "smote"], ratios=[0.5, 1.0], repeats=2)
    s = res.summary()
    assert list(s["method"]) == ["none", "random", "random", "smote", "smote"]
    none = res.runs[res.runs.method == "none"]
    assert ((none["n_train"] == 300) & (none["roc_auc"] > 0.7)).all()
    bal = res.runs[(res.runs.method == "smote") & (res.runs.ratio == 1.0)]
    counts = train["y"].value_counts()
    assert (bal["n_train"] == 2 * counts.max()).all()
    res.save_json(tmp_path / "u.json")
    res.save_html(tmp_path / "u.html")
    doc = json.loads((tmp_path / "u.json").read_text())
    assert len(doc["runs"]) == 10 and doc["verdict_sentences"]
    page = (tmp_path / "u.html").read_text()
    assert "data:image/png;base64," in page and "http" not in page.replace("http-equiv", "")
    assert "| smote | 1 | 2 |" in res.to_text()
    # the evaluation report's stack: its style sheet, sections, and a summary card for the headline metric
    from simulacra.evaluate import page as stack

    assert f"<style>{stack.CSS}</style>" in page and stack.SCRIPT in page
    for section in ("summary", "verdicts", "scores", "plot", "setup"):
        assert f'<section id="{section}">' in page
    assert len(re.findall(r'class="card[ "]', page)) == 2 and "real data only · macro F1" in page
    assert page.count('<td class="num">') == 5 * 7  # every score right-aligned


def test_verdict_compares_gain_with_noise() -> None:
    runs = pd.DataFrame({"method": ["none"] * 3 + ["a"] * 3 + ["b"] * 3, "ratio": [np.nan] * 3 + [1.0] * 6,
                         "repeat": [0, 1, 2] * 3,
                         "macro_f1": [0.50, 0.51, 0.49, 0.60, 0.61, 0.59, 0.505, 0.50, 0.50]})
    v = {x["method"]: x for x in verdicts(runs, "macro_f1")}
    assert v["a"]["verdict"].startswith("better") and v["a"]["gain"] == pytest.approx(0.10)
    assert v["b"]["verdict"].startswith("no clear difference")


def test_metrics_binary_and_multiclass() -> None:
    y = np.array(["a", "b", "c", "a"])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    m = classification_metrics(y, p, np.array(["a", "b", "c"]), "c")
    assert m["accuracy"] == 0.75 and m["minority_f1"] == 1.0 and 0 < m["macro_f1"] < 1


def test_text_uplift_and_errors() -> None:
    tr = pd.DataFrame({"t": ["good fun film", "bad dull plot", "great fun cast", "awful dull film"] * 6,
                       "y": ["p", "n", "p", "n"] * 6})
    res = run_text_uplift(tr, tr, "t", "y", methods=["eda", "eda-filtered"], ratios=[2], repeats=2,
                          eda_params={"synonyms": "none"})
    assert set(res.runs["method"]) == {"none", "eda", "eda-filtered"}
    assert (res.runs.loc[res.runs.method == "eda", "n_train"] == 24 * 3).all()
    with pytest.raises(InputError, match="Unknown method"):
        run_text_uplift(tr, tr, "t", "y", methods=["magic"], repeats=1)
    with pytest.raises(InputError, match="needs a text generator"):
        run_text_uplift(tr, tr, "t", "y", methods=["llm"], repeats=1)
    with pytest.raises(InputError, match="no column"):
        run_table_uplift(tr, tr.drop(columns="y"), "y", repeats=1)


def test_fitted_synthesizers_are_reused_over_ratios_not_over_repeats() -> None:
    train, test = make_table(300, 4), make_table(100, 5)
    SpySynth.fitted.clear()
    run_table_uplift(train, test, "y", methods=["synth-conditional"], ratios=[0.5, 1.0, 2.0], repeats=2,
                     synthesizer=SpySynth)
    assert len(SpySynth.fitted) == 2  # one fit per repeat, shared by the three ratios


def test_image_scores_table_shows_no_empty_ratio_and_no_first_class_f1(tmp_path: Any) -> None:
    """An image task has no ratio and no minority class: its table had an empty 'ratio' column and a
    'minority F1' that was the first class's F1. The JSON keeps every key (bench_images.py --collect)."""
    from simulacra.augment.uplift import UpliftResult

    rng = np.random.default_rng(0)
    runs = pd.DataFrame({"method": ["none"] * 2 + ["classic"] * 2, "ratio": [np.nan] * 4, "repeat": [0, 1] * 2,
                         **{m: rng.uniform(0.4, 0.6, 4) for m in ("macro_f1", "minority_f1", "pr_auc", "roc_auc", "accuracy")}})
    res = UpliftResult("image", runs, {"per_class": 10}, headline="accuracy")
    text = res.to_text()
    assert text.splitlines()[0] == "| method | repeats | macro F1 | PR AUC | ROC AUC | accuracy |"
    assert text.splitlines()[2].startswith("| none | 2 | ")
    res.save_html(tmp_path / "u.html")
    page = (tmp_path / "u.html").read_text()
    assert "<th>ratio</th>" not in page and "minority F1" not in page and "By method and ratio" not in page
    res.save_json(tmp_path / "u.json")
    data = json.loads((tmp_path / "u.json").read_text())
    assert {"ratio", "minority_f1_mean"} <= set(data["summary"][0]) and "minority_f1" in data["runs"][0]
    # a task with a minority class and ratios keeps both columns
    tab = UpliftResult("table", runs.assign(ratio=[np.nan, np.nan, 1.0, 1.0]), {"minority_class": "yes"})
    assert tab.to_text().splitlines()[0] == "| method | ratio | repeats | macro F1 | minority F1 | PR AUC | ROC AUC | accuracy |"
