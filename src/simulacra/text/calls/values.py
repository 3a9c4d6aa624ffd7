"""Argument values: sampling them from a schema and realistic pools, writing them as people do, and
checking that a request states them (grounding).

Dates are written in several forms (``2025-03-03``, ``March 3, 2025``, ``3rd of March 2025``), numbers
with thousands separators or as words, enumerated codes by the words people use for them (``km`` as
kilometres, ``GBP`` as pounds sterling). The grounding check reads those forms back.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_WORDS = {"zero": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "three": 3, "four": 4,
          "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
          "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "half": 0.5, "quarter": 0.25}
_SPELL = {v: k for k, v in _WORDS.items() if k not in ("a", "an", "single", "pair", "couple", "dozen", "half", "quarter")}
_NUM = re.compile(r"(?<![\w.])([-−]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?|[-−]?\d+(?:\.\d+)?)\s*(k\b|thousand\b|million\b|m\b)?",
                  re.IGNORECASE)
_MULT = {"k": 1e3, "thousand": 1e3, "million": 1e6, "m": 1e6}
_BACKWARDS = re.compile(r"\b(before|ago|back|earlier|prior|minus|subtract)\b", re.IGNORECASE)
_MONTH_RE = "(" + "|".join(m[:3] + r"[a-z]*\.?" for m in MONTHS) + ")"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATE_PATTERNS = (
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), ("y", "m", "d")),
    (re.compile(_MONTH_RE + r"\s+" + _ORD + r",?\s+(\d{4})", re.IGNORECASE), ("mon", "d", "y")),
    (re.compile(r"\b" + _ORD + r"\s+(?:of\s+)?" + _MONTH_RE + r",?\s+(\d{4})", re.IGNORECASE), ("d", "mon", "y")),
    (re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b"), ("a", "b", "y")),
)
_STOP = frozenset("the a an of to in on for and or only is by with from per".split())


def _words(name: str) -> str:
    return name.replace("_", " ").strip()


def surface_forms(value: Any, forms: Mapping[str, Sequence[str]], param: str | None = None) -> list[str]:
    """The ways of writing ``value`` that the API documents (``forms``), most specific first."""
    out: list[str] = []
    if param is not None:
        out += list(forms.get(f"{param}={json_text(value)}", ()))
    if isinstance(value, str):
        out += list(forms.get(value, ()))
    return out


def json_text(value: Any) -> str:
    """``value`` as in JSON (``true``, ``3``, ``"km"`` without quotes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- sampling

def _number(name: str, schema: dict[str, Any], rng: np.random.Generator, integer: bool) -> float | int:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    key = name.lower()
    v: float | int
    if integer:
        if any(w in key for w in ("day", "offset", "delta")):
            v = int(rng.choice([1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 100, 120, 180, 365, 500, 1000]))
            v = -v if rng.random() < 0.2 else v
        elif any(w in key for w in ("year",)):
            v = int(rng.integers(1970, 2031))
        elif any(w in key for w in ("quantity", "count", "people", "number", "qty", "n_", "size", "limit", "guests")):
            v = int(rng.choice([1, 2, 2, 3, 3, 4, 4, 5, 6, 8, 10, 12, 15, 20, 25]))
        else:
            v = int(rng.integers(1, 101))
    else:
        if any(w in key for w in ("percent", "rate", "tip")):
            v = float(rng.choice([0, 5, 8, 10, 12, 12.5, 15, 18, 20, 22, 25]))
        elif any(w in key for w in ("amount", "total", "price", "cost", "sum", "balance")):
            v = float(rng.choice([round(float(rng.uniform(5, 500)), 2), float(rng.integers(10, 5000)),
                                  float(rng.choice([20, 50, 100, 250, 500, 1000, 1500, 2000, 10000]))]))
        elif "weight" in key or "kg" in key:
            v = round(float(rng.choice([rng.uniform(0.2, 5), rng.uniform(5, 30)])), int(rng.choice([0, 1, 1, 2])))
        else:
            v = float(rng.choice([float(rng.integers(1, 100)), round(float(rng.uniform(0.5, 500)), 1),
                                  float(rng.choice([1, 5, 10, 12, 20, 50, 100, 250, 1000, 5000]))]))
            if rng.random() < 0.03:
                v = -v
        if v == int(v) and abs(v) < 1e15:
            v = int(v) if rng.random() < 0.6 else v
    if lo is not None and v < lo:
        v = type(v)(lo) if integer else lo
    if hi is not None and v > hi:
        v = type(v)(hi) if integer else hi
    if lo is not None and "exclusiveMinimum" in schema and v <= lo:
        v = lo + 1 if integer else round(lo + 0.5, 2)
    return v


def _date(rng: np.random.Generator) -> str:
    start = dt.date(2023, 1, 1) if rng.random() < 0.8 else dt.date(1960, 1, 1)
    span = 365 * 5 if start.year == 2023 else 365 * 70
    return (start + dt.timedelta(days=int(rng.integers(0, span)))).isoformat()


def sample_value(name: str, schema: dict[str, Any], rng: np.random.Generator, pools: Mapping[str, Sequence[Any]]) -> Any:
    """A realistic value for parameter ``name`` under ``schema``: the API's own pool for it, an enum
    member, an example, or a value drawn by type (dates, money, counts, percentages, weights)."""
    if name in pools and len(pools[name]):
        return pools[name][int(rng.integers(len(pools[name])))]
    if "enum" in schema:
        return schema["enum"][int(rng.integers(len(schema["enum"])))]
    if "const" in schema:
        return schema["const"]
    examples = schema.get("examples") or ([schema["example"]] if "example" in schema else [])
    if examples:
        return examples[int(rng.integers(len(examples)))]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return sample_value(name, options[0], rng, pools) if options else None
    kind = schema.get("type")
    if kind == "boolean":
        return bool(rng.random() < 0.5)
    if kind == "integer":
        return _number(name, schema, rng, True)
    if kind == "number":
        return _number(name, schema, rng, False)
    if kind == "array":
        k = int(rng.integers(1, 4))
        return [sample_value(name, schema.get("items", {}), rng, pools) for _ in range(k)]
    if kind == "string" and schema.get("format") == "date":
        return _date(rng)
    if kind == "string" and schema.get("format") == "date-time":
        return _date(rng) + "T" + f"{int(rng.integers(7, 20)):02d}:{int(rng.choice([0, 15, 30, 45])):02d}:00"
    return f"{_words(name)} {int(rng.integers(1, 100))}"


def sample_arguments(parameters: dict[str, Any], rng: np.random.Generator, pools: Mapping[str, Sequence[Any]],
                     optional_share: float = 0.4) -> dict[str, Any]:
    """Arguments for a call: every required parameter, and each optional one with probability ``optional_share``
    (an optional one with a default is then given a value other than the default where the schema allows)."""
    props = parameters.get("properties", {})
    required = set(parameters.get("required", []))
    args: dict[str, Any] = {}
    for name, schema in props.items():
        if name not in required and rng.random() >= optional_share:
            continue
        value = sample_value(name, schema, rng, pools)
        if name not in required and "default" in schema:
            for _ in range(4):
                if value != schema["default"]:
                    break
                value = sample_value(name, schema, rng, pools)
        args[name] = value
    return args


# ---------------------------------------------------------------- writing values

def write_date(iso: str, rng: np.random.Generator) -> str:
    """``iso`` (YYYY-MM-DD) in one of the forms people write."""
    d = dt.date.fromisoformat(iso)
    month = MONTHS[d.month - 1]
    suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
    forms = [iso, f"{month} {d.day}, {d.year}", f"{d.day} {month} {d.year}", f"{month[:3]} {d.day}{suffix} {d.year}",
             f"the {d.day}{suffix} of {month} {d.year}", f"{d.day} {month[:3]} {d.year}"]
    return forms[int(rng.integers(len(forms)))]


def write_number(value: float | int, rng: np.random.Generator, name: str = "") -> str:
    """A number as people write it: plain, with thousands separators, or as a word for small whole numbers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and 0 < value <= 12 and rng.random() < 0.3:
        return "a dozen" if value == 12 and rng.random() < 0.5 else _SPELL[value]
    if isinstance(value, int) and abs(value) >= 1000 and rng.random() < 0.5:
        return f"{value:,}"
    if isinstance(value, float) and any(w in name for w in ("amount", "total", "price", "cost")) and rng.random() < 0.5:
        return f"{value:,.2f}"
    return f"{value:g}" if isinstance(value, float) and abs(value) < 1e6 else str(value)


def write_value(name: str, value: Any, schema: dict[str, Any], rng: np.random.Generator,
                forms: Mapping[str, Sequence[str]]) -> str:
    """``value`` of parameter ``name`` in words, as a request would state it."""
    documented = [f for f in surface_forms(value, forms, name) if re.search(r"[A-Za-z]{2}", f) or f == str(value)]
    if documented:
        return documented[int(rng.integers(len(documented)))]
    if isinstance(value, bool):
        return _words(name) if value else "not " + _words(name)
    if isinstance(value, (int, float)):
        return write_number(value, rng, name)
    if isinstance(value, str) and schema.get("format") == "date":
        return write_date(value, rng)
    if isinstance(value, list):
        parts = [write_value(name, v, schema.get("items", {}), rng, forms) for v in value]
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
    return str(value)


# ---------------------------------------------------------------- grounding

def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``: digits (``1,200``, ``2k``, ``7.5 million``) and number words.

    Examples
    --------
    >>> numbers_in("split 1,080.00 among a dozen, 2k or 7.5 million, three quarters")
    [1080.0, 2.0, 2000.0, 7500000.0, 1.0, 12.0, 3.0, 0.75]
    >>> numbers_in("69 m is how many cm")
    [69.0, 69000000.0]
    """
    out = []
    for m in _NUM.finditer(text):
        raw = m.group(1).replace(",", "").replace(" ", "").replace("−", "-")
        try:
            v = float(raw)
        except ValueError:
            continue
        suffix = (m.group(2) or "").lower()
        if suffix in ("k", "m"):  # 2k or 2 k(elvin), 7 m(illion) or 7 m(etres): both readings
            out.append(v)
        out.append(v * _MULT[suffix] if suffix else v)
    low = text.lower()
    out += [float(_WORDS[w]) for w in re.findall(r"[a-z]+", low) if w in _WORDS]
    if re.search(r"three[- ]quarters?", low):
        out.append(0.75)
    return out


def dates_in(text: str) -> set[str]:
    """Every date written in ``text``, as ISO strings (day/month order ambiguous forms give both readings).

    Examples
    --------
    >>> sorted(dates_in("from March 3rd, 2025 to the 5th of May 2025, or 04/07/2025"))
    ['2025-03-03', '2025-04-07', '2025-05-05', '2025-07-04']
    """
    found: set[str] = set()
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parts = dict(zip(order, m.groups()))
            y = int(parts["y"])
            candidates: list[tuple[int, int]] = []
            if "mon" in parts:
                mon = next((i + 1 for i, name in enumerate(MONTHS) if parts["mon"].lower().startswith(name[:3].lower())), 0)
                candidates = [(mon, int(parts["d"]))]
            elif "a" in parts:
                a, b = int(parts["a"]), int(parts["b"])
                candidates = [(a, b), (b, a)]
            else:
                candidates = [(int(parts["m"]), int(parts["d"]))]
            for mon, day in candidates:
                try:
                    found.add(dt.date(y, mon, day).isoformat())
                except ValueError:
                    pass
    return found


def _phrase_in(phrase: str, text: str) -> bool:
    phrase = phrase.strip().lower()
    if not phrase:
        return False
    if re.fullmatch(r"\w+", phrase):
        return re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", text) is not None
    return phrase in text


def value_grounded(name: str, value: Any, schema: dict[str, Any], text: str, forms: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``text`` states ``value`` for parameter ``name`` (in any of the forms above)."""
    low = text.lower()
    if isinstance(value, bool):
        words = [w for w in re.findall(r"[a-z]+", _words(name).lower()) if w not in _STOP and len(w) > 2]
        named = [f for f in surface_forms(value, forms, name)]
        return any(_phrase_in(f, low) for f in named) or (value and bool(words) and all(_phrase_in(w, low) for w in words))
    if isinstance(value, (int, float)):
        found = numbers_in(text)
        if any(math.isclose(v, value, rel_tol=1e-9, abs_tol=1e-9) for v in found):
            return True
        return value < 0 and bool(_BACKWARDS.search(text)) and any(math.isclose(v, -value, rel_tol=1e-9) for v in found)
    if isinstance(value, list):
        return all(value_grounded(name, v, schema.get("items", {}), text, forms) for v in value)
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and value in dates_in(text):
            return True
        return _phrase_in(value, low) or any(_phrase_in(f, low) for f in surface_forms(value, forms, name))
    return json_text(value).lower() in low


def ungrounded(arguments: Mapping[str, Any], parameters: dict[str, Any], text: str,
               forms: Mapping[str, Sequence[str]]) -> list[str]:
    """The arguments whose values ``text`` does not state and that are not at their documented default."""
    props = parameters.get("properties", {})
    out = []
    for name, value in arguments.items():
        schema = props.get(name, {})
        if "default" in schema and schema["default"] == value:
            continue
        if not value_grounded(name, value, schema, text, forms):
            out.append(name)
    return out


__all__ = ["dates_in", "numbers_in", "sample_arguments", "sample_value", "ungrounded", "value_grounded", "write_date",
           "write_number", "write_value"]
