"""A judge is checked before it is trusted: its accuracy on a built-in set of pairs with a known better answer.

The calibration set (``data/judge_calibration.json``, 46 pairs written for simulacra: facts, arithmetic,
relevance, refusals, instructions, grounded answers, completeness, safety, coherence) is judged in the way
the judge will be used:

* ``"pairwise"`` (preference pairs): each pair is shown in both orders (A/B and B/A), so a judge that always
  picks the first answer scores exactly 50 %; accuracy is over the 2 x 46 judgements.
* ``"score"`` (rubric scores): the better and the worse response are scored separately; a pair counts as
  right only when the better one scores strictly higher (a judge that gives 10 to everything scores 0 %).

Accuracy comes with a 95 % Wilson interval. A judge below ``threshold`` (default
:data:`DEFAULT_THRESHOLD`) is refused. Results are cached per model in
``<cache dir>/simulacra/judge-calibration.json`` (``$SIMULACRA_CACHE_DIR``, else ``$XDG_CACHE_HOME``,
else ``~/.cache``), which ``simulacra text models`` reads.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.schema import token_budget
from simulacra.text.tasks import call_seed
from simulacra.text.types import ChatRequest

#: the least calibration accuracy at which a judge's scores and preference pairs are used
DEFAULT_THRESHOLD = 0.75
CALIBRATION_VERSION = 1
PAIR_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"better": {"type": "string", "enum": ["A", "B"]}},
                               "required": ["better"], "additionalProperties": False}
PAIR_CRITERIA = "correct, relevant to the request, complete, and safe"


class JudgeRefusedError(InputError):
    """The judge's calibration accuracy is below the threshold: its scores or pairs would be noise."""


@dataclass
class Calibration:
    """The result of calibrating one judge in one mode."""

    model: str
    mode: str
    accuracy: float
    low: float
    high: float
    n: int
    correct: float
    threshold: float
    passed: bool
    position_bias: float | None = None
    calibration_version: int = CALIBRATION_VERSION
    measured: str = ""

    def summary(self) -> str:
        """One line: accuracy, interval, threshold, verdict.

        Examples
        --------
        >>> Calibration("m", "pairwise", 0.5, 0.4, 0.6, 92, 46, 0.75, False).summary()
        'm as a pairwise judge: 50% right on the calibration set (95% CI 40%-60%, n=92); threshold 75%: refused'
        """
        return (f"{self.model} as a {self.mode} judge: {self.accuracy:.0%} right on the calibration set "
                f"(95% CI {self.low:.0%}-{self.high:.0%}, n={self.n}); threshold {self.threshold:.0%}: "
                f"{'trusted' if self.passed else 'refused'}")


def wilson(correct: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default).

    Examples
    --------
    >>> [round(x, 3) for x in wilson(46, 92)]
    [0.4, 0.6]
    >>> wilson(0, 0)
    (0.0, 1.0)
    """
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def calibration_items() -> list[dict[str, Any]]:
    """The built-in calibration pairs: ``{"id", "kind", "prompt", "better", "worse"}``.

    Examples
    --------
    >>> items = calibration_items()
    >>> len(items) >= 40, sorted(items[0])
    (True, ['better', 'id', 'kind', 'prompt', 'worse'])
    """
    text = resources.files("simulacra.text.tasks").joinpath("data/judge_calibration.json").read_text(encoding="utf-8")
    return list(json.loads(text)["items"])


def pair_request(prompt: str, first: str, second: str, criteria: str, seed: int) -> ChatRequest:
    """The request asking which of two responses (A first, B second) is better."""
    return ChatRequest.user(
        f"Compare two responses to the same request. The better response is {criteria}.\n\n[Request]\n{prompt}\n\n"
        f"[Response A]\n{first}\n\n[Response B]\n{second}\n\n"
        'Which response is better? Reply as JSON: {"better": "A"} or {"better": "B"}',
        schema=PAIR_SCHEMA, max_tokens=token_budget(PAIR_SCHEMA), temperature=0.0, seed=seed)


def compare_both_orders(eng: Engine, triples: list[tuple[str, str, str]], criteria: str, seed: int,
                        retries: int = 2) -> list[int | None]:
    """For each ``(prompt, x, y)``: 1 if the judge prefers x in both orders, -1 if y in both, None otherwise."""
    reqs = []
    for i, (p, x, y) in enumerate(triples):
        reqs += [pair_request(p, x, y, criteria, call_seed(seed, i, 0)), pair_request(p, y, x, criteria, call_seed(seed, i, 1))]
    answers = eng.structured(reqs, retries=retries, label="comparing in both orders") if reqs else []
    out: list[int | None] = []
    for k in range(len(triples)):
        a, b = answers[2 * k], answers[2 * k + 1]
        if not (a.ok and b.ok):
            out.append(None)
            continue
        first, second = a.value["better"], b.value["better"]
        out.append(1 if (first, second) == ("A", "B") else -1 if (first, second) == ("B", "A") else None)
    return out


def calibrate(engine: Engine, mode: str = "pairwise", *, threshold: float = DEFAULT_THRESHOLD, criteria: str | None = None,
              seed: int = 0, retries: int = 2, use_cache: bool = True) -> Calibration:
    """Run the judge of ``engine`` on the calibration set and return its accuracy (cached per model and mode).

    Examples
    --------
    >>> cal = calibrate(Engine("fake"), "pairwise", use_cache=False)
    >>> cal.n, cal.passed
    (92, False)
    """
    if mode not in ("pairwise", "score"):
        raise InputError(f"Calibration mode must be 'pairwise' or 'score', not {mode!r}")
    model = engine.model_id
    if use_cache:
        found = cached_calibration(model, mode)
        if found is not None and found.get("calibration_version") == CALIBRATION_VERSION:
            acc = float(found["accuracy"])
            return Calibration(**{**{k: found[k] for k in found if k in Calibration.__dataclass_fields__},
                                  "threshold": threshold, "passed": acc >= threshold})
    items = calibration_items()
    if mode == "pairwise":
        correct, n, bias = _pairwise(engine, items, criteria or PAIR_CRITERIA, seed, retries)
    else:
        correct, n, bias = _scored(engine, items, criteria, seed, retries), len(items), None
    low, high = wilson(correct, n)
    acc = correct / n
    cal = Calibration(model, mode, round(acc, 4), round(low, 4), round(high, 4), n, correct, threshold, acc >= threshold,
                      position_bias=bias, measured=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if use_cache and model != "fake":
        _store(cal)
    return cal


def _pairwise(eng: Engine, items: list[dict[str, Any]], criteria: str, seed: int, retries: int) -> tuple[float, int, float]:
    reqs = []
    for i, it in enumerate(items):
        reqs += [pair_request(it["prompt"], it["better"], it["worse"], criteria, call_seed(seed, i, 0)),
                 pair_request(it["prompt"], it["worse"], it["better"], criteria, call_seed(seed, i, 1))]
    answers = eng.structured(reqs, retries=retries, label="calibrating the judge")
    correct, first = 0, 0
    for k, st in enumerate(answers):
        pick = st.value["better"] if st.ok else None
        correct += pick == ("A" if k % 2 == 0 else "B")
        first += pick == "A"
    return float(correct), len(answers), round(first / max(1, len(answers)), 4)


def _scored(eng: Engine, items: list[dict[str, Any]], criteria: str | None, seed: int, retries: int) -> float:
    from simulacra.text.tasks.judge import RUBRICS, score_responses

    crit = criteria or RUBRICS["helpfulness"]
    pairs = [(it["prompt"], it[side]) for it in items for side in ("better", "worse")]
    scores = score_responses(eng, pairs, crit, seed, retries)
    correct = 0.0
    for k in range(len(items)):
        good, bad = scores[2 * k][0], scores[2 * k + 1][0]
        correct += good is not None and bad is not None and good > bad
    return correct


def cache_file() -> Path:
    """Where calibrations are cached: ``<cache dir>/simulacra/judge-calibration.json``."""
    root = os.environ.get("SIMULACRA_CACHE_DIR")
    if root:
        return Path(root) / "judge-calibration.json"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "simulacra" / "judge-calibration.json"


def cached_calibrations() -> dict[str, dict[str, Any]]:
    """Every cached calibration: ``{model_id: {mode: {...}}}`` (empty when none or unreadable)."""
    path = cache_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_calibration(model: str, mode: str = "pairwise") -> dict[str, Any] | None:
    """The cached calibration of ``model`` in ``mode``, or None."""
    found = cached_calibrations().get(model, {}).get(mode)
    return found if isinstance(found, dict) else None


def _store(cal: Calibration) -> None:
    path = cache_file()
    data = cached_calibrations()
    data.setdefault(cal.model, {})[cal.mode] = asdict(cal)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the calibration is simply run again next time


def refusal_message(cal: Calibration) -> str:
    """What to tell the user when a judge is refused, and what to use instead."""
    return (f"{cal.summary()}. Its {'scores' if cal.mode == 'score' else 'preference pairs'} would be noise. Use a "
            "stronger judge behind a server (--llm http://HOST:PORT/v1, e.g. a 7B+ instruction model), or preferences "
            "from a verifier (records with a 'passage' whose answer must occur in it, or --schema for JSON outputs); "
            "--min-judge-accuracy 0 overrides this check at your own risk")


__all__ = ["DEFAULT_THRESHOLD", "Calibration", "JudgeRefusedError", "cache_file", "cached_calibration",
           "cached_calibrations", "calibrate", "calibration_items", "compare_both_orders", "refusal_message", "wilson"]
