from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from simulacra.cli.main import app, main
from simulacra.testing import example_table

runner = CliRunner()


@pytest.fixture()
def table(tmp_path):
    path = tmp_path / "real.csv"
    example_table().to_csv(path, index=False)
    return path


def test_fit_sample_inspect(tmp_path, table):
    model = tmp_path / "m.model"
    res = runner.invoke(app, ["fit", str(table), "--model", "copula", "--seed", "1", "-o", str(model)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "syn.parquet"
    res = runner.invoke(app, ["sample", str(model), "-n", "500", "--seed", "7", "-o", str(out), "-c", "city=Oslo"])
    assert res.exit_code == 0, res.output
    syn = pd.read_parquet(out)
    assert len(syn) == 500 and (syn["city"] == "Oslo").all()
    again = tmp_path / "again.parquet"
    runner.invoke(app, ["sample", str(model), "-n", "500", "--seed", "7", "-o", str(again), "-c", "city=Oslo"])
    pd.testing.assert_frame_equal(syn, pd.read_parquet(again))
    res = runner.invoke(app, ["inspect", str(model), "--json"])
    info = json.loads(res.output)
    assert info["manifest"]["model"] == "copula" and "city" in info["metadata"]["columns"]
    res = runner.invoke(app, ["inspect", str(model)])
    assert res.exit_code == 0 and "Columns" in res.output


def test_sample_to_csv_keeps_date_format(tmp_path):
    src = tmp_path / "d.csv"
    pd.DataFrame({"d": ["2021-03-04", "2021-05-06", "2022-01-02"] * 10, "x": range(30)}).to_csv(src, index=False)
    model = tmp_path / "m.model"
    assert runner.invoke(app, ["fit", str(src), "-m", "copula", "-o", str(model)]).exit_code == 0
    out = tmp_path / "s.csv"
    assert runner.invoke(app, ["sample", str(model), "-n", "20", "-o", str(out)]).exit_code == 0
    assert pd.read_csv(out)["d"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()


def test_metadata_and_models_commands(tmp_path, table):
    meta = tmp_path / "meta.json"
    assert runner.invoke(app, ["metadata", str(table), "-o", str(meta)]).exit_code == 0
    assert json.loads(meta.read_text())["columns"]["city"]["type"] == "categorical"
    res = runner.invoke(app, ["models"])
    assert "copula" in res.output and "(default)" in res.output


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("a,b\n", "no rows"),
        ("a,a\n1,2\n", "duplicate column names"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, content, message, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(bad), "-o", str(tmp_path / "m.model")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m.model").exists()


def test_real_process_help_and_error():
    exe = [sys.executable, "-m", "simulacra.cli.main"]
    help_ = subprocess.run([*exe, "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "fit" in help_.stdout and "demo" in help_.stdout
    missing = subprocess.run([*exe, "sample", "nope.model", "-o", "x.csv"], capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_models_signed_with_a_key_file(tmp_path, table, monkeypatch, capsys):
    monkeypatch.delenv("SIMULACRA_MODEL_KEY", raising=False)
    key = tmp_path / "model.key"
    key.write_text("team secret\n")
    signed, unsigned = tmp_path / "signed.model", tmp_path / "plain.model"
    base = ["fit", str(table), "--model", "copula", "--seed", "1"]
    assert runner.invoke(app, [*base, "-o", str(signed), "--key-file", str(key)]).exit_code == 0
    assert runner.invoke(app, [*base, "-o", str(unsigned)]).exit_code == 0
    out = tmp_path / "rows.csv"
    res = runner.invoke(app, ["sample", str(signed), "-n", "20", "-o", str(out), "--key-file", str(key)])
    assert res.exit_code == 0, res.output

    def refused(args, message):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        err = capsys.readouterr().err
        assert exit_info.value.code != 0 and message in " ".join(err.split()) and "Traceback" not in err

    refused(["sample", str(unsigned), "-n", "20", "-o", str(out), "--key-file", str(key)], "is not signed")
    monkeypatch.setenv("SIMULACRA_MODEL_KEY", "another secret")
    refused(["inspect", str(signed)], "does not match the key")


def test_inspect_the_default_model_shows_its_held_out_choices(tmp_path, table):
    """``inspect`` of an ``autoreg`` model printed its table, then failed on the DP guarantee it does not have."""
    from simulacra.tabular.autoreg import AutoregressiveSynthesizer

    for complexity in ("fixed", "holdout"):
        model = AutoregressiveSynthesizer(random_state=0, complexity=complexity).fit(pd.read_csv(table))
        path = model.save(tmp_path / f"{complexity}.model")
        res = runner.invoke(app, ["inspect", str(path)])
        assert res.exit_code == 0 and "Columns" in res.output and "Guarantee" not in res.output
        columns = json.loads(runner.invoke(app, ["inspect", str(path), "--json"]).output)["model"]["columns"]
        chosen = [c["complexity"] for c in columns.values() if "complexity" in c]
        assert (len(chosen) > 0) == (complexity == "holdout")
        assert all(set(c) == {"max_depth", "floor"} for c in chosen)
