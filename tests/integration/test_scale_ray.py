"""The Ray engine, in local mode on this machine: same rows as local processes, partitioned Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulacra.scale.api import sample_to

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def synth():
    from simulacra.tabular.copula import GaussianCopulaSynthesizer

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(["a", "b"], 200)})
    return GaussianCopulaSynthesizer(random_state=0).fit(frame)


def test_ray_writes_the_same_rows_as_local_processes(tmp_path, ray_local, synth):
    n = 30_000
    result = sample_to(synth, f"{tmp_path}/ray/", n, chunk_rows=5_000, engine="ray", random_state=99, progress=False)
    assert result.engine == "ray" and result.chunks == 6
    parts = sorted(p.name for p in (tmp_path / "ray").glob("part-*.parquet"))
    assert len(parts) == 6 and (tmp_path / "ray" / "_SUCCESS").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray"), synth.sample_range(0, n, random_state=99))


def test_ray_job_resumes(tmp_path, ray_local, synth):
    out = f"{tmp_path}/r/"
    sample_to(synth, out, 5_000, chunk_rows=1_000, engine="ray", random_state=1, progress=False)
    (tmp_path / "r" / "part-000003.parquet").unlink()
    (tmp_path / "r" / "_SUCCESS").unlink()
    again = sample_to(synth, out, 5_000, chunk_rows=1_000, engine="ray", random_state=1, progress=False)
    assert (again.chunks_made, again.chunks_resumed) == (1, 4)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "r"), synth.sample_range(0, 5_000, random_state=1))


def test_ray_single_file_output(tmp_path, ray_local, synth):
    result = sample_to(synth, tmp_path / "rows.jsonl", 3_000, chunk_rows=1_000, engine="ray", random_state=5, progress=False)
    back = pd.read_json(result.path, lines=True)
    expected = synth.sample_range(0, 3_000, random_state=5)
    np.testing.assert_allclose(back["x"].to_numpy(), expected["x"].to_numpy())
    assert back["g"].tolist() == expected["g"].tolist()


def test_to_ray_dataset_gives_the_same_rows_and_writes_parquet(tmp_path, ray_local, synth):
    from simulacra.scale.ray_data import to_ray_dataset

    ds = to_ray_dataset(synth, 9_000, chunk_rows=4_000, random_state=8)
    ds.write_parquet(str(tmp_path / "ds"))
    back = pd.read_parquet(tmp_path / "ds")
    expected = synth.sample_range(0, 9_000, random_state=8)
    assert len(back) == 9_000
    pd.testing.assert_frame_equal(
        back.sort_values("x").reset_index(drop=True), expected.sort_values("x").reset_index(drop=True)
    )
