"""Data from nothing but a spec: declarative tables of distributions, formulas, correlated groups,
fixed sums, people, time series and graphs, generated fast and reproducibly.

The reference of every column kind is ``docs/spec.md``; the main entry point is :class:`Spec`.
"""

from simulacra.spec.engine import Spec
from simulacra.spec.infer import infer_spec
from simulacra.spec.kinds.base import KINDS, Block, ColumnKind, register
from simulacra.spec.model import SpecDocument
from simulacra.spec.schema import spec_json_schema
from simulacra.spec.simulate import MonteCarloSummary, summarize

__all__ = [
    "KINDS", "Block", "ColumnKind", "MonteCarloSummary", "Spec", "SpecDocument", "infer_spec", "register",
    "spec_json_schema", "summarize",
]
