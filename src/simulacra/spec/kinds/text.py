"""Text columns: templates over other columns, people (names, emails, phones, addresses) in many
locales, and any Faker or Mimesis field, all drawn vectorized from value pools."""

from __future__ import annotations

import string
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, PrivateAttr

from simulacra.spec.kinds.base import Block, ColumnKind, Values, register, to_arrow_strings
from simulacra.spec.source import Loc, SpecSource


def format_fixed(x: np.ndarray, decimals: int) -> pa.Array:
    """Numbers as fixed-point text with ``decimals`` decimals (like ``f'{x:.2f}'``), vectorized."""
    x = np.asarray(x, dtype=float)
    scale = 10**decimals
    scaled = np.round(np.abs(x) * scale).astype(np.int64)
    text = pa.array(scaled // scale).cast(pa.string())
    if decimals:
        frac = pc.utf8_lpad(pa.array(scaled % scale).cast(pa.string()), width=decimals, padding="0")
        text = pc.binary_join_element_wise(text, frac, ".")
    sign = pa.array(np.where((x < 0) & (scaled > 0), "-", ""), type=pa.string())
    out = pc.binary_join_element_wise(sign, text, "")
    return pc.if_else(pa.array(np.isnan(x)), pa.scalar(None, pa.string()), out)


def format_values(values: Values, spec: str) -> pa.Array:
    """A column as text, using a format spec: ``.Nf`` for numbers, ``%Y-%m-%d``-style for dates."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return to_arrow_strings(values)
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        fmt = spec or ("%Y-%m-%d" if np.all(arr.astype("datetime64[D]") == arr) else "%Y-%m-%d %H:%M:%S")
        return pc.strftime(pa.array(arr.astype("datetime64[ns]")), format=fmt)
    if spec.startswith(".") and spec.endswith("f"):
        return format_fixed(arr, int(spec[1:-1] or 6))
    if spec in ("d", "") and arr.dtype.kind in "fiub":
        return pa.array(arr).cast(pa.string())
    return to_arrow_strings(arr)


@register
class Template(ColumnKind):
    """Text from a template over other columns, e.g. ``"{first_name} finished {task} in {city}"``;
    ``{amount:.2f}`` formats numbers, ``{day:%d %b %Y}`` formats dates."""

    kind: Literal["template"] = "template"
    template: str
    _parts: list[tuple[str, str | None, str]] = PrivateAttr(default_factory=list)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise source.error((*loc, "template"), f"invalid template: {exc}") from None
        for literal, field, spec, _conv in parsed:
            if field is not None and not field.isidentifier():
                raise source.error((*loc, "template"), f"placeholder '{{{field}}}' must name a column")
            if spec and not (spec.startswith("%") or (spec.startswith(".") and spec.endswith("f")) or spec == "d"):
                raise source.error((*loc, "template"), f"format '{spec}' is not supported; use .Nf, d or a %-date format")
            self._parts.append((literal, field, spec or ""))

    def dependencies(self) -> set[str]:
        return {f for _, f, _ in self._parts if f}

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        pieces: list[Any] = []
        for literal, field, spec in self._parts:
            if literal:
                pieces.append(pa.scalar(literal))
            if field:
                pieces.append(pc.fill_null(format_values(block.columns[field], spec), ""))
        if not any(isinstance(p, pa.Array) for p in pieces):
            return {name: pa.repeat(pa.scalar("".join(p.as_py() for p in pieces)), block.n)}
        return {name: pc.binary_join_element_wise(*pieces, "")}


class _LocaleMixin(ColumnKind):
    locale: str | list[str] | dict[str, float] = Field("en_US", description="A locale, a list, or locale: weight.")

    def _locales(self, loc: Loc, source: SpecSource) -> None:
        from simulacra.errors import SpecError
        from simulacra.spec.people import faker, locale_mix

        try:
            for name in locale_mix(self.locale)[0]:
                faker(name)
        except SpecError as exc:
            raise source.error((*loc, "locale"), str(exc)) from None


@lru_cache(maxsize=32)
def _combined(locales: tuple[str, ...]) -> dict[str, Any]:
    """Pools of several locales concatenated, with each locale's offset and size per pool."""
    from simulacra.spec.people import locale_pools, phone_formats

    per = [locale_pools(loc) for loc in locales]
    out: dict[str, Any] = {}
    for key in per[0]:
        arrays = [p[key] for p in per]
        sizes = np.array([len(a) for a in arrays])
        out[key] = (pa.concat_arrays(arrays), np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    formats = [phone_formats(loc) for loc in locales]
    width = max(f.dtype.itemsize for f in formats)
    sizes = np.array([len(f) for f in formats])
    out["phone"] = (np.concatenate([f.astype(f"S{width}") for f in formats]), np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return out


@register
class Person(_LocaleMixin):
    """People: ``fields`` among first_name, last_name, name, email, phone, address, street, city,
    postcode and country (a list, or a mapping of output column to field), consistent within a row
    (the email is made from the name), in one ``locale`` or a weighted mix of locales."""

    kind: Literal["person"] = "person"
    fields: list[str] | dict[str, str] = Field(..., min_length=1)
    email_digits: float = Field(0.3, ge=0, le=1, description="Share of emails with a 2-digit number.")

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        from simulacra.spec.people import FIELDS
        from simulacra.spec.source import suggest

        for f in self._mapping().values():
            if f not in FIELDS:
                raise source.error((*loc, "fields"), f"unknown person field '{f}'{suggest(f, FIELDS)}; allowed: {', '.join(FIELDS)}")
        self._locales(loc, source)

    def _mapping(self) -> dict[str, str]:
        return dict(self.fields) if isinstance(self.fields, dict) else {f: f for f in self.fields}

    def outputs(self, name: str) -> list[str]:
        return list(self._mapping())

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        from simulacra.spec.people import locale_mix, phones

        locales, w = locale_mix(self.locale)
        pools = _combined(tuple(locales))
        rng, n = block.rng(name), block.n
        li = np.searchsorted(np.cumsum(w), rng.random(n), side="right").clip(0, len(w) - 1) if len(w) > 1 else np.zeros(n, np.int64)
        u = rng.random((n, 8))

        def pick(key: str, col: int) -> Any:
            values, offset, size = pools[key]
            idx = offset[li] + (u[:, col] * size[li]).astype(np.int64)
            return values[idx] if isinstance(values, np.ndarray) else values.take(pa.array(idx)), idx

        out: dict[str, Values] = {}
        first, i_first = pick("first_name", 0)
        last, i_last = pick("last_name", 1)
        for col, field in self._mapping().items():
            if field == "first_name":
                out[col] = first
            elif field == "last_name":
                out[col] = last
            elif field == "name":
                out[col] = pc.binary_join_element_wise(first, last, " ")
            elif field == "email":
                out[col] = self._email(pools, i_first, i_last, pick("domain", 2)[0], u[:, 3])
            elif field == "phone":
                formats, offset, size = pools["phone"]
                out[col] = phones(formats, offset[li] + (u[:, 4] * size[li]).astype(np.int64), rng)
            elif field == "address":
                out[col] = pc.binary_join_element_wise(pick("street", 5)[0], pick("city_line", 6)[0], ", ")
            elif field in ("street", "city", "postcode"):
                out[col] = pick(field, 5 if field == "street" else 6)[0]
            else:
                out[col] = pick("country", 7)[0]
        return out

    def _email(self, pools: dict[str, Any], i_first: np.ndarray, i_last: np.ndarray, domain: pa.Array, u: np.ndarray) -> pa.Array:
        """first.last (ASCII-folded) of the row's own name, else a user name; some with 2 digits."""
        firsts = pools["email_first"][0].take(pa.array(i_first))
        lasts = pools["email_last"][0].take(pa.array(i_last))
        ok = pc.and_(pc.greater(pc.utf8_length(firsts), 0), pc.greater(pc.utf8_length(lasts), 0))
        local = pc.if_else(ok, pc.binary_join_element_wise(firsts, lasts, "."), pools["user"][0].take(pa.array(i_first)))
        if self.email_digits:
            digits = _TWO_DIGITS.take(pa.array((u * 1e4).astype(np.int64) % 100))
            local = pc.if_else(pa.array(u < self.email_digits), pc.binary_join_element_wise(local, digits, ""), local)
        return pc.binary_join_element_wise(local, domain, "@")


_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)], type=pa.string())


@register
class Fake(_LocaleMixin):
    """Any Faker method (``method: company``), or a Mimesis one with ``provider: mimesis``
    (``method: person.occupation``), drawn from a pool of ``pool_size`` values."""

    kind: Literal["fake"] = "fake"
    method: str
    provider: Literal["faker", "mimesis"] = "faker"
    pool_size: int = Field(4096, ge=1, le=1_000_000)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        from simulacra.errors import SpecError

        try:
            self._pool()
        except SpecError as exc:
            raise source.error((*loc, "method"), str(exc)) from None

    def _pool(self) -> pa.Array:
        from simulacra.spec.people import locale_mix, pool

        locales = locale_mix(self.locale)[0]
        if self.provider == "mimesis":
            return pa.concat_arrays([_mimesis_pool(loc, self.method, self.pool_size) for loc in locales])
        return pa.concat_arrays([pool(loc, self.method, self.pool_size) for loc in locales])

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        values = self._pool()
        return {name: values.take(pa.array(block.rng(name).integers(0, len(values), block.n)))}


@lru_cache(maxsize=128)
def _mimesis_pool(locale: str, method: str, size: int) -> pa.Array:
    from simulacra.errors import SpecError, require
    from simulacra.spec.people import short_texts

    mimesis: Any = require("mimesis", "spec", "mimesis columns")
    code = locale.split("_")[0].lower() if locale not in ("en_GB", "en_AU", "en_CA", "pt_BR", "zh_TW") else locale.replace("_", "-").lower()
    try:
        gen = mimesis.Generic(locale=mimesis.Locale(code), seed=0)
    except (ValueError, mimesis.exceptions.LocaleError) as exc:  # type: ignore[attr-defined]
        raise SpecError(f"Mimesis has no locale '{locale}': {exc}") from None
    target: Any = gen
    for part in method.split("."):
        target = None if part.startswith("_") else getattr(target, part, None)  # no private or dunder attributes
        if target is None:
            raise SpecError(f"Mimesis has no '{method}' (e.g. person.full_name, address.city, person.occupation)")
    if not callable(target):
        raise SpecError(f"Mimesis's '{method}' is not a method")
    try:
        return short_texts(target, size, f"Mimesis's '{method}'")
    except TypeError as exc:
        raise SpecError(f"Mimesis's '{method}' needs arguments ({exc}); pick a method that takes none") from None
