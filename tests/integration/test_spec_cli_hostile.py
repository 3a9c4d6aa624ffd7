"""Hostile or broken input to the spec commands: refused with exit 2 and a message, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulacra.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), " ".join((out.out + out.err).split())


def _spec(tmp_path: Path, column: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"tables:\n  t:\n    rows: 10\n    columns:\n      a: {column}\n")
    return path


def test_generate_refuses_negative_rows(tmp_path, capsys):
    out = tmp_path / "out.csv"
    code, text = run(["generate", str(_spec(tmp_path, "{kind: normal}")), "-n", "-5", "-o", str(out)], capsys)
    assert code == 2 and "-5" in text and not out.exists()


def test_check_without_trial_rows_still_refuses_runaway_formulas(tmp_path, capsys):
    code, text = run(["spec", "check", str(_spec(tmp_path, "'= 10**10**10'")), "--trial-rows", "0"], capsys)
    assert code == 2 and "integer overflow" in text and "is valid" not in text
    code, text = run(["spec", "check", str(_spec(tmp_path, "'= row ** 100'"))], capsys)
    assert code == 2 and "integer overflow" in text


def test_external_files_need_the_flag(tmp_path, capsys):
    (tmp_path / "secret.csv").write_text("v\nhunter2\n")
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = _spec(folder, "{kind: empirical, file: ../secret.csv, column: v}")
    out = tmp_path / "out.csv"
    code, text = run(["generate", str(spec), "-o", str(out)], capsys)
    assert code == 2 and "outside the spec's folder" in text and not out.exists()
    code, _ = run(["generate", str(spec), "-o", str(out), "--allow-external-files"], capsys)
    assert code == 0 and "hunter2" in out.read_text()
    assert run(["spec", "check", str(spec), "--allow-external-files"], capsys)[0] == 0


def test_generate_into_an_existing_folder_of_another_tool_is_refused(tmp_path, capsys):
    # was IsADirectoryError (exit 1) once every row had been made
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "part-000000.parquet").write_text("another tool's file")
    code, text = run(["generate", str(_spec(tmp_path, "{kind: normal}")), "-o", f"{folder}/"], capsys)
    assert code == 2 and "did not write" in text and "DEBUG" not in text
    assert sorted(p.name for p in folder.iterdir()) == ["part-000000.parquet"]
    assert (folder / "part-000000.parquet").read_text() == "another tool's file"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary left beside it


def test_generate_to_a_new_folder_is_a_job(tmp_path, capsys):
    # `-o out/` wrote a Parquet file named `out` (the command line drops the trailing '/')
    out = tmp_path / "out"
    code, _ = run(["generate", str(_spec(tmp_path, "{kind: normal}")), "-o", f"{out}/"], capsys)
    assert code == 0 and out.is_dir()
    assert {"_simulacra_job.json", "part-000000.parquet"} <= {p.name for p in out.iterdir()}
