"""Identity columns: sequences, UUIDs, unique random-looking ids, and foreign keys.

Identity values are pure functions of the row number (and the seed), so a foreign key can compute the
key of any parent row without generating the parent table.
"""

from __future__ import annotations

import string
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from simulacra.random import seed_sequence
from simulacra.spec.kinds.base import Block, ColumnKind, Values, register, stable_key

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast bijective scramble of 64-bit integers (vectorized)."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _key(seed: int, *parts: int) -> np.uint64:
    ss = seed_sequence(seed, *parts)
    return np.uint64(ss.generate_state(1, dtype=np.uint64)[0])


def format_ints(values: np.ndarray, fmt: str | None) -> Values:
    """Integers formatted by ``fmt`` (``'C{:06d}'``, ``'{}'``), vectorized; numpy when ``fmt`` is None."""
    if fmt is None:
        return values
    parts = list(string.Formatter().parse(fmt))
    fields = [p for p in parts if p[1] is not None]
    if len(fields) != 1:
        raise ValueError(f"format '{fmt}' must have exactly one {{}} field")
    prefix = "".join(p[0] for p in parts[: parts.index(fields[0]) + 1])
    suffix = "".join(p[0] for p in parts[parts.index(fields[0]) + 1 :])
    spec = fields[0][2] or ""
    text = pa.array(values).cast(pa.string())
    if spec:
        if not (spec.endswith("d") and spec[:-1].lstrip("0").isdigit() or spec == "d"):
            raise ValueError(f"format '{fmt}': only {{}} and {{:0Nd}} fields are supported")
        width = int(spec[:-1] or 0)
        text = pc.utf8_lpad(text, width=width, padding="0" if spec.startswith("0") else " ")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, pa.scalar(suffix), "") if prefix or suffix else text


class KeyKind(ColumnKind):
    """A column whose value is a function of the row number: usable as a primary key."""

    def at_rows(self, rows: np.ndarray, seed: int, table_key: int, name: str) -> Values:
        raise NotImplementedError

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        return {name: self.at_rows(block.rows(), block.seed, block.table_key, name)}


@register
class Sequence(KeyKind):
    """``start``, ``start + step``, ...; with ``format`` (e.g. ``'C{:06d}'``) the values are text."""

    kind: Literal["sequence"] = "sequence"
    start: int = 1
    step: int = 1
    format: str | None = None

    @field_validator("step")
    @classmethod
    def check_step(cls, step: int) -> int:
        if step == 0:
            raise ValueError("step must not be 0 (values would repeat)")
        return step

    @field_validator("format")
    @classmethod
    def check_format(cls, fmt: str | None) -> str | None:
        if fmt is not None:
            format_ints(np.arange(1), fmt)
        return fmt

    def at_rows(self, rows: np.ndarray, seed: int, table_key: int, name: str) -> Values:
        return format_ints(self.start + self.step * rows.astype(np.int64), self.format)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@register
class Uuid(KeyKind):
    """Random-looking version-4 UUIDs, unique, and reproducible from the seed and row number."""

    kind: Literal["uuid"] = "uuid"

    def at_rows(self, rows: np.ndarray, seed: int, table_key: int, name: str) -> Values:
        k1, k2 = _key(seed, table_key, stable_key(name), 1), _key(seed, table_key, stable_key(name), 2)
        r = rows.astype(np.uint64)
        hi = mix64(r ^ k1)
        lo = mix64(mix64(r ^ k2) ^ hi)  # hi is a bijection of the row: distinct rows, distinct (hi, lo)
        hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
        lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
        raw = np.stack([hi, lo], axis=1).astype(">u8").view(np.uint8).reshape(-1, 16)
        nibbles = np.empty((len(rows), 32), dtype=np.uint8)
        nibbles[:, 0::2], nibbles[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 15]
        out = np.full((len(rows), 36), ord("-"), dtype=np.uint8)
        for a, b, c in ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)):
            out[:, a:b] = nibbles[:, c : c + b - a]
        return pa.array(out.view("S36").ravel(), type=pa.binary(36)).cast(pa.string())


@register
class Id(KeyKind):
    """Unique random-looking integers in [0, 10^``digits``) (a keyed permutation of the row number),
    optionally formatted (``format: 'CUST-{:08d}'``)."""

    kind: Literal["id"] = "id"
    digits: int = Field(9, ge=1, le=18)
    format: str | None = None

    @field_validator("format")
    @classmethod
    def check_format(cls, fmt: str | None) -> str | None:
        if fmt is not None:
            format_ints(np.arange(1), fmt)
        return fmt

    def at_rows(self, rows: np.ndarray, seed: int, table_key: int, name: str) -> Values:
        domain = 10**self.digits
        if rows.size and int(rows.max()) >= domain:
            from simulacra.errors import SpecError

            raise SpecError(f"id column '{name}': {rows.max() + 1} rows do not fit in {self.digits} digits; raise 'digits'")
        key = _key(seed, table_key, stable_key(name), 3)
        return format_ints(permute(rows.astype(np.uint64), domain, key).astype(np.int64), self.format)


def permute(x: np.ndarray, domain: int, key: np.uint64) -> np.ndarray:
    """A keyed bijection of [0, domain) (Feistel network with cycle walking), vectorized."""
    half = max(1, (int(domain - 1).bit_length() + 1) // 2)
    mask = np.uint64((1 << half) - 1)
    out = x.copy()
    todo = np.ones(len(out), dtype=bool)
    while todo.any():
        v = out[todo]
        left, right = v >> np.uint64(half), v & mask
        for rnd in range(4):
            f = mix64(right ^ (key + np.uint64(rnd))) & mask
            left, right = right, left ^ f
        out[todo] = (left << np.uint64(half)) | right
        todo = out >= np.uint64(domain)
    return out


@register
class ForeignKey(ColumnKind):
    """A key of another table (``references: table.column``): every value resolves to a parent row.

    In a child table (``parent:``), the column that references the parent gets its parent's key; any
    other foreign key picks parent rows ``uniform``-ly or by ``zipf`` popularity with exponent ``a``.
    """

    kind: Literal["foreign_key"] = "foreign_key"
    references: str
    distribution: Literal["uniform", "zipf"] = "uniform"
    a: float = Field(1.1, gt=0)

    @field_validator("references")
    @classmethod
    def check_ref(cls, ref: str) -> str:
        if ref.count(".") != 1 or not all(ref.split(".")):
            raise ValueError(f"references must be 'table.column', got '{ref}'")
        return ref

    @property
    def target(self) -> tuple[str, str]:
        t, c = self.references.split(".")
        return t, c

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        table, _ = self.target
        resolve: Any = block.context["resolve_key"]
        if block.context.get("parent") == table and "parent_rows" in block.context:
            rows = block.context["parent_rows"]
        else:
            n_parent = block.context["table_rows"](table)
            rng = block.rng(name)
            if self.distribution == "uniform":
                rows = rng.integers(0, n_parent, block.n)
            else:
                k = np.arange(1, n_parent + 1, dtype=float)
                cdf = np.cumsum(k**-self.a)
                rank = np.searchsorted(cdf / cdf[-1], rng.random(block.n), side="right").clip(0, n_parent - 1)
                rows = permute(rank.astype(np.uint64), n_parent, _key(block.seed, stable_key(table), 9)).astype(np.int64)
        return {name: resolve(self.references, np.asarray(rows, dtype=np.int64))}
