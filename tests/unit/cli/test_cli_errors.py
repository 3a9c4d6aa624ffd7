"""Command-line mistakes get click's usage message and exit 2; bad tables and options a clear one-liner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulacra.cli.common import parse_assignments
from simulacra.cli.main import app, main
from simulacra.errors import InputError


def _leaf_commands(group=None, prefix=()):
    import typer.main

    group = group or typer.main.get_command(app)
    for name, cmd in getattr(group, "commands", {}).items():
        if getattr(cmd, "commands", None):
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = sorted(_leaf_commands())


def _run(argv, capsys):
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_command_is_listed():
    assert ("fit",) in COMMANDS and ("augment", "table") in COMMANDS and ("evaluate",) in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_unknown_option_prints_usage_and_exits_2(command, capsys):
    code, text = _run([*command, "--no-such-option"], capsys)
    assert code == 2, text
    assert "No such option" in text and "Usage" in text
    assert "SIMULACRA_DEBUG" not in text


def test_missing_argument_exits_2(capsys):
    code, text = _run(["fit"], capsys)
    assert code == 2 and "Missing argument" in text


def test_repeated_condition_means_any_of_the_values():
    assert parse_assignments(["sex=Male", "sex=Female", "age=30"], "--condition", repeats=True) == {
        "sex": ["Male", "Female"], "age": 30}
    with pytest.raises(InputError, match="gives 'depth' twice"):
        parse_assignments(["depth=2", "depth=3"], "--param")


@pytest.fixture()
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "sex": rng.choice(["Male", "Female"], 60, p=[0.8, 0.2])})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def test_sample_with_a_value_set(tmp_path, table, capsys):
    model = tmp_path / "m.model"
    assert _run(["fit", str(table), "-m", "copula", "-o", str(model)], capsys)[0] == 0
    out = tmp_path / "s.csv"
    code, text = _run(["sample", str(model), "-n", "200", "-o", str(out), "-c", "sex=Male", "-c", "sex=Female"], capsys)
    assert code == 0, text
    assert set(pd.read_csv(out)["sex"]) == {"Male", "Female"}


def test_balance_is_done_as_asked_or_refused(tmp_path, table, capsys):
    out = tmp_path / "o.csv"
    code, text = _run(["augment", "table", str(table), "-o", str(out), "-t", "sex", "--balance", "3:1",
                       "--model", "copula", "--seed", "0"], capsys)
    assert code == 0, text
    counts = pd.read_csv(out)["sex"].value_counts()
    real = pd.read_csv(table)["sex"].value_counts()
    assert counts["Male"] == real["Male"] and counts["Female"] == 3 * real["Male"]
    code, text = _run(["augment", "table", str(table), "-o", str(tmp_path / "x.csv"), "-t", "sex", "--balance", "1:0"], capsys)
    assert code == 2 and "Cannot read balance" in text and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("command", [["fit", "{p}", "-o", "{d}/m.model"], ["augment", "table", "{p}", "-o", "{d}/o.csv", "--ratio", "1"],
                                     ["evaluate", "{p}", "{p}"]])
def test_nested_and_binary_parquet_columns_are_refused_by_name(tmp_path, command, capsys):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "tags": [[1], [2, 3], []], "s": [{"a": 1}] * 3,
                             "blob": [b"\x00", b"\x01", b"\x02"]}), path)
    code, text = _run([c.format(p=path, d=tmp_path) for c in command], capsys)
    assert code == 2, text
    assert "'tags' holds nested values" in text and "'blob' holds binary values" in text and "'s' holds nested" in text


@pytest.mark.parametrize("extra", [["--entity", "id", "--order", "t"], ["--database"]], ids=["sequences", "database"])
def test_epsilon_is_refused_where_there_is_no_dp_model(tmp_path, capsys, extra):
    """Regression: --epsilon with --entity/--order or a folder of tables was ignored, and a model with no
    privacy guarantee was written as if it had one."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.repeat(np.arange(20), 5), "t": np.tile(np.arange(5), 20), "x": rng.normal(size=100)})
    if extra == ["--database"]:
        src = tmp_path / "db"
        src.mkdir()
        frame.to_csv(src / "a.csv", index=False)
        frame.drop_duplicates("id").to_csv(src / "b.csv", index=False)
        extra = []
    else:
        src = tmp_path / "s.csv"
        frame.to_csv(src, index=False)
    model = tmp_path / "m.model"
    code, text = _run(["fit", str(src), *extra, "--epsilon", "1", "-o", str(model)], capsys)
    assert code != 0 and "no DP model" in text and not model.exists()


@pytest.mark.parametrize(("extra", "kind", "named"), [
    (["--entity", "id", "--order", "t", "--sample-rows", "5"], "a table of sequences", "--sample-rows"),
    (["--entity", "id", "--order", "t", "--no-rules"], "a table of sequences", "--rules/--no-rules"),
    (["--static", "g"], "a single table", "--static"),
    (["--fixed", "airports"], "a single table", "--fixed"),
])
def test_fit_refuses_an_option_it_would_ignore(tmp_path, capsys, extra, kind, named):
    """The sequence path of fit ignored --metadata, --rules, --sample-rows and --max-rows-in-memory without a
    word (and a single table ignored --static and --fixed): a user who asked for them got a model without them."""
    data = tmp_path / "t.csv"
    data.write_text("id,t,g,x\n" + "".join(f"{i // 3},{i % 3},a,{i}\n" for i in range(12)))
    code, out = _run(["fit", str(data), "-o", str(tmp_path / "m.model"), *extra], capsys)
    assert code != 0 and not (tmp_path / "m.model").exists()
    text = " ".join(out.split())
    assert f"not used when fitting {kind}" in text and named in text


def test_fit_on_a_folder_refuses_sample_rows(tmp_path, capsys):
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "parents.csv").write_text("pid,a\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    (folder / "children.csv").write_text("cid,pid,b\n" + "".join(f"{i},{i % 10},{i}\n" for i in range(30)))
    code, out = _run(["fit", str(folder), "-o", str(tmp_path / "db.model"), "--sample-rows", "5", "--model", "autoreg"],
                     capsys)
    assert code != 0 and not (tmp_path / "db.model").exists()
    text = " ".join(out.split())
    assert "--sample-rows, --model are not used when fitting a folder of related tables" in text


def test_warnings_are_one_line_without_the_source_line(tmp_path):
    """Regression: a warning from a command printed Python's form, the source file path, the warning class and
    the line of code that raised it (``synth.fit(frame)``), to a user who asked for none of that."""
    import os
    import subprocess
    import sys

    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.integers(0, 3, 200), "b": rng.normal(size=200)}).to_csv(data, index=False)
    argv = [sys.executable, "-m", "simulacra.cli.main", "fit", str(data), "--epsilon", "0.1", "--delta", "1e-7",
            "-o", str(tmp_path / "m.model")]
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    env.pop("SIMULACRA_DEBUG", None)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "too few" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: 200 rows are too few"), done.stderr
    assert "UserWarning" not in done.stderr and "synth.fit" not in done.stderr and ".py:" not in done.stderr


@pytest.mark.parametrize(("extra", "given", "message"), [
    (["--entity", "id", "--order", "t"], "sequence.min_samples_leaf=7",
     "the 'sequence.' prefix sets an option of the sequence children's model when fitting a folder of related tables; "
     "a table of sequences is fitted by SequenceSynthesizer: give it as -p min_samples_leaf=VALUE"),
    (["--entity", "id", "--order", "t"], "nope=1",
     "-p nope: not a parameter of SequenceSynthesizer (which fits a table of sequences); give one of min_category_count, "
     "min_samples_leaf, context, entity_volatility, common_factor"),
    (["--entity", "id", "--order", "t"], "order=t", "-p order: give it as --order instead"),
    (["--model", "copula"], "sequence.common_factor=true",
     "a single table is fitted by GaussianCopulaSynthesizer: GaussianCopulaSynthesizer takes "),
    (["--model", "autoreg"], "sequence.min_samples_leaf=7", "give it as -p min_samples_leaf=VALUE"),
    ([], "random_state=3", "-p random_state: give it as --seed instead"),
    # regression: -p epsilon=0.5 beside --epsilon 4 was silently overridden (the model was fitted at ε = 4)
    (["--epsilon", "4"], "epsilon=0.5", "-p epsilon: give it as --epsilon instead"),
    (["--epsilon", "4", "--delta", "1e-6"], "delta=1e-9", "-p delta: give it as --delta instead"),
], ids=["sequence-prefix", "sequence-unknown", "sequence-option", "table-prefix", "table-prefix-known", "seed",
        "epsilon-twice", "delta-twice"])
def test_fit_refuses_a_model_parameter_it_does_not_take(tmp_path, capsys, extra, given, message):
    """Regression: ``-p sequence.NAME`` (meant for a folder's sequence children) on a single table or an
    --entity/--order fit, or any name the model does not take, ended in a TypeError from the model's constructor,
    after the table was read and its rules found."""
    data = tmp_path / "t.csv"
    data.write_text("id,t,g,x\n" + "".join(f"{i // 3},{i % 3},a,{i}\n" for i in range(12)))
    code, out = _run(["fit", str(data), "-o", str(tmp_path / "m.model"), *extra, "-p", given], capsys)
    text = " ".join(out.split())
    assert code == 2 and message in text and "TypeError" not in text, text
    assert "Reading" not in text and not (tmp_path / "m.model").exists()  # refused before the data is read
    assert len(out.strip().splitlines()) == 1


def test_fit_passes_the_model_parameters_it_takes(tmp_path, capsys):
    import simulacra

    data = tmp_path / "t.csv"
    data.write_text("id,t,g,x\n" + "".join(f"{i // 3},{i % 3},a,{i}\n" for i in range(30)))
    code, out = _run(["fit", str(data), "-o", str(tmp_path / "s.model"), "--entity", "id", "--order", "t",
                      "-p", "min_samples_leaf=7"], capsys)
    assert code == 0, out
    assert simulacra.load(tmp_path / "s.model").min_samples_leaf == 7
    # a sequence model is sampled in one process: the chunked job's options are refused (they were ignored)
    code, out = _run(["sample", str(tmp_path / "s.model"), "-n", "3", "-o", str(tmp_path / "s.csv"), "--workers", "2",
                      "--overwrite"], capsys)
    text = " ".join(out.split())
    assert code == 2 and "--workers, --overwrite apply to a single table's chunked sampling job; a sequence model" in text
    assert not (tmp_path / "s.csv").exists()
    code, out = _run(["fit", str(data), "-o", str(tmp_path / "a.model"), "--model", "autoreg", "--no-rules",
                      "-p", "order=hubs"], capsys)
    assert code == 0, out
    assert simulacra.load(tmp_path / "a.model").order == "hubs"
