"""Labelled examples for data augmentation: paraphrases of real labelled texts, or new texts of a class.

The task behind :func:`simulacra.augment.llm_augment`. Generation goes through the
:class:`~simulacra.text.engine.Engine` (cache, structured output, retries) with the paraphrase and
labelled-generation tasks of :mod:`simulacra.text.tasks.label`; this task adds what augmentation needs on
top: one output per requested *slot* (a real example to paraphrase, or a class to write for), outputs
cleaned of list marks and quotes, and every empty answer, copy of a real text and duplicate rejected
and counted in the :class:`~simulacra.text.result.TaskResult` (never hidden).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult
from simulacra.text.tasks import as_engine

MODES = ("paraphrase", "new")
#: Rejection reasons, as counted in the task result.
EMPTY, COPY = "empty", "copy of a real text or duplicate"


def clean_generation(text: str) -> str:
    """The first non-empty line of a generated text, without list marks, quotes or a 'Text:' prefix.

    Examples
    --------
    >>> clean_generation('  - "A fine, warm film."\\nText: another')
    'A fine, warm film.'
    """
    for line in str(text).splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)]|text:|rewritten:)\s*", "", line.strip(), flags=re.IGNORECASE).strip()
        line = line.strip("\"'“”").strip()
        if line:
            return line
    return ""


def augment_labelled(
    texts: Sequence[str],
    labels: Sequence[Any],
    slots: Sequence[int],
    *,
    mode: str = "paraphrase",
    n_shots: int = 5,
    seed: int = 0,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """One new labelled text per slot: a paraphrase of ``texts[i]`` (``mode='paraphrase'``) or a new text
    of class ``labels[i]`` shown up to ``n_shots`` real examples of it (``mode='new'``), for each ``i`` in
    ``slots``.

    Records are ``{"source": i, "text", "label"}`` (``label`` as given). Every slot is accounted for in
    stage ``accept``: a slot whose output stayed invalid after the engine's retries, or was empty once
    cleaned, is rejected as ``empty``; copies of any given text and duplicates as ``copy of a real text or
    duplicate``.

    Examples
    --------
    >>> res = augment_labelled(["a warm, funny film", "a dull plot"], ["pos", "neg"], [0, 1, 1], backend="fake")
    >>> sorted(r["label"] for r in res.records), res.stages[-1].inputs
    (['neg', 'neg', 'pos'], 3)
    """
    if mode not in MODES:
        raise InputError(f"mode must be 'paraphrase' or 'new', got {mode!r}")
    if len(texts) != len(labels):
        raise InputError(f"{len(texts)} texts but {len(labels)} labels; give one label per text.")
    eng = as_engine(engine, backend)
    res = TaskResult("augment-labelled", config={"mode": mode, "slots": len(slots), "n_shots": n_shots, "seed": seed})
    made = _paraphrases(texts, slots, eng, seed) if mode == "paraphrase" else _new_texts(texts, labels, slots, n_shots, eng, seed)
    accept = res.stage("accept")
    seen = {str(t).strip().lower() for t in texts}
    for source, raw in made:
        row = {"source": int(source), "text": clean_generation(raw), "label": labels[source]}
        accept.inputs += 1
        key = row["text"].lower()
        if not key:
            res.reject(accept, row, EMPTY)
        elif key in seen:
            res.reject(accept, row, COPY)
        else:
            seen.add(key)
            accept.outputs += 1
            res.records.append(row)
    res.engine_stats = eng.stats()
    return res


def _paraphrases(texts: Sequence[str], slots: Sequence[int], eng: Engine, seed: int) -> list[tuple[int, str]]:
    from simulacra.text.tasks.label import paraphrase

    need = Counter(int(i) for i in slots)
    sources = list(need)
    if not sources:
        return []
    outs = paraphrase([str(texts[i]) for i in sources], max(need.values()), engine=eng, seed=seed)
    # a slot without a valid output gets an empty text, so that it is counted (as empty), not lost
    return [(i, versions[k] if k < len(versions) else "") for i, versions in zip(sources, outs) for k in range(need[i])]


def _new_texts(texts: Sequence[str], labels: Sequence[Any], slots: Sequence[int], n_shots: int, eng: Engine,
               seed: int) -> list[tuple[int, str]]:
    from simulacra.text.tasks.label import generate_labelled

    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for i in slots:
        by_class.setdefault(str(labels[int(i)]), []).append(int(i))
    if not by_class:
        return []
    pools = {c: [j for j, lb in enumerate(labels) if str(lb) == c] for c in by_class}
    examples = {c: [str(texts[j]) for j in rng.choice(pool, size=min(n_shots, len(pool)), replace=False)]
                for c, pool in pools.items()}
    res = generate_labelled(list(by_class), {c: len(v) for c, v in by_class.items()}, examples=examples,
                            engine=eng, seed=seed)
    left = {c: list(v) for c, v in by_class.items()}
    out = []
    for rec in res.records:
        owners = left.get(str(rec.get("label")))
        if owners and rec.get("_status", "ok") == "ok":
            out.append((owners.pop(0), str(rec.get("text") or "")))
    return out + [(i, "") for owners in left.values() for i in owners]  # slots the model did not fill


__all__ = ["augment_labelled", "clean_generation"]
