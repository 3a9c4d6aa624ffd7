"""Rules every sampled row obeys: ranges, inequalities, fixed combinations, sums and unique keys.

Constraints are declared in :attr:`Metadata.constraints` as plain dicts, e.g.
``{"kind": "inequality", "low": "checkin", "high": "checkout", "strict": True}``. Each kind
*reparameterizes* the table before a model sees it (an inequality becomes the log of the gap, a fixed
combination one joint column, a sum one column less, a key is made fresh), *reverses* that after
sampling (with a vectorized repair where it is cheap), and tells which rows are valid; the sampler
then redraws only the invalid rows, so every row returned is valid and none is silently dropped.

Examples
--------
>>> import pandas as pd
>>> cs = ConstraintSet.parse([{"kind": "inequality", "low": "a", "high": "b"}])
>>> df = pd.DataFrame({"a": [1, 2, 3], "b": [2, 5, 3]})
>>> from simulacra.metadata import Metadata
>>> cs = cs.fit(df, Metadata.detect(df))
>>> back, broken = cs.reverse(cs.transform(df))
>>> back["b"].tolist(), bool(cs.valid(back).all())
([2, 5, 3], True)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic import ValidationError as PydanticValidationError

from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata
from simulacra.tabular.constraint_kinds import Constraint, Inequality, Range, Sum
from simulacra.tabular.constraint_sets import FixedCombinations, Unique
from simulacra.tabular.constraint_specs import RULE_KINDS, RULE_SPECS, SpecBase

__all__ = [
    "Constraint",
    "ConstraintSet",
    "ConstraintSpec",
    "FixedCombinations",
    "Inequality",
    "Range",
    "Sum",
    "Unique",
    "parse_constraint",
]


_Spec = SpecBase


class RangeSpec(_Spec):
    """``column`` within ``[min, max]`` (either bound may be omitted); dates as ISO strings."""

    kind: Literal["range"]
    column: str
    min: float | str | None = None
    max: float | str | None = None
    strict: bool = False

    @model_validator(mode="after")
    def _some_bound(self) -> RangeSpec:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        return self


class InequalitySpec(_Spec):
    """``high > low`` (``strict``) or ``high >= low``, numbers or datetimes."""

    kind: Literal["inequality"]
    low: str
    high: str
    strict: bool = False

    @model_validator(mode="after")
    def _distinct(self) -> InequalitySpec:
        if self.low == self.high:
            raise ValueError("'low' and 'high' must be different columns")
        return self


class FixedCombinationsSpec(_Spec):
    """Only the combinations of ``columns`` seen in the training data (e.g. city with its country)."""

    kind: Literal["fixed_combinations"]
    columns: list[str] = Field(min_length=2)


class SumSpec(_Spec):
    """``sum(columns) == total``, exact to the columns' precision."""

    kind: Literal["sum"]
    columns: list[str] = Field(min_length=1)
    total: str

    @model_validator(mode="after")
    def _total_not_part(self) -> SumSpec:
        if self.total in self.columns:
            raise ValueError("'total' cannot also be one of 'columns'")
        return self


class UniqueSpec(_Spec):
    """Every value of ``column`` differs (a key); synthetic keys are made fresh, never copied."""

    kind: Literal["unique"]
    column: str


ConstraintSpec = Annotated[
    RangeSpec | InequalitySpec | FixedCombinationsSpec | SumSpec | UniqueSpec | RULE_SPECS,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ConstraintSpec)
_KINDS: dict[str, type[Constraint]] = {
    "range": Range,
    "inequality": Inequality,
    "fixed_combinations": FixedCombinations,
    "sum": Sum,
    "unique": Unique,
    **RULE_KINDS,
}


def parse_constraint(payload: dict[str, Any], position: int = 0) -> Constraint:
    """A constraint object from its dict form, with an error naming the constraint and the problem.

    Examples
    --------
    >>> parse_constraint({"kind": "range", "column": "age", "min": 0, "max": 120}).describe()
    "range: 0 <= 'age' <= 120"
    """
    label = f"Constraint #{position + 1} ({payload.get('kind', '?')!s})" if isinstance(payload, dict) else ""
    if not isinstance(payload, dict):
        raise ConstraintError(f"Constraint #{position + 1} must be a mapping, got {type(payload).__name__}")
    if payload.get("kind") not in _KINDS:
        raise ConstraintError(
            f"{label}: unknown kind {payload.get('kind')!r}; use one of: {', '.join(_KINDS)}"
        )
    try:
        spec = _ADAPTER.validate_python(payload)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'constraint'}: {e['msg']}" for e in exc.errors()
        )
        raise ConstraintError(f"{label} is invalid: {problems}") from None
    return _KINDS[spec.kind](spec.model_dump(), position)


class ConstraintSet:
    """The constraints of a table, applied together in a dependency-safe order.

    What :meth:`fit` learns ends in ``_``: ``keys_`` (the key columns kept unique), ``input_metadata_``
    (the user's metadata) and ``reverse_order_`` (the reparameterizing constraints, in reverse order).
    """

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        self.keys_: dict[str, Any] = {}
        self.input_metadata_: Metadata | None = None
        self.reverse_order_: list[Constraint] = []
        #: Prepared from rows of a released model, not from training rows: no column is
        #: reparameterized, rules that compute a value (derived, sum) set it, every other rule is met
        #: by redrawing the rows that break it (see :meth:`fit_released`).
        self.post_hoc = False

    @classmethod
    def parse(cls, payloads: list[dict[str, Any]] | None) -> ConstraintSet:
        return cls([parse_constraint(p, i) for i, p in enumerate(payloads or [])])

    def __len__(self) -> int:
        return len(self.constraints)

    @property
    def active(self) -> bool:
        """True when sampling must go through the constraint engine."""
        return bool(self.constraints)

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> ConstraintSet:
        """Check the constraints against the metadata and the training rows, and learn their state."""
        for c in self.constraints:
            c.check_columns(meta)
        problems = []
        for c in self.constraints:
            c.prepare(data, meta, min_count=min_count)
            bad = np.zeros(len(data), dtype=bool) if c.defined_by_data else ~c.valid(data)
            if bad.any() and bad.mean() > float(c.spec.get("exceptions") or 0.0):
                problems.append(c.violation_message(data, bad))
        if problems:
            raise ConstraintError(
                "The training data violates its constraints; fix the rows or drop the constraint:\n  - "
                + "\n  - ".join(problems)
            )
        self._plan()
        self.input_metadata_ = meta
        self._fit_keys(data, meta, min_count)
        return self

    def fit_released(self, rows: pd.DataFrame, meta: Metadata) -> ConstraintSet:
        """Prepare the constraints from ``rows`` drawn from an already released model (post-processing).

        Used by differentially private models: nothing here reads a training row, so adding a rule
        spends no privacy budget and leaves the released model unchanged. No column is
        reparameterized; sampling computes the values of ``derived`` and ``sum`` rules and redraws the
        rows that break any other rule, so the rows returned are the released model's rows
        conditioned on the rules. Rules whose content is learned from the training rows
        (``fixed_combinations``, ``dependency``) are refused.
        """
        self.check_released(meta)
        for c in self.constraints:
            c.prepare(rows, meta, min_count=1)
            c.reparameterize_ = False
        self.reverse_order_ = []
        self.post_hoc = True
        self.input_metadata_ = meta
        self._fit_keys(rows, meta, 1)
        return self

    def check_released(self, meta: Metadata) -> None:
        """Refuse, before anything is fitted, the rules that :meth:`fit_released` cannot keep.

        A rule found by discovery (it carries ``found``) or one whose allowed values are the training
        rows' (``fixed_combinations``, ``dependency``) was learned from the data, outside any privacy
        budget.
        """
        for c in self.constraints:
            c.check_columns(meta)
            if c.defined_by_data:
                raise ConstraintError(
                    f"The {c.label()} takes its allowed values from the training rows, which a model fitted "
                    "under a privacy budget cannot read outside it; drop it, or declare the rule with a kind "
                    "that does not depend on the data (range, inequality, bound, sum, derived, clock, missing_with)."
                )
            if c.spec.get("found"):
                raise ConstraintError(
                    f"The {c.label()} was discovered in the training rows ({c.spec['found']}), outside the privacy "
                    "budget; keep only rules you know independently of the data (delete their 'found' note to "
                    "declare them), or fit without it (`simulacra metadata --no-rules` writes metadata "
                    "without discovered rules; the command discovers them by default)."
                )

    def _fit_keys(self, data: pd.DataFrame, meta: Metadata, min_count: int) -> None:
        """Unique keys: every id column and every ``unique`` constraint gets fresh values at sampling."""
        for name, col in meta.columns.items():
            if col.type == "id" and not any(isinstance(c, Unique) and c.column == name for c in self.constraints):
                key = Unique({"kind": "unique", "column": name}, -1)
                key.prepare(data, meta, min_count=min_count)
                self.keys_[name] = key
        for c in self.constraints:
            if isinstance(c, Unique):
                self.keys_[c.column] = c

    def _plan(self) -> None:
        """Choose which constraints reparameterize and the order of their reverses."""
        written: set[str] = set()
        for c in self.constraints:
            c.reparameterize_ = c.can_reparameterize and not (c.writes() & written)
            if c.reparameterize_:
                written |= c.writes()
        todo = [c for c in self.constraints if c.reparameterize_]
        order: list[Constraint] = []
        while todo:
            ready = [c for c in todo if not (c.reads() & set().union(*(o.writes() for o in todo if o is not c)))]
            if not ready:  # a cycle: the rest are only checked and redrawn
                for c in todo:
                    c.reparameterize_ = False
                break
            order.extend(ready)
            todo = [c for c in todo if c not in ready]
        self.reverse_order_ = order

    def model_metadata(self, meta: Metadata) -> Metadata:
        """The metadata of the reparameterized table the model is fitted on."""
        columns: dict[str, Any] = dict(meta.columns)
        for c in reversed(self.reverse_order_):
            columns = c.model_columns(columns)
        return Metadata(columns=columns, primary_key=meta.primary_key if meta.primary_key in columns else None)

    # -- transforms -------------------------------------------------------------------------
    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        """Table space to model space."""
        out = data.copy()
        for c in reversed(self.reverse_order_):
            out = c.transform(out)
        return out

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Model space back to table space, with repairs; also the rows that could not be mapped back."""
        out = data.copy()
        broken = np.zeros(len(out), dtype=bool)
        for c in self.reverse_order_:
            out, bad = c.reverse(out)
            broken |= bad
        for c in self.constraints:
            if not self.post_hoc or c.computes:
                out = c.repair(out)
        return out, broken

    def assign_keys(self, data: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Fresh unique keys for the final row numbers ``rows``."""
        for key in self.keys_.values():
            data = key.assign(data, rows, rng)
        return data

    # -- checking ---------------------------------------------------------------------------
    def violations(self, data: pd.DataFrame) -> dict[int, np.ndarray]:
        """For each constraint (by position), the mask of rows that violate it."""
        return {i: ~c.valid(data) for i, c in enumerate(self.constraints) if not isinstance(c, Unique)}

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        """Rows that satisfy every constraint (unique keys are checked on the whole table)."""
        ok = np.ones(len(data), dtype=bool)
        for c in self.constraints:
            if not isinstance(c, Unique):
                ok &= c.valid(data)
        return ok

    def check(self, data: pd.DataFrame) -> None:
        """Raise :class:`ConstraintError` naming every constraint that ``data`` violates."""
        problems = [c.violation_message(data, ~c.valid(data)) for c in self.constraints if (~c.valid(data)).any()]
        if problems:
            raise ConstraintError("Rows violate constraints:\n  - " + "\n  - ".join(problems))

    def describe(self, position: int) -> str:
        return self.constraints[position].describe()

    def touched(self) -> set[str]:
        """Columns that the model does not see as they are in the table."""
        out: set[str] = set()
        for c in self.reverse_order_:
            out |= c.writes()
        return out

    # -- persistence ------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "constraints": [c.get_state() for c in self.constraints],
            "keys": {name: key.get_state() for name, key in self.keys_.items() if key.position < 0},
            "input_metadata": self.input_metadata_.to_dict() if self.input_metadata_ else None,
            "reverse_order": [self.constraints.index(c) for c in self.reverse_order_],
            **({"post_hoc": True} if self.post_hoc else {}),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConstraintSet:
        obj = cls([])
        for i, s in enumerate(state.get("constraints") or []):
            c = parse_constraint(s["spec"], i)
            c.set_state(s)
            obj.constraints.append(c)
        for name, s in (state.get("keys") or {}).items():
            key = Unique({"kind": "unique", "column": name}, -1)
            key.set_state(s)
            obj.keys_[name] = key
        for c in obj.constraints:
            if isinstance(c, Unique):
                obj.keys_[c.column] = c
        obj.reverse_order_ = [c for c in obj.constraints if c.reparameterize_]
        order = state.get("reverse_order")
        if order is not None:
            obj.reverse_order_ = [obj.constraints[i] for i in order]
        obj.post_hoc = bool(state.get("post_hoc", False))
        meta = state.get("input_metadata")
        obj.input_metadata_ = Metadata.from_dict(meta) if meta else None
        return obj

