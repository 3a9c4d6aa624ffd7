"""Discovery of derived columns: a numeric column that is an exact function of others.

Candidates are screened on a sample of rows with one vectorized pass per operator (every pair of
columns at once), confirmed on all rows, and tested against chance (:mod:`simulacra.rules.stats`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulacra.rules.formula import Formula, quote
from simulacra.rules.stats import CHANCE_LOG10, MIN_ROWS, chance_log10, smoothed

#: Binary operators: (template, function, symmetric, complexity). Lower complexity is preferred.
_BINARY: list[tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray], bool, float]] = [
    ("{a} + {b}", np.add, True, 3.0),
    ("{a} - {b}", np.subtract, False, 3.5),
    ("{a} * {b}", np.multiply, True, 4.0),
    ("{a} / {b}", np.divide, False, 4.5),
    ("mean({a}, {b})", lambda a, b: (a + b) / 2.0, True, 4.2),
]
#: At most this many numeric columns are searched for pairs (the most complete ones).
MAX_PAIR_COLUMNS = 40
#: Pairs are screened on this many rows first.
HEAD_ROWS = 64


@dataclass
class Candidate:
    """A derived-column candidate: ``column = formula``, its complexity and its row counts."""

    column: str
    formula: str
    complexity: float
    rows: int = 0
    broken: int = 0
    chance: float = 0.0
    sources: list[str] = field(default_factory=list)

    @property
    def spec(self) -> dict[str, Any]:
        return {"kind": "derived", "column": self.column, "formula": self.formula}


def _hhmm(x: np.ndarray) -> bool:
    v = x[np.isfinite(x)]
    return bool(v.size and np.all(v == np.round(v)) and v.min() >= 0 and v.max() <= 2400
                and v.max() - v.min() >= 300 and np.all(np.mod(v, 100) < 60))


def _whole(x: np.ndarray) -> bool:
    v = x[np.isfinite(x)]
    return bool(v.size and np.all(v == np.round(v)))


def _within(x: np.ndarray, lo: float, hi: float) -> bool:
    v = x[np.isfinite(x)]
    return bool(v.size and _whole(v) and v.min() >= lo and v.max() <= hi)


def _zone(target: np.ndarray, base: np.ndarray, gap: np.ndarray) -> str | None:
    """The time zone whose wall clock ``base`` is, when ``target`` is UTC (offsets one hour apart)."""
    import zoneinfo

    offsets = np.unique(np.round(gap / 900) * 900)
    if offsets.size != 2 or offsets[1] - offsets[0] != 3600:
        return None
    ok = np.flatnonzero(np.isfinite(target) & np.isfinite(base))
    others = sorted(z for z in zoneinfo.available_timezones()
                    if "/" in z and not z.startswith(("Etc/", "posix/", "right/")) and z not in _ZONES)
    for zone in [*_ZONES, *others]:
        for rows in (ok[:200], ok):  # a quick look, then every row
            try:
                want = Formula(f"utc(t, '{zone}')").evaluate({"t": base[rows]})
            except Exception:  # a zone the system tables cannot read
                break
            if not np.allclose(want, target[rows], atol=0.5, equal_nan=False):
                break
        else:
            return zone
    return None


#: Time zones tried first (the most common), before every other zone in alphabetical order.
_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London",
          "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Australia/Sydney", "America/Sao_Paulo")


def _rounded(template: str, step: float) -> str:
    if step <= 0:
        return template
    digits = max(0, int(round(-np.log10(step))))
    return f"round({template})" if digits == 0 else f"round({template}, {digits})"


class DerivedSearch:
    """Finds ``column = formula`` rules among the numeric and date-time columns of a table."""

    def __init__(self, values: dict[str, np.ndarray], steps: dict[str, float], datetimes: set[str],
                 rng: np.random.Generator, screen_rows: int = 2000) -> None:
        self.values, self.steps, self.datetimes = values, steps, datetimes
        self.n = len(next(iter(values.values()))) if values else 0
        self.rows = rng.choice(self.n, min(self.n, screen_rows), replace=False) if self.n else np.zeros(0, int)
        self.rng = rng
        self.tested = 0
        varied = [c for c, v in values.items() if np.unique(v[np.isfinite(v)]).size > 1]
        self.numeric = [c for c in varied if c not in datetimes]
        self.constant = [c for c in values if c not in varied]

    def _tol(self, target: str, want: np.ndarray) -> np.ndarray:
        step = self.steps.get(target, 0.0)
        scale = np.maximum(1.0, np.abs(want))
        return (0.5 * step + 1e-9 * scale) if step > 0 else 1e-7 * scale

    def run(self) -> list[Candidate]:
        found: list[Candidate] = []
        for target in self.numeric:
            found += self._screen_target(target)
        found += self._timestamps()
        return [c for c in (self._confirm(c) for c in found) if c is not None]

    def _sample(self, name: str) -> np.ndarray:
        return self.values[name][self.rows]

    def _screen_target(self, t: str) -> list[Candidate]:
        target = self._sample(t)
        out: list[Candidate] = []
        sources = [c for c in self.numeric if c != t]
        step_t = self.steps.get(t, 0.0)
        for s in sources:
            x = self._sample(s)
            unary: list[tuple[str, np.ndarray, float]] = [(quote(s), x, 1.0)]
            if _whole(x) and np.nanmin(x) >= 0:
                for k in (10, 100, 1000):
                    if np.nanmax(x) >= k:
                        unary += [(f"{quote(s)} // {k}", np.floor_divide(x, k), 2.0),
                                  (f"{quote(s)} % {k}", np.mod(x, k), 2.0)]
            if step_t > self.steps.get(s, 0.0) > 0 or (step_t > 0 and self.steps.get(s, 0.0) == 0):
                unary.append((_rounded(quote(s), step_t), x, 2.5))
            for text, want, cx in unary:
                self.tested += 1
                if self._holds(target, want, self._tol(t, want)):
                    out.append(Candidate(t, text, cx, sources=[s]))
        out += self._pairs(t, target, sources[:MAX_PAIR_COLUMNS])
        if _hhmm(target):
            out += self._clocks(t, target, sources)
        return out

    def _holds(self, target: np.ndarray, want: np.ndarray, tol: np.ndarray | float) -> bool:
        known = np.isfinite(target) & ~np.isnan(want)
        if known.sum() < min(MIN_ROWS, max(len(target) // 2, 1)):
            return False
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.abs(target[known] - want[known]) <= np.broadcast_to(tol, want.shape)[known]))

    def _pairs(self, t: str, target: np.ndarray, sources: list[str]) -> list[Candidate]:
        if len(sources) < 2:
            return []
        head = slice(0, HEAD_ROWS)  # screen every pair on a few rows, then the survivors on the sample
        X = np.column_stack([self._sample(s)[head] for s in sources])
        present = np.isfinite(X)
        out = []
        tv = target[head][:, None, None]
        for template, op, symmetric, cx in _BINARY:
            with np.errstate(all="ignore"):
                V = op(X[:, :, None], X[:, None, :])
                tol = self._tol(t, np.where(np.isfinite(V), V, 0.0))
                known = np.isfinite(tv) & present[:, :, None] & present[:, None, :]
                ok = ~known | (np.abs(V - tv) <= tol)
            holds = ok.all(axis=0) & (known.sum(axis=0) >= min(8, known.shape[0]))
            np.fill_diagonal(holds, False)
            if symmetric:
                holds = np.triu(holds)
            self.tested += len(sources) * (len(sources) - 1) // (2 if symmetric else 1)
            for i, j in zip(*np.nonzero(holds)):
                a, b = sources[i], sources[j]
                with np.errstate(all="ignore"):
                    v = op(self._sample(a), self._sample(b))
                if not self._holds(target, v, self._tol(t, np.where(np.isfinite(v), v, 0.0))):
                    continue
                text = template.format(a=quote(a), b=quote(b))
                if template.endswith("/ {b}") or template.startswith("mean"):
                    exact = np.isclose(v, target, rtol=0, atol=1e-9) | ~np.isfinite(target) | ~np.isfinite(v)
                    if not exact.all():
                        text = _rounded(text, self.steps.get(t, 0.0))
                out.append(Candidate(t, text, cx, sources=[a, b]))
        return out

    def _clocks(self, t: str, target: np.ndarray, sources: list[str]) -> list[Candidate]:
        fn = "clock24" if np.nanmax(self.values[t]) == 2400 else "clock"
        out = []
        for a in sources:
            if not _hhmm(self._sample(a)):
                continue
            for b in sources:
                if b == a or not _whole(self._sample(b)):
                    continue
                f = Formula(f"{fn}(clock_minutes({quote(a)}) + {quote(b)})")
                self.tested += 1
                want = f.evaluate({a: self._sample(a), b: self._sample(b)})
                if self._holds(target, want, 0.5):
                    out.append(Candidate(t, f.text, 5.0, sources=[a, b]))
        return out

    def _timestamps(self) -> list[Candidate]:
        """``stamp = timestamp(year, month, day[, hour]) + offset`` with a constant offset."""
        whole = [c for c in self.values if c not in self.datetimes]
        years = [c for c in whole if _within(self.values[c], 1000, 3000)]
        months = [c for c in whole if _within(self.values[c], 1, 12)]
        days = [c for c in whole if _within(self.values[c], 1, 31)]
        hours = [c for c in whole if _within(self.values[c], 0, 23)]
        out = []
        for t in sorted(self.datetimes):
            target = self._sample(t)
            for y in years:
                for m in (m for m in months if m != y):
                    for d in (d for d in days if d not in (y, m)):
                        for h in [None, *(h for h in hours if h not in (y, m, d))]:
                            cols = [y, m, d] + ([h] if h else [])
                            f = Formula(f"timestamp({', '.join(map(quote, cols))})")
                            self.tested += 1
                            base = f.evaluate({c: self._sample(c) for c in cols})
                            gap = target - base
                            gap = gap[np.isfinite(gap)]
                            if gap.size < MIN_ROWS:
                                continue
                            if np.ptp(gap) > 0.5:  # daylight saving: the wall clock of one time zone
                                zone = _zone(target, base, gap)
                                if zone:
                                    out.append(Candidate(t, f"utc({f.text}, '{zone}')", 6.8, sources=cols))
                                continue
                            offset = float(np.round(np.median(gap)))
                            text = f.text
                            if offset:
                                size = abs(offset)
                                shown = f"hours({size / 3600:g})" if size % 3600 == 0 else f"{size:g}"
                                text += f" {'+' if offset > 0 else '-'} {shown}"
                            out.append(Candidate(t, text, 6.0 + (0 if h else 0.5), sources=cols))
        return out

    def _confirm(self, cand: Candidate) -> Candidate | None:
        """Check on every row and test against chance; None when it fails."""
        f = Formula(cand.formula)
        got = self.values[cand.column]
        want = f.evaluate({c: self.values[c] for c in f.columns})
        known = np.isfinite(got) & np.all([np.isfinite(self.values[c]) for c in f.columns], axis=0)
        tol = self._tol(cand.column, np.where(np.isfinite(want), want, 0.0))
        with np.errstate(invalid="ignore"):
            bad = known & ~(np.abs(got - want) <= tol)
        cand.rows, cand.broken = int(known.sum()), int(bad.sum())
        shuffled = {c: self.rng.permutation(self.values[c][self.rows]) for c in f.columns}
        sample_want = f.evaluate(shuffled)
        sample_got = got[self.rows]
        sk = np.isfinite(sample_got) & ~np.isnan(sample_want)
        with np.errstate(invalid="ignore"):
            hits = int((np.abs(sample_got - sample_want) <= self._tol(cand.column, np.nan_to_num(sample_want)))[sk].sum())
        cand.chance = chance_log10(smoothed(hits, int(sk.sum())), cand.rows)
        return cand


def accept(cand: Candidate) -> str | None:
    """Why a confirmed candidate is not kept (None when it is kept)."""
    if cand.rows < MIN_ROWS:
        return "too few rows"
    if cand.broken:
        return "broken in some rows"
    if cand.chance >= CHANCE_LOG10:
        return "could hold by chance"
    return None
