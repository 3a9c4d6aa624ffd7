"""``simulacra evaluate`` writes the JSON and HTML and prints the summary; bad input is one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulacra.cli.main import main


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "c": rng.choice(list("ab"), n), "y": np.where(x > 0, "p", "n")})


def test_cli_writes_reports(tmp_path, capsys):
    for name, seed in (("real", 0), ("syn", 1), ("hold", 2)):
        _table(400, seed).to_csv(tmp_path / f"{name}.csv", index=False)
    args = ["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "syn.csv"), "--holdout", str(tmp_path / "hold.csv"),
            "--target", "y", "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"),
            "--sensitive", "c", "--secret", "c"]
    main(args)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["info"]["sensitive"] == ["c"] and data["tstr"] is not None
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert "quality" in capsys.readouterr().out


def test_cli_bad_input_exit_code(tmp_path, capsys):
    _table(50, 0).to_csv(tmp_path / "real.csv", index=False)
    _table(50, 1).drop(columns="c").to_csv(tmp_path / "syn.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "syn.csv")])
    assert exc.value.code == 2
    assert "missing from the synthetic table: c" in capsys.readouterr().err
