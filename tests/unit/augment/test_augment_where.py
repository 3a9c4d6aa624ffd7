"""`--where` / ``where=`` filters go through the safe expression language, never ``DataFrame.eval``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.augment import mix_table
from simulacra.augment.tables import sample_query
from simulacra.errors import ExpressionError

EXPLOIT = "x < 0 and @pd.io.common.os.system('touch PWNED') == 0"


class Replay:
    """A fitted 'synthesizer' that replays rows of a table (no fitting cost)."""

    supports_conditions = False
    is_fitted = True

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data

    def fit(self, data: pd.DataFrame) -> Replay:
        return self

    def sample(self, n: int, random_state: int | None = None, conditions: object = None) -> pd.DataFrame:
        return self.data.sample(n, replace=True, random_state=random_state).reset_index(drop=True)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(["a", "b"], 300)})


def test_mix_table_and_sample_query_refuse_code(table, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError):
        mix_table(table, ratio=1.0, where=EXPLOIT, synthesizer=Replay(table))
    with pytest.raises(ExpressionError):
        sample_query(Replay(table), 10, EXPLOIT, random_state=0)
    assert not (tmp_path / "PWNED").exists()


def test_where_filters_keep_working(table):
    out = mix_table(table, ratio=1.0, where="x > 0.5 and g == 'a'", synthesizer=Replay(table), random_state=0)
    new = out[out.augmentation == "synthetic"]
    assert len(new) == int(((table.x > 0.5) & (table.g == "a")).sum())
    assert ((new.x > 0.5) & (new.g == "a")).all()
    rows = sample_query(Replay(table), 25, "g in ['b'] and not x > 0", random_state=1)
    assert len(rows) == 25 and (rows.g == "b").all() and (rows.x <= 0).all()


def test_missing_column_is_named_before_fitting(table):
    class Unfittable(Replay):
        is_fitted = False

        def fit(self, data: pd.DataFrame) -> Replay:
            raise AssertionError("fitted before the filter was checked")

    with pytest.raises(ExpressionError, match="names column 'gg' \\(did you mean 'g'\\?\\).*columns: x, g"):
        mix_table(table, ratio=1.0, where="gg == 'a'", synthesizer=Unfittable(table))


def _cli(*args: str) -> int:
    from simulacra.cli.main import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_where_cannot_run_code(table, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    table.to_csv("real.csv", index=False)
    assert _cli("augment", "table", "real.csv", "-o", "out.csv", "--ratio", "1", "--where", EXPLOIT) != 0
    assert not Path("PWNED").exists() and not Path("out.csv").exists()
    capsys.readouterr()
    assert _cli("augment", "table", "real.csv", "-o", "out.csv", "--ratio", "1", "--where", "gx > 1") != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "names column 'gx'" in err and "columns: x, g" in err and "SIMULACRA_DEBUG" not in err
