"""`simulacra metadata / fit / sample` on a folder of related tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simulacra.cli.main import app, main
from simulacra.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tabular"))
from test_relational import _shop  # noqa: E402

runner = CliRunner()


def _folder(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """The tables written as one CSV file each into ``tmp_path/shop``."""
    shop = tmp_path / "shop"
    shop.mkdir()
    for name, frame in tables.items():
        frame.to_csv(shop / f"{name}.csv", index=False)
    return shop


def test_folder_metadata_fit_sample(tmp_path: Path) -> None:
    shop = _folder(tmp_path, _shop())
    meta = tmp_path / "shop.meta.json"
    res = runner.invoke(app, ["metadata", str(shop), "-o", str(meta)])
    assert res.exit_code == 0, res.output
    doc = json.loads(meta.read_text())
    doc["relationships"] = [r for r in doc["relationships"] if r["child_key"] != ["sku"]]  # a user's edit
    meta.write_text(json.dumps(doc))
    model = tmp_path / "shop.model"
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "--seed", "0", "-o", str(model),
                              "--fixed", "customers"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "synthetic_shop"
    res = runner.invoke(app, ["sample", str(model), "--scale", "0.5", "--seed", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    fake = {p.stem: pd.read_csv(p) for p in out.glob("*.csv")}
    assert set(fake) == {"customers", "orders", "products", "lines"}
    assert len(fake["customers"]) == 300 and len(fake["products"]) == 20  # a fixed table is not scaled
    assert fake["orders"]["customer_id"].isin(fake["customers"]["customer_id"]).mean() > 0.9
    assert 0.3 < len(fake["orders"]) / len(_shop()["orders"]) < 0.7  # children of a fixed table are scaled
    assert fake["lines"]["order_id"].isin(fake["orders"]["order_id"]).all()
    assert fake["lines"]["sku"].dropna().isin(fake["products"]["sku"]).mean() < 0.5  # the edit removed that link
    res = runner.invoke(app, ["inspect", str(model)])
    assert res.exit_code == 0 and "generated_by" in res.output
    # sizing options the model does not use are refused (-n and -c were ignored without a word)
    for extra, said in ((["-n", "100"], "size the database with --scale"),
                        (["-c", "age=30"], "--condition does not apply to a model of related tables"),
                        (["--workers", "4", "--chunk-rows", "100"], "--workers, --chunk-rows apply to a single table's"),
                        (["--engine", "ray"], "--engine applies to a single table's chunked sampling job; a model of related")):
        res = runner.invoke(app, ["sample", str(model), *extra, "-o", str(tmp_path / "again")])
        assert isinstance(res.exception, InputError) and said in str(res.exception)  # exit code 2 through main()
    table = tmp_path / "customers.model"
    assert runner.invoke(app, ["fit", str(shop / "customers.csv"), "-o", str(table)]).exit_code == 0
    res = runner.invoke(app, ["sample", str(table), "--scale", "0.5", "-o", str(tmp_path / "c.csv")])
    assert isinstance(res.exception, InputError) and "--scale applies to a model of related tables" in str(res.exception)


def test_folder_with_a_broken_key_gets_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    tables = _shop()
    meta = tmp_path / "m.json"
    from simulacra.metadata import MultiTableMetadata

    MultiTableMetadata.detect(tables).save(meta)
    tables["customers"] = pd.concat([tables["customers"], tables["customers"].head(3)])
    for name, frame in tables.items():
        frame.to_csv(shop / f"{name}.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["fit", str(shop), "--metadata", str(meta), "-o", str(tmp_path / "x.model")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Primary key customer_id of 'customers' is not unique" in err and "Traceback" not in err
    assert not (tmp_path / "x.model").exists()


def test_metadata_declares_a_sequence_child(tmp_path: Path) -> None:
    from test_relational_sequence import _shop as _histories

    shop = _folder(tmp_path, _histories(n=80))
    meta = tmp_path / "shop.meta.json"
    res = runner.invoke(app, ["metadata", str(shop), "--sequence", "orders.customer_id:date", "-o", str(meta)])
    assert res.exit_code == 0, res.output
    assert "orders: histories of customer_id ordered by date; static: channel" in res.output
    doc = json.loads(meta.read_text())["tables"]["orders"]
    assert doc["sequence"] == ["customer_id"] and doc["order"] == "date" and doc["statics"] == ["channel"]
    model, out = tmp_path / "shop.model", tmp_path / "out"
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "--seed", "0", "-o", str(model)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["sample", str(model), "--seed", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    orders = pd.read_csv(out / "orders.csv", parse_dates=["date"])
    assert orders.groupby("customer_id")["date"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()
    # the sequence children's options as plain -p NAME=VALUE
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "--seed", "0", "-p", "entity_volatility=true",
                              "-o", str(tmp_path / "vol.model")])
    assert res.exit_code == 0, res.output
    import simulacra

    with_option = simulacra.load(tmp_path / "vol.model")
    assert with_option.get_params()["sequence_params"] == {"entity_volatility": True}
    assert with_option.models_["orders"].entity_volatility is True
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "-p", "entity_volatility=true", "-p",
                              "sequence_params=x", "-o", str(tmp_path / "bad.model")])  # a TypeError before
    assert "sequence_params must be a dict" in str(res.exception), res.output  # one line from the model
    res = runner.invoke(app, ["metadata", str(shop), "--sequence", "orders"])
    assert res.exit_code != 0 and "TABLE.FOREIGN_KEY" in str(res.exception)


def test_sequence_children_options_as_sequence_dot_name(tmp_path: Path) -> None:
    """``-p sequence.NAME=VALUE`` reaches every sequence child's model; a wrong name is refused, listing the options."""
    import simulacra
    from test_relational_sequence import _shop as _histories

    shop = _folder(tmp_path, _histories(n=60))
    meta = tmp_path / "shop.meta.json"
    assert runner.invoke(app, ["metadata", str(shop), "--sequence", "orders.customer_id:date", "-o", str(meta)]).exit_code == 0
    model = tmp_path / "leaf.model"
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "--seed", "0", "-p", "sequence.min_samples_leaf=7",
                              "-p", "sequence.common_factor=false", "-o", str(model)])
    assert res.exit_code == 0, res.output
    fitted = simulacra.load(model)
    assert fitted.get_params()["sequence_params"] == {"min_samples_leaf": 7, "common_factor": False}
    assert fitted.models_["orders"].min_samples_leaf == 7 and fitted.models_["orders"].common_factor is False
    bad = {"sequence.leaf=7": "the options of the sequence children's model are sequence.entity_volatility, "
                              "sequence.common_factor, sequence.min_samples_leaf",
           "min_samples_leaf=7": "not a parameter of the relational model (for the sequence children's model: "
                                 "-p sequence.min_samples_leaf=...)",
           "seed=3": "give one of parents, max_rows, min_category_count",
           "random_state=3": "give it as --seed",
           "sequence.min_samples_leaf=-1": "min_samples_leaf must be a whole number ≥ 1",
           "sequence.entity_volatility=maybe": "sequence.entity_volatility must be true or false"}
    for given, message in bad.items():
        res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "-p", given, "-o", str(tmp_path / "x.model")])
        assert res.exit_code != 0 and message in str(res.exception), (given, res.output, res.exception)
    res = runner.invoke(app, ["fit", str(shop), "--metadata", str(meta), "-p", "entity_volatility=true", "-p",
                              "sequence.entity_volatility=false", "-o", str(tmp_path / "x.model")])
    assert "twice (entity_volatility and sequence.entity_volatility)" in str(res.exception)
    assert not (tmp_path / "x.model").exists()


def test_sequence_options_without_a_sequence_child_warn(tmp_path: Path) -> None:
    shop = _folder(tmp_path, _shop())
    with pytest.warns(UserWarning, match=r"sequence_params \(min_samples_leaf\) had no effect: no table of this database "
                                         "is a sequence child"):
        res = runner.invoke(app, ["fit", str(shop), "--seed", "0", "-p", "sequence.min_samples_leaf=7",
                                  "-o", str(tmp_path / "shop.model")])
    assert res.exit_code == 0, res.output


def test_fit_help_names_the_sequence_options() -> None:
    res = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0 and "sequence.NAME=VALUE" in res.output and "min_samples_leaf" in res.output


def test_fit_help_names_a_folder_of_tables_as_its_input() -> None:
    """`simulacra fit --help` described its argument as one table file only."""
    res = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "or a folder of related tables, one file per table" in " ".join(res.output.split())


def _help(*command: str) -> str:
    res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    return " ".join(res.output.replace("│", " ").split())


def test_help_texts_say_what_each_command_does_with_its_options() -> None:
    """Help texts that spoke of an option or a file the command does not have."""
    meta = _help("metadata")
    assert "With --metadata" not in meta and "write them into the JSON" in meta and "Not for a folder of tables" in meta
    sample = _help("sample")
    assert "a folder for a model of related tables" in sample and "``" not in sample and "csv for a folder" in sample
    for command in (("image", "evaluate"), ("augment", "image"), ("uplift", "image")):
        text = _help(*command)  # no model file, no model: the images are worked on
        assert "Not saved in the model file" not in text and "images the model uses" not in text, command
        assert "Side of the square images worked on" in text and ("--device" not in text or "never saved" in text)
    assert "default: the model's, 20 unless" in _help("image", "sample")


def test_sampled_tables_write_dates_as_they_were_read(tmp_path: Path) -> None:
    """Regression: a sampled database wrote every date in ISO (``01/03/2021`` came back as ``2021-03-01``, a
    sequence child's ``2024-01-04T12:00:00Z`` as ``2024-01-04 12:00:00+00:00``), unlike a single table's sample."""
    import numpy as np

    rng = np.random.default_rng(0)
    users = pd.DataFrame({"user_id": range(60), "age": rng.integers(18, 80, 60),
                          "joined": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, 60), unit="D"))
                          .strftime("%d/%m/%Y")})
    starts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 100, 60), unit="h")
    events = pd.DataFrame([{"user_id": u, "ts": (t + pd.Timedelta(hours=3 * k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "v": float(rng.normal())} for u, t in enumerate(starts) for k in range(4)])
    shop = _folder(tmp_path, {"users": users, "events": events})
    meta, model, out = tmp_path / "m.json", tmp_path / "m.model", tmp_path / "out"
    for argv in (["metadata", str(shop), "--sequence", "events.user_id:ts", "-o", str(meta)],
                 ["fit", str(shop), "--metadata", str(meta), "--seed", "0", "-o", str(model)],
                 ["sample", str(model), "--seed", "1", "-o", str(out)]):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, res.output
    joined = pd.read_csv(out / "users.csv", dtype=str)["joined"].dropna()
    ts = pd.read_csv(out / "events.csv", dtype=str)["ts"]
    assert len(joined) and joined.str.fullmatch(r"\d\d/\d\d/\d{4}").all(), joined.head().tolist()
    assert len(ts) and ts.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all(), ts.head().tolist()
