"""The Gaussian mixture synthesizer: components by BIC, local structure, persistence."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.tabular.gmm import GaussianMixtureSynthesizer
from simulacra.testing.synthesizers import check_synthesizer


def _v_shape(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, n)
    return pd.DataFrame({"x": x, "y": np.abs(x) + rng.normal(0, 0.1, n), "g": rng.choice(["a", "b"], n)})


def test_passes_the_battery() -> None:
    assert check_synthesizer(GaussianMixtureSynthesizer) == []


def test_registered_by_name_below_the_copula() -> None:
    cls = sim.get_synthesizer_class("gmm")
    assert cls is GaussianMixtureSynthesizer
    assert cls.default_rank < sim.get_synthesizer_class("copula").default_rank


@pytest.mark.parametrize("selection", ["bic", "bayesian"])
def test_learns_local_structure_a_copula_misses(selection: str) -> None:
    # y = |x|: no global correlation, opposite local ones, which a single Gaussian cannot hold
    synth = GaussianMixtureSynthesizer(random_state=0, selection=selection, max_components=8).fit(_v_shape())
    assert len(synth.weights_) >= 2
    out = synth.sample(4000, random_state=0)
    left, right = out[out["x"] < -0.5], out[out["x"] > 0.5]
    assert np.corrcoef(left["x"], left["y"])[0, 1] < -0.5
    assert np.corrcoef(right["x"], right["y"])[0, 1] > 0.5


def test_saved_without_pickle(tmp_path) -> None:
    synth = GaussianMixtureSynthesizer(random_state=0).fit(_v_shape(500))
    path = synth.save(tmp_path / "gmm.simulacra")
    with zipfile.ZipFile(path) as zf:
        state = json.loads(zf.read("state.json"))
    assert "weights" in state["state"]
    assert sim.load(path).sample(50, random_state=1).equals(synth.sample(50, random_state=1))


def test_bad_selection_is_refused() -> None:
    with pytest.raises(InputError, match="selection"):
        GaussianMixtureSynthesizer(selection="aic").fit(_v_shape(100))
