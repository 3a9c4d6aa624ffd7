"""One name for a call's seed (random_state) and one argument order (source, output, n_rows); the old
spellings keep working with a DeprecationWarning (issue 13)."""

from __future__ import annotations

import pandas as pd
import pytest

from simulacra.scale.api import run_sample_job, sample_to


def test_seed_is_a_deprecated_spelling_of_random_state(small_synth, tmp_path):
    expected = small_synth.sample_range(0, 50, random_state=4)
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert small_synth.sample_range(0, 50, seed=4).equals(expected)
    with pytest.warns(DeprecationWarning, match="random_state"):
        chunks = list(small_synth.iter_samples(50, 20, seed=4))
    assert pd.concat(chunks, ignore_index=True).equals(expected)
    with pytest.warns(DeprecationWarning, match="random_state"):
        result = sample_to(small_synth, tmp_path / "a.csv", 50, workers=1, seed=4)
    assert result.seed == 4
    with pytest.raises(TypeError, match="both"):
        small_synth.sample_range(0, 5, seed=1, random_state=2)


def test_sample_range_needs_a_seed(small_synth):
    from simulacra.errors import InputError

    with pytest.raises(InputError, match="random_state"):
        small_synth.sample_range(0, 5)


def test_run_sample_job_takes_sample_to_order_and_the_old_one(small_synth, tmp_path):
    new = run_sample_job(small_synth, tmp_path / "new.parquet", 300, workers=1, random_state=2)
    with pytest.warns(DeprecationWarning, match="source, out, n_rows"):
        old = run_sample_job(small_synth, 300, tmp_path / "old.parquet", workers=1, random_state=2)
    assert new.rows == old.rows == 300
    pd.testing.assert_frame_equal(pd.read_parquet(new.path), pd.read_parquet(old.path))


def test_run_generate_job_takes_the_same_order(tmp_path):
    from simulacra.scale.spec import run_generate_job
    from simulacra.spec import Spec

    spec = Spec.from_yaml("name: s\ntables:\n  t:\n    rows: 10\n    columns:\n      x: {kind: normal, mean: 0, std: 1}\n")
    a = run_generate_job(spec, tmp_path / "a.csv", 40, random_state=1, progress=False)
    with pytest.warns(DeprecationWarning):
        b = run_generate_job(spec, 40, tmp_path / "b.csv", seed=1, progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(a["t"].path), pd.read_csv(b["t"].path))


def test_the_deprecated_model_sample_to_still_writes_what_sample_to_writes(small_synth, tmp_path):
    with pytest.warns(DeprecationWarning, match=r"simulacra\.sample_to\(model, path, n_rows"):
        old = small_synth.sample_to(tmp_path / "old.csv", 120, workers=1, random_state=3, chunk_rows=50)
    new = sample_to(small_synth, tmp_path / "new.csv", 120, workers=1, random_state=3, chunk_rows=50)
    assert type(old) is type(new) and old.rows == new.rows == 120
    pd.testing.assert_frame_equal(pd.read_csv(old.path), pd.read_csv(new.path))
