"""Derived columns: safe formulas (Monte Carlo), conditional distributions, lookup tables and rules."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from simulacra.errors import SpecError
from simulacra.expr import INT_LIMIT
from simulacra.spec.expr import ROW, Expression, numpy_values
from simulacra.spec.kinds.base import Block, ColumnKind, Values, apply_nulls, parse_column, register, to_arrow_strings
from simulacra.spec.kinds.categorical import _pool
from simulacra.spec.source import Loc, SpecSource


def compile_expr(text: Any, loc: Loc, source: SpecSource) -> Expression:
    try:
        return Expression(str(text))
    except SpecError as exc:
        raise source.error(loc, str(exc)) from None


def choose(masks: list[np.ndarray], branches: list[Values], default: Values | None, n: int) -> Values:
    """Row-wise pick: the first branch whose mask holds, else ``default`` (missing when None)."""
    arrow = any(isinstance(b, pa.Array) for b in [*branches, default] if b is not None)
    if arrow:
        out = to_arrow_strings(default) if default is not None else pa.nulls(n, pa.string())
        for mask, values in reversed(list(zip(masks, branches))):
            out = pc.if_else(pa.array(np.asarray(mask, dtype=bool)), to_arrow_strings(values), out)
        return out
    if default is None:
        default = np.full(n, np.nan)
    return np.select([np.asarray(m, dtype=bool) for m in masks], [np.asarray(b) for b in branches], default)


@register
class Formula(ColumnKind):
    """A vectorized formula of other columns and random draws, e.g. ``2.5 * height + normal(0, 5)``."""

    kind: Literal["formula"] = "formula"
    expr: str
    round: int | None = Field(None, ge=0, le=12)
    clip: tuple[float | None, float | None] | None = None
    dtype: Literal["float", "int", "bool", "str"] | None = None
    _ex: Expression | None = PrivateAttr(None)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        self._ex = compile_expr(self.expr, (*loc, "expr"), source)

    def dependencies(self) -> set[str]:
        assert self._ex is not None
        return self._ex.names - {ROW}

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        assert self._ex is not None
        x = self._ex.evaluate(block.columns, block.n, block.rng(name), block.first_row)
        if self.clip is not None:
            lo, hi = self.clip
            x = np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        if self.round is not None:
            x = np.round(x, self.round)
        if self.dtype == "str" or x.dtype.kind in "OUS":
            return {name: to_arrow_strings(x)}
        if self.dtype == "int":
            return {name: _integers(x, name)}
        if self.dtype:
            x = x.astype(self.dtype)
        return {name: x}


def _integers(x: np.ndarray, name: str) -> Values:
    """Floored 64-bit integers; missing values stay missing (a nullable column), beyond 64 bits is refused."""
    f = np.floor(np.asarray(x, dtype=float))
    missing = np.isnan(f)
    if np.any(np.abs(f[~missing]) >= INT_LIMIT):
        raise SpecError(f"formula column '{name}' has values beyond ±9.2e18 (or infinite): no 64-bit integer holds them")
    ints = np.where(missing, 0, f).astype(np.int64)
    return apply_nulls(ints, missing) if missing.any() else ints


@register
class Conditional(ColumnKind):
    """A column whose distribution depends on other columns.

    Either ``by`` (or ``on``) a column with ``cases`` mapping its values to column specs, or a ``when`` list of
    ``{if: formula, then: spec}``; rows matching nothing take ``else`` (missing when absent).
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    kind: Literal["conditional"] = "conditional"
    by: str | None = Field(None, description="The column whose value picks the case (YAML 'on:' works too).")
    cases: dict[Any, Any] | None = None
    when: list[dict[str, Any]] | None = None
    else_: Any = Field(None, alias="else")
    _conds: list[Any] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare 'on' key as the boolean True
        if isinstance(data, dict) and (True in data or "on" in data):
            data = dict(data)
            data["by"] = data.pop(True) if True in data else data.pop("on")
        return data

    _branches: list[ColumnKind] = PrivateAttr(default_factory=list)
    _default: ColumnKind | None = PrivateAttr(None)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        if (self.cases is None) == (self.when is None) or (self.cases is not None and not self.by):
            raise source.error(loc, "give either 'by' (or 'on') with 'cases', or a 'when' list of {if: ..., then: ...}")
        if self.cases is not None:
            for key, spec in self.cases.items():
                self._conds.append(key)
                self._branches.append(parse_column(spec, (*loc, "cases", key), source))
        for i, rule in enumerate(self.when or []):
            if set(rule) != {"if", "then"}:
                raise source.error((*loc, "when", i), f"each rule needs exactly 'if' and 'then', got {sorted(rule)}")
            self._conds.append(compile_expr(rule["if"], (*loc, "when", i, "if"), source))
            self._branches.append(parse_column(rule["then"], (*loc, "when", i, "then"), source))
        if self.else_ is not None:
            self._default = parse_column(self.else_, (*loc, "else"), source)

    def dependencies(self) -> set[str]:
        deps = {self.by} if self.by else set()
        for c in self._conds:
            if isinstance(c, Expression):
                deps |= c.names - {ROW}
        for b in [*self._branches, self._default]:
            if b is not None:
                deps |= b.dependencies()
        return deps

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        masks = []
        if self.by:
            keys = numpy_values(block.columns[self.by])
            masks = [keys == c for c in self._conds]
        else:
            masks = [c.evaluate(block.columns, block.n, block.rng(name), block.first_row) for c in self._conds]
        values = [b.generate(block, f"{name}#{i}")[f"{name}#{i}"] for i, b in enumerate(self._branches)]
        default = None if self._default is None else self._default.generate(block, f"{name}#else")[f"{name}#else"]
        return {name: choose(masks, values, default, block.n)}


@register
class Lookup(ColumnKind):
    """Maps the values of column ``key`` through ``table``; unknown keys get ``default``."""

    kind: Literal["lookup"] = "lookup"
    key: str
    table: dict[Any, Any] = Field(..., min_length=1)
    default: Any = None

    def dependencies(self) -> set[str]:
        return {self.key}

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        keys = block.columns[self.key]
        table_keys = list(self.table)
        out_pool = _pool([*self.table.values(), self.default] if self.default is not None else list(self.table.values()))
        if isinstance(keys, pa.Array):
            idx = pc.index_in(to_arrow_strings(keys), value_set=pa.array([str(k) for k in table_keys]))
            idx = idx.to_numpy(zero_copy_only=False)
            missing = np.isnan(idx) if idx.dtype.kind == "f" else np.zeros(len(idx), bool)
            idx = np.where(missing, len(table_keys), np.nan_to_num(idx)).astype(np.int64)
        else:
            k = np.asarray(keys)
            lookup = np.asarray(table_keys)
            order = np.argsort(lookup)
            pos = np.searchsorted(lookup[order], k).clip(0, len(lookup) - 1)
            found = lookup[order][pos] == k
            idx = np.where(found, order[pos], len(table_keys))
        if self.default is None:
            if isinstance(out_pool, pa.Array):
                out_pool = pa.concat_arrays([out_pool, pa.nulls(1, pa.string())])
            else:
                out_pool = np.append(out_pool.astype(float), np.nan)
        return {name: out_pool.take(pa.array(idx)) if isinstance(out_pool, pa.Array) else out_pool[idx]}


@register
class Rule(ColumnKind):
    """A label from a decision list (``rules``: first ``if`` that holds gives ``then``) or a ``tree``
    (nested ``{if, then, else}``); ``flip`` is the probability that a label is replaced by another one."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    kind: Literal["rule"] = "rule"
    rules: list[dict[str, Any]] | None = None
    tree: dict[str, Any] | None = None
    else_: Any = Field(None, alias="else")
    flip: float = Field(0.0, ge=0, le=1)
    _exprs: list[Expression] = PrivateAttr(default_factory=list)
    _labels: list[Any] = PrivateAttr(default_factory=list)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        if (self.rules is None) == (self.tree is None):
            raise source.error(loc, "give either 'rules' (a decision list) or 'tree'")
        for i, rule in enumerate(self.rules or []):
            if set(rule) != {"if", "then"}:
                raise source.error((*loc, "rules", i), f"each rule needs exactly 'if' and 'then', got {sorted(rule)}")
            self._exprs.append(compile_expr(rule["if"], (*loc, "rules", i, "if"), source))
            self._labels.append(rule["then"])
        if self.tree is not None:
            self._walk(self.tree, (*loc, "tree"), source)
        else:
            self._labels.append(self.else_)

    def _walk(self, node: Any, loc: Loc, source: SpecSource) -> None:
        if not isinstance(node, dict):
            self._labels.append(node)
            return
        if set(node) != {"if", "then", "else"}:
            raise source.error(loc, f"a tree node needs 'if', 'then' and 'else', got {sorted(node)}")
        self._exprs.append(compile_expr(node["if"], (*loc, "if"), source))
        self._walk(node["then"], (*loc, "then"), source)
        self._walk(node["else"], (*loc, "else"), source)

    def dependencies(self) -> set[str]:
        return set().union(*(e.names - {ROW} for e in self._exprs)) if self._exprs else set()

    def _labels_index(self, block: Block, name: str) -> np.ndarray:
        rng = block.rng(name, salt=1)
        ev = [e.evaluate(block.columns, block.n, rng, block.first_row) for e in self._exprs]
        if self.rules is not None:
            return np.select([np.asarray(m, bool) for m in ev], list(range(len(ev))), len(ev))
        it = iter(ev)
        labels = iter(range(len(self._labels)))

        def walk(node: Any) -> Any:
            if not isinstance(node, dict):
                return next(labels)
            cond = np.asarray(next(it), bool)
            return np.where(cond, walk(node["then"]), walk(node["else"]))

        return np.broadcast_to(walk(self.tree), (block.n,))

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        idx = self._labels_index(block, name)
        labels = self._labels
        if self.flip > 0 and len(set(map(str, labels))) > 1:
            rng = block.rng(name)
            flip = rng.random(block.n) < self.flip
            other = (idx + rng.integers(1, len(labels), block.n)) % len(labels)
            idx = np.where(flip, other, idx)
        pool = _pool(labels)
        return {name: pool.take(pa.array(idx)) if isinstance(pool, pa.Array) else np.asarray(pool)[idx]}
