"""Fuzz target of model archives for ``benchmarks/fuzz.py`` (collected from ``TARGETS``).

    python benchmarks/fuzz.py --budget 120 --target model

Each case damages a real model file (copula or autoreg) at random: truncation, flipped bytes, a renamed
or missing member, a member edited or cut short (its checksum recomputed or not), or any JSON value
replaced; loading it must give a model or a clear ``SimulacraError``. The cases are in
:mod:`simulacra.testing.model_fuzz` (the CI test runs a Hypothesis budget of the same damages).
"""

from __future__ import annotations

from simulacra.testing.model_fuzz import CASES

TARGETS = dict(CASES)
