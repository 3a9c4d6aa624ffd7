"""`simulacra augment ...` and `simulacra uplift ...` end to end on small files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.cli.main import main


def run(*args: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*args])
    assert exc.value.code in (0, None), f"simulacra {' '.join(args)} exited with {exc.value.code}"


def call(*args: str) -> int:
    try:
        main([*args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 500
    x = rng.normal(size=n)
    df = pd.DataFrame({"age": rng.integers(18, 80, n), "x": x, "job": rng.choice(["a", "b", "c"], n),
                       "default": np.where(x + rng.normal(scale=0.5, size=n) > 1.2, "yes", "no")})
    df.iloc[:350].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[350:].to_csv(tmp_path / "test.csv", index=False)
    words = ["good fun film", "bad dull plot", "great fun cast", "awful dull film", "lovely warm story", "boring mess"]
    txt = pd.DataFrame({"review": [words[i % 6] + f" number {i}" for i in range(60)],
                        "sentiment": ["pos", "neg", "pos", "neg", "pos", "neg"] * 10})
    txt.to_csv(tmp_path / "text.csv", index=False)
    return tmp_path


def test_augment_table_balance(files: Path) -> None:
    out = files / "bal.parquet"
    assert call("augment", "table", str(files / "train.csv"), "--target", "default", "--balance", "1:1",
                "--model", "copula", "--seed", "0", "-o", str(out)) == 0
    df = pd.read_parquet(out)
    counts = df["default"].value_counts()
    assert counts["yes"] == counts["no"] and set(df["augmentation"]) == {"real", "synthetic"}


def test_augment_table_enlarge_group(files: Path) -> None:
    out = files / "young.csv"
    assert call("augment", "table", str(files / "train.csv"), "--ratio", "1", "--where", "age < 30",
                "--model", "copula", "-o", str(out)) == 0
    df = pd.read_csv(out)
    new = df[df.augmentation == "synthetic"]
    assert len(new) > 0 and (new.age < 30).all()


def test_augment_text_eda(files: Path) -> None:
    out = files / "aug.csv"
    assert call("augment", "text", str(files / "text.csv"), "--text", "review", "--label", "sentiment",
                "--method", "eda", "--per-example", "3", "--ops", "rs,rd", "--seed", "1", "-o", str(out)) == 0
    df = pd.read_csv(out)
    assert len(df) == 60 * 4 and (df.groupby("augmentation").size().to_dict() == {"eda": 180, "real": 60})


def test_augment_text_llm_fake_backend(files: Path) -> None:
    out = files / "llm.csv"
    assert call("augment", "text", str(files / "text.csv"), "--text", "review", "--label", "sentiment",
                "--method", "llm", "--backend", "fake", "--filter-threshold", "1", "-o", str(out)) == 0
    assert len(pd.read_csv(out)) > 60


def test_uplift_table_and_text(files: Path) -> None:
    j, h = files / "u.json", files / "u.html"
    assert call("uplift", "table", str(files / "train.csv"), str(files / "test.csv"), "--target", "default",
                "--methods", "none,smote,synth", "--ratios", "1", "--repeats", "2", "--model", "copula",
                "--json", str(j), "--html", str(h)) == 0
    doc = json.loads(j.read_text())
    assert {r["method"] for r in doc["runs"]} == {"none", "smote", "synth"} and len(doc["runs"]) == 6
    assert "<img" in h.read_text()
    j2 = files / "t.json"
    assert call("uplift", "text", str(files / "text.csv"), str(files / "text.csv"), "--text", "review",
                "--label", "sentiment", "--methods", "none,eda", "--ratios", "2", "--repeats", "2",
                "--json", str(j2)) == 0
    assert json.loads(j2.read_text())["verdicts"][0]["method"] == "eda"


def test_cli_errors_are_one_line(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = call("augment", "table", str(files / "train.csv"), "--balance", "1:1", "-o", str(files / "x.csv"))
    assert code == 2 and "--balance needs --target" in capsys.readouterr().err
    code = call("uplift", "table", str(files / "train.csv"), str(files / "test.csv"), "--target", "default",
                "--methods", "none,magic", "--repeats", "1")
    assert code == 2 and "Unknown method" in capsys.readouterr().err


def test_augment_table_consistency_option(files: Path) -> None:
    out = files / "plain.csv"
    assert call("augment", "table", str(files / "train.csv"), "--target", "default", "--balance", "1:1",
                "--consistency", "0", "--seed", "0", "-o", str(out)) == 0
    counts = pd.read_csv(out)["default"].value_counts()
    assert counts["yes"] == counts["no"]
    assert call("augment", "table", str(files / "train.csv"), "--target", "default", "--consistency", "1.5",
                "-o", str(files / "bad.csv")) == 2
    assert not (files / "bad.csv").exists()
