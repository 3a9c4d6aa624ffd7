"""Value pools for people columns, built once per locale from Faker's data and drawn with numpy.

Faker is called a few thousand times per locale and field (seeded, so pools are reproducible for a
given Faker version); rows then index into the pools and combine parts with Arrow kernels, which is
thousands of times faster than calling Faker once per row.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulacra.errors import SpecError, require

POOL_SIZE = 4096
FIELDS = ("first_name", "last_name", "name", "email", "phone", "address", "street", "city", "postcode", "country")
_PHONE_DIGIT = {ord("#"): (48, 58), ord("%"): (49, 58), ord("!"): (48, 58), ord("@"): (49, 58), ord("$"): (50, 58)}


@lru_cache(maxsize=64)
def faker(locale: str) -> Any:
    """A seeded Faker for ``locale`` (a clear error for an unknown locale)."""
    fk = require("faker", "spec", "people and fake columns")
    from faker.config import AVAILABLE_LOCALES

    if locale not in AVAILABLE_LOCALES:
        from simulacra.spec.source import suggest

        raise SpecError(f"unknown locale '{locale}'{suggest(locale, AVAILABLE_LOCALES)}; e.g. en_US, de_DE, fr_FR, ja_JP")
    f = fk.Faker(locale)  # type: ignore[attr-defined]
    f.seed_instance(0)
    return f


@lru_cache(maxsize=512)
def pool(locale: str, method: str, size: int = POOL_SIZE) -> pa.Array:
    """``size`` values of Faker's ``method`` for ``locale`` as an Arrow string array."""
    f = faker(locale)
    fn = getattr(f, method, None)
    if not callable(fn) or method.startswith("_"):
        raise SpecError(f"Faker has no method '{method}' (see https://faker.readthedocs.io for the providers)")
    f.seed_instance(hash_name(method))
    try:
        return short_texts(fn, size, f"Faker's '{method}'")
    except TypeError as exc:
        raise SpecError(f"Faker's '{method}' needs arguments ({exc}); pick a method that takes none") from None


#: Longest value a ``fake`` column may draw: a spec cannot make Faker build megabytes per value
#: (``binary``, ``zip``, ``tar``...) thousands of times over.
MAX_VALUE_CHARS = 1000


def short_texts(make: Any, size: int, what: str) -> pa.Array:
    """``size`` values of ``make()`` as Arrow strings; stops at the first one over :data:`MAX_VALUE_CHARS`."""
    values = []
    for _ in range(size):
        text = str(make())
        if len(text) > MAX_VALUE_CHARS:
            raise SpecError(f"{what} gives values of {len(text):,} characters (the limit is {MAX_VALUE_CHARS:,}); "
                            "pick a method that makes short text")
        values.append(text)
    return pa.array(values, type=pa.string())


def hash_name(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())


def _ascii(values: pa.Array) -> pa.Array:
    out = []
    for v in values.to_pylist():
        s = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower()
        out.append(re.sub(r"[^a-z0-9]", "", s))
    return pa.array(out, type=pa.string())


@lru_cache(maxsize=64)
def locale_pools(locale: str) -> dict[str, pa.Array]:
    """Every pool a person row needs for ``locale``."""
    f = faker(locale)
    first, last = pool(locale, "first_name"), pool(locale, "last_name")
    first_a, last_a = _ascii(first), _ascii(last)
    f.seed_instance(1)
    if locale.startswith("en_US"):
        line = [f"{f.city()}, {f.state_abbr()} {f.postcode()}" for _ in range(POOL_SIZE)]
    else:
        line = [f"{f.postcode()} {f.city()}" for _ in range(POOL_SIZE)]
    return {
        "first_name": first, "last_name": last, "email_first": first_a, "email_last": last_a,
        "user": pool(locale, "user_name"),
        "domain": pool(locale, "free_email_domain", 256), "street": pool(locale, "street_address"),
        "city": pool(locale, "city"), "postcode": pool(locale, "postcode"),
        "city_line": pa.array(line, type=pa.string()), "country": pa.array([_country(f)], type=pa.string()),
    }


def _country(f: Any) -> str:
    try:
        return str(f.current_country())
    except (ValueError, AttributeError, KeyError):
        return ""


@lru_cache(maxsize=64)
def phone_formats(locale: str) -> np.ndarray:
    """Phone number templates of ``locale`` as a (formats, width) uint8 matrix (0-padded)."""
    f = faker(locale)
    f.seed_instance(2)
    formats = []
    for p in f.get_providers():
        if "phone_number" in type(p).__module__ and getattr(p, "formats", None):
            formats = [f.parse(x) if "{{" in x else x for x in p.formats]
            break
    formats = [x for x in formats if x.isascii()] or ["+1-###-###-####"]
    width = max(map(len, formats))
    return np.array([x.encode().ljust(width, b"\0") for x in formats], dtype=f"S{width}")


_LOWEST = np.zeros(256, dtype=np.uint8)
for _code, (_lo, _hi) in _PHONE_DIGIT.items():
    _LOWEST[_code] = _lo


def phones(formats: np.ndarray, index: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Phone numbers: templates ``formats[index]`` with their digit placeholders filled at random."""
    width = formats.dtype.itemsize
    tmpl = formats[index].view(np.uint8).reshape(len(index), width)
    digits = rng.integers(48, 58, size=tmpl.shape, dtype=np.uint8)
    low = _LOWEST[tmpl]  # 0 where the template keeps its character
    out = np.where(low > 0, np.maximum(digits, low), tmpl)
    arr = pa.array(out.view(f"S{width}").ravel(), type=pa.binary())
    return pc.utf8_rtrim(arr.cast(pa.string()), characters="\0")


def locale_mix(locales: Any) -> tuple[list[str], np.ndarray]:
    """Locales and their weights from a name, a list or a mapping."""
    if isinstance(locales, str):
        return [locales], np.ones(1)
    if isinstance(locales, dict):
        names, w = list(locales), np.asarray(list(locales.values()), dtype=float)
    else:
        names, w = list(locales), np.ones(len(locales))
    if not names or np.any(w < 0) or w.sum() <= 0:
        raise SpecError(f"locale must be a name, a list of names, or a mapping of names to weights, got {locales!r}")
    return names, w / w.sum()
