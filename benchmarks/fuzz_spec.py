"""Fuzz targets of specs, formulas, row filters and conditions for ``benchmarks/fuzz.py`` (its ``TARGETS``).

    python benchmarks/fuzz.py --budget 400 --target spec --target formula --target filter --target conditions

The cases are in :mod:`simulacra.testing.spec_fuzz` (the CI tests run a few seeds of each):

- ``spec``: random spec mappings, their YAML, mutated YAML and alias bombs; checked, then generated at a
  small size (every table must have the promised number of rows);
- ``formula``: formulas built from the grammar, junk strings, hostile and oversized ones, evaluated on 7 rows;
- ``filter``: ``--where`` filters over a table with missing values, compared with the same filter computed
  by pandas; plus unknown columns, hostile and junk filters, which must be refused clearly;
- ``conditions``: sampling a fitted copula under random conditions (plausible, impossible, malformed,
  unknown columns, lists, non-mappings): every row must meet them, or the request is refused clearly.
"""

from __future__ import annotations

from simulacra.testing.spec_fuzz import CASES

TARGETS = dict(CASES)
