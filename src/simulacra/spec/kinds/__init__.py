"""Column kinds: each module registers its kinds in :data:`simulacra.spec.kinds.base.KINDS`."""

from simulacra.spec.kinds import categorical, distributions, formula, groups, identity, series, temporal, text
from simulacra.spec.kinds.base import KINDS, Block, ColumnKind, parse_column, register

__all__ = [
    "KINDS", "Block", "ColumnKind", "categorical", "distributions", "formula", "groups", "identity",
    "parse_column", "register", "series", "temporal", "text",
]
