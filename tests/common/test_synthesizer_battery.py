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
    if name == "dp":  # the battery's table has 211 rows: at ε = 1 the noise would swamp its fidelity checks
        factory = functools.partial(cls, epsilon=50.0, delta=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "too few rows" and "budgets add up": expected here
            assert check_synthesizer(factory) == []
        return
    assert check_synthesizer(cls) == []
