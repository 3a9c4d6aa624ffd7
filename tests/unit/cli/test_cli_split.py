"""`simulacra split` on a table file and on a folder of related tables."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from simulacra.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tabular"))
from test_relational import _shop  # noqa: E402
from test_split import _events  # noqa: E402

runner = CliRunner()


def _shop_folder(tmp_path: Path, notes: bool = False) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The shop's tables as CSV files in ``tmp_path/shop`` (with a note ``NAME.md`` beside each)."""
    shop = tmp_path / "shop"
    shop.mkdir()
    tables = _shop()
    for name, frame in tables.items():
        frame.to_csv(shop / f"{name}.csv", index=False)
        if notes:
            (shop / f"{name}.md").write_text(f"# notes on {name}\n")
    return shop, tables


def test_a_folder_splits_into_train_and_holdout_folders(tmp_path: Path) -> None:
    shop, tables = _shop_folder(tmp_path)
    out = tmp_path / "parts"
    res = runner.invoke(app, ["split", str(shop), "--holdout", "0.25", "--seed", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    for side in ("train", "holdout"):
        assert sorted(p.name for p in (out / side).iterdir()) == sorted(f"{n}.csv" for n in tables)
    train = {p.stem: pd.read_csv(p) for p in (out / "train").glob("*.csv")}
    hold = {p.stem: pd.read_csv(p) for p in (out / "holdout").glob("*.csv")}
    assert len(hold["customers"]) == 75 and len(train["customers"]) == 225
    assert "customers: 225 train, 75 holdout (split at random)" in res.output
    assert "products: 40 train, 40 holdout (copied to both sides)" in res.output
    assert "evaluate with --fixed products" in " ".join(res.output.split())
    assert hold["lines"]["order_id"].isin(hold["orders"]["order_id"]).all()
    assert train["lines"]["order_id"].isin(train["orders"]["order_id"]).all()
    again = runner.invoke(app, ["split", str(shop), "-o", str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    bad = runner.invoke(app, ["split", str(shop), "--holdout", "1.5", "-o", str(tmp_path / "other")])
    assert "between 0 and 1" in str(bad.exception) and not (tmp_path / "other").exists()
    assert "apply to one table" in str(runner.invoke(app, ["split", str(shop), "--entity", "x", "-o",
                                                          str(tmp_path / "x")]).exception)


def test_a_table_of_histories_splits_by_entity(tmp_path: Path) -> None:
    df = _events(100)
    path = tmp_path / "events.parquet"
    df.to_parquet(path)
    out = tmp_path / "parts"
    res = runner.invoke(app, ["split", str(path), "--entity", "id", "--holdout", "0.2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    train, hold = pd.read_parquet(out / "train" / "events.parquet"), pd.read_parquet(out / "holdout" / "events.parquet")
    assert hold["id"].nunique() == 20 and not set(train["id"]) & set(hold["id"])
    assert len(train) + len(hold) == len(df)
    assert "(20 of 100 entities held out)" in res.output
    assert "apply to a folder" in str(runner.invoke(app, ["split", str(path), "--fixed", "a", "-o",
                                                         str(tmp_path / "x")]).exception)


def test_a_note_beside_a_table_is_not_taken_for_it(tmp_path: Path) -> None:
    # regression: 'orders.md' beside 'orders.csv' named the file written for the table orders: the split
    # failed after splitting ("Cannot tell the format of 'parts/train/orders.md'"), leaving a partial output
    shop, tables = _shop_folder(tmp_path, notes=True)
    out = tmp_path / "parts"
    res = runner.invoke(app, ["split", str(shop), "--seed", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    for side in ("train", "holdout"):
        assert sorted(p.name for p in (out / side).iterdir()) == sorted(f"{n}.csv" for n in tables)
