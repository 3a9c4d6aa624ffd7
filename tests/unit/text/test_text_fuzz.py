"""Fuzz (a small fixed budget for CI): the text commands against a server on 127.0.0.1 that answers with
random statuses, non-JSON or cut bodies, dropped connections, hangs and delays. Invariant: success with
valid rows written, or a clear SimulacraError; never another exception, a hang, or exit 0 with nothing valid.
The longer run is ``benchmarks/fuzz.py --target text``."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.cli.main import app
from simulacra.testing.chaos import CLEAR_ERROR, OK, text_chaos_case


@settings(max_examples=3, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_text_commands_against_a_chaotic_server(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outcome, details = text_chaos_case(seed, tmp, app)
    assert outcome in (OK, CLEAR_ERROR), details
