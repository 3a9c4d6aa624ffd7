"""Table rules: derived columns, functional dependencies and row rules, in one language.

The same rule dicts are found by :func:`discover_rules`, kept by every synthesizer as constraints of
the metadata, and checked on any table by :func:`rule_mask` (the evaluation's rules section).
"""

from simulacra.rules.check import as_float, describe_rule, rule_columns, rule_mask
from simulacra.rules.discover import KINDS, Discovery, add_rules, discover_rules
from simulacra.rules.formula import Formula, quote

__all__ = [
    "KINDS",
    "Discovery",
    "Formula",
    "add_rules",
    "as_float",
    "describe_rule",
    "discover_rules",
    "quote",
    "rule_columns",
    "rule_mask",
]
