"""Fuzz (a small fixed budget for CI): the spec parser, the expression checker, row filters and conditions.

Invariant: a clear SimulacraError or a correct result (tables of the promised size, filter masks equal to
the pandas computation, sampled rows that meet their conditions); never another exception, never a hang. The cases live in
:mod:`simulacra.testing.spec_fuzz`; the longer run is
``benchmarks/fuzz.py --target spec --target formula --target filter --target conditions``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulacra.errors import SimulacraError
from simulacra.expr import row_filter
from simulacra.spec import Spec
from simulacra.spec.expr import Expression
from simulacra.testing.spec_fuzz import CLEAR_ERROR, OK, classify, conditions_case, filter_case, formula_case, spec_case

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


def budget(n: int) -> settings:
    """A fixed, reproducible budget of ``n`` cases."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@budget(120)
@given(seed=SEEDS)
def test_random_specs_are_generated_or_refused_clearly(seed: int) -> None:
    outcome, details = spec_case(seed)
    assert outcome in (OK, CLEAR_ERROR), details


@budget(400)
@given(seed=SEEDS)
def test_random_formulas_are_computed_or_refused_clearly(seed: int) -> None:
    outcome, details = formula_case(seed)
    assert outcome in (OK, CLEAR_ERROR), details


@budget(150)
@given(seed=SEEDS)
def test_random_filters_agree_with_pandas_or_are_refused_clearly(seed: int) -> None:
    outcome, details = filter_case(seed)
    assert outcome in (OK, CLEAR_ERROR), details


@budget(25)
@given(seed=SEEDS)
def test_random_conditions_hold_or_are_refused_clearly(seed: int) -> None:
    outcome, details = conditions_case(seed)
    assert outcome in (OK, CLEAR_ERROR), details


_SYMBOLS = "xyrow0123456789+-*/%()<>=!&|~ .,'[]_`@\"\\{}:\n\x00éabcdefin"


@budget(300)
@given(text=st.text(alphabet=_SYMBOLS, max_size=60))
def test_junk_text_as_formula_or_filter(text: str) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, np.nan, 2.0]})

    def run() -> str | None:
        Expression(text).evaluate({"x": frame.x.to_numpy(), "y": frame.y.to_numpy()}, 3, np.random.default_rng(0))
        return None

    outcome, details = classify(run, {"formula": text})
    assert outcome in (OK, CLEAR_ERROR), details
    try:
        mask = row_filter(frame, text)
    except SimulacraError:
        return
    assert mask.dtype == bool and mask.shape == (3,)


@budget(150)
@given(text=st.text(alphabet="tables:rows columns{}[]&*!-? \n\t'\"#%@`|>xyz0123456789.,kind=normal", max_size=200))
def test_junk_yaml_is_refused_clearly(text: str) -> None:
    def run() -> str | None:
        Spec.from_yaml(text + "\n")
        return None

    outcome, details = classify(run, {"yaml": text})
    assert outcome in (OK, CLEAR_ERROR), details
