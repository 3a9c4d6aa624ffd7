"""The dict forms (pydantic specs) of the rule constraint kinds; see :mod:`simulacra.tabular.constraint_rules`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulacra.rules.formula import Formula
from simulacra.tabular.constraint_kinds import Constraint
from simulacra.tabular.constraint_rules import Bound, Clock, Dependency, Derived, MissingWith


class SpecBase(BaseModel):
    """Fields every constraint may carry."""

    model_config = ConfigDict(extra="forbid")

    #: How discovery found the rule (its support); a note for the reader, never used.
    found: str | None = None
    #: The share of training rows allowed to break the rule (data errors); sampled rows never do.
    exceptions: float = Field(0.0, ge=0.0, le=0.05)


class DerivedSpec(SpecBase):
    """``column = formula`` (see :mod:`simulacra.rules.formula` for the grammar)."""

    kind: Literal["derived"]
    column: str
    formula: str

    @model_validator(mode="after")
    def _parses(self) -> DerivedSpec:
        try:
            cols = Formula(self.formula).columns
        except Exception as exc:  # the formula's own message
            raise ValueError(str(exc)) from None
        if self.column in cols:
            raise ValueError(f"the formula of '{self.column}' cannot use '{self.column}' itself")
        return self


class DependencySpec(SpecBase):
    """``determinant -> dependent``: each determinant value has one dependent value (a real pair)."""

    kind: Literal["dependency"]
    determinant: list[str] = Field(min_length=1)
    dependent: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _disjoint(self) -> DependencySpec:
        if set(self.determinant) & set(self.dependent):
            raise ValueError("a column cannot be both determinant and dependent")
        return self


class BoundSpec(SpecBase):
    """``column >= every at_least column`` and ``column <= every at_most column``."""

    kind: Literal["bound"]
    column: str
    at_least: list[str] = Field(default_factory=list)
    at_most: list[str] = Field(default_factory=list)
    strict: bool = False

    @model_validator(mode="after")
    def _some(self) -> BoundSpec:
        if not self.at_least and not self.at_most:
            raise ValueError("give 'at_least', 'at_most' or both")
        if self.column in (*self.at_least, *self.at_most):
            raise ValueError(f"'{self.column}' cannot bound itself")
        return self


class ClockSpec(SpecBase):
    """A whole-number column written as a clock time HHMM (minutes below 60)."""

    kind: Literal["clock"]
    column: str


class MissingWithSpec(SpecBase):
    """If ``if_missing`` is missing, every ``then_missing`` column is missing too."""

    kind: Literal["missing_with"]
    if_missing: str
    then_missing: list[str] = Field(min_length=1)


RULE_SPECS = DerivedSpec | DependencySpec | BoundSpec | ClockSpec | MissingWithSpec
RULE_KINDS: dict[str, type[Constraint]] = {
    "derived": Derived,
    "dependency": Dependency,
    "bound": Bound,
    "clock": Clock,
    "missing_with": MissingWith,
}
