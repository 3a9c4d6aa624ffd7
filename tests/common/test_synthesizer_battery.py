"""Every registered synthesizer passes the public battery."""

from __future__ import annotations

import functools
import warnings

import pytest

from simulacra.tabular.registry import available_synthesizers, get_synthesizer_class
from simulacra.testing import check_synthesizer


@pytest.mark.parametrize("name", available_synthesizers())
def test_check_synthesizer(name):
    cls = get_synthesizer_class(name)
    # the battery's table has 211 rows: at ε = 1 the DP model's noise would swamp its fidelity checks
    factory = functools.partial(cls, epsilon=50.0, delta=1e-6) if name == "dp" else cls
    with warnings.catch_warnings():
        if name == "dp":  # "too few rows" and "budgets add up" are expected on this tiny table
            warnings.simplefilter("ignore", UserWarning)
        assert check_synthesizer(factory) == []
