"""Generative text augmentation: LLM paraphrases and new labelled examples, per-class quotas, and the
label-consistency filter (a classifier trained on the real data rejects generated examples it
confidently assigns to another class)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from simulacra.errors import InputError

PARAPHRASE_PROMPT = (
    "Rewrite the following text in different words. Keep its meaning and its {label_name} "
    "({label}). Answer with the rewritten text only.\nText: {text}\nRewritten:"
)
NEW_EXAMPLE_PROMPT = (
    "Here are examples of texts whose {label_name} is \"{label}\":\n{examples}\n"
    "Write one new, different text whose {label_name} is \"{label}\". Answer with the text only.\nText:"
)


@runtime_checkable
class TextGenerator(Protocol):
    """The least a text generator must offer: a completion for a prompt. simulacra's LLM backends
    (``complete(requests)`` on batches of chat requests) are accepted as they are."""

    def generate(self, prompt: str, **options: Any) -> Any: ...


BatchGenerate = Callable[[list[str], list[int]], list[str]]


def as_batch_generate(generator: Any, *, max_tokens: int = 96, temperature: float = 0.9) -> BatchGenerate:
    """A function ``(prompts, seeds) -> texts`` from a simulacra LLM backend (``complete`` on a batch of
    :class:`~simulacra.text.types.ChatRequest`), an object with ``generate(prompt)``, or a callable.

    Backends may return a string, a list of strings or an object with ``.text``; the first text is
    used; a failed request gives an empty text (counted as such, never raised).

    Examples
    --------
    >>> as_batch_generate(lambda prompt: prompt.upper())(["hi", "yo"], [0, 1])
    ['HI', 'YO']
    """
    if callable(getattr(generator, "complete", None)) and hasattr(generator, "model_id"):
        from simulacra.text.types import ChatRequest

        def batch(prompts: list[str], seeds: list[int]) -> list[str]:
            reqs = [ChatRequest.user(p, seed=int(s), max_tokens=max_tokens, temperature=temperature)
                    for p, s in zip(prompts, seeds)]
            return ["" if getattr(c, "error", None) else _first_text(c) for c in generator.complete(reqs)]

        return batch
    method = getattr(generator, "generate", None)
    if not callable(method):
        method = generator if callable(generator) else None
    if method is None:
        raise InputError(f"{type(generator).__name__} cannot generate text: give an LLM backend, an object "
                         "with generate(prompt) or a callable prompt -> text.")

    def one(prompt: str, seed: int) -> str:
        try:
            out = method(prompt, seed=seed)
        except TypeError:
            out = method(prompt)
        return _first_text(out)

    return lambda prompts, seeds: [one(p, s) for p, s in zip(prompts, seeds)]


def _first_text(out: Any) -> str:
    if isinstance(out, str):
        return out
    if isinstance(out, (list, tuple)) and out:
        return _first_text(out[0])
    for attr in ("text", "content", "completion"):
        if isinstance(getattr(out, attr, None), str):
            return str(getattr(out, attr))
    return str(out) if out is not None else ""


def clean_generation(text: str) -> str:
    """The first non-empty line of a completion, without list marks, quotes or a 'Text:' prefix.

    Examples
    --------
    >>> clean_generation('  - "A fine, warm film."\\nText: another')
    'A fine, warm film.'
    """
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)]|text:|rewritten:)\s*", "", line.strip(), flags=re.IGNORECASE).strip()
        line = line.strip("\"'“”").strip()
        if line:
            return line
    return ""


class LabelConsistencyFilter:
    """Rejects generated examples that a classifier trained on the real examples confidently puts in
    another class (probability of some other class >= ``threshold``).

    Examples
    --------
    >>> f = LabelConsistencyFilter(threshold=0.6).fit(["good fun", "great fun", "bad dull", "awful dull"] * 5,
    ...                                                ["pos", "pos", "neg", "neg"] * 5)
    >>> f.keep(["great good fun", "awful bad dull"], ["pos", "pos"]).tolist()
    [True, False]
    """

    def __init__(self, *, threshold: float = 0.6, random_state: int | None = None) -> None:
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, texts: Iterable[str], labels: Iterable[Any]) -> LabelConsistencyFilter:
        from simulacra.augment.models import fit_text_model

        texts_s, labels_s = pd.Series(list(texts)), pd.Series(list(labels))
        if labels_s.nunique() < 2:
            raise InputError("The label-consistency filter needs real examples of at least two classes.")
        # class-balanced: a classifier biased towards the majority would reject the minority's new examples
        self.model_ = fit_text_model(texts_s, labels_s, seed=self.random_state or 0, class_weight="balanced")
        return self

    def keep(self, texts: Iterable[str], labels: Iterable[Any]) -> np.ndarray:
        """True for each example to keep."""
        texts_l = [str(t) for t in texts]
        if not texts_l:
            return np.zeros(0, dtype=bool)
        proba = self.model_.predict_proba(texts_l)
        classes = np.asarray(self.model_.classes_).astype(str)
        own = np.asarray([str(x) for x in labels])[:, None] == classes[None, :]
        other_best = np.where(own, 0.0, proba).max(axis=1)
        return other_best < self.threshold


def class_quotas(counts: pd.Series, *, per_example: int = 1, balance: bool = False) -> dict[Any, int]:
    """New examples to make per class: ``per_example`` per real one, or (``balance``) enough to bring
    every class to the size of the largest.

    Examples
    --------
    >>> class_quotas(pd.Series({"ham": 10, "spam": 3}), balance=True)
    {'ham': 0, 'spam': 7}
    """
    if balance:
        top = int(counts.max())
        return {k: top - int(v) for k, v in counts.items()}
    return {k: per_example * int(v) for k, v in counts.items()}


def llm_augment(data: pd.DataFrame, text: str, label: str, generator: Any, *, mode: str = "paraphrase",
                per_example: int = 1, balance: bool = False, filter_threshold: float | None = 0.6,
                label_name: str | None = None, n_shots: int = 5, max_tries: int = 3,
                random_state: int | None = None, source_column: str | None = "augmentation",
                progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The real rows plus LLM-made rows: paraphrases of real examples or new examples of each class.

    Per-class quotas come from :func:`class_quotas`. ``generator`` is a simulacra LLM backend (or its
    description, e.g. ``'local'``; then :mod:`simulacra.text`'s paraphrase / labelled-generation tasks
    are used, with structured output, cache and dedup) or any callable ``prompt -> text`` (plain
    prompts; empty answers and copies are retried up to ``max_tries`` times). Copies of a real text
    and duplicates are rejected; the label-consistency filter then drops examples the real-data
    classifier puts in another class. ``result.attrs['report']`` counts rows requested, made, unfilled,
    rejected (by reason) and kept.

    Examples
    --------
    >>> df = pd.DataFrame({"t": ["good fun", "bad dull", "great fun"], "y": ["p", "n", "p"]})
    >>> out = llm_augment(df, "t", "y", lambda p, seed=0: f"variant {seed}", filter_threshold=None, random_state=0)
    >>> len(out), out.attrs["report"]["kept"]
    (6, 3)
    """
    for col in (text, label):
        if col not in data.columns:
            raise InputError(f"Column '{col}' is not in the table; columns are: {', '.join(map(str, data.columns))}")
    if mode not in ("paraphrase", "new"):
        raise InputError(f"mode must be 'paraphrase' or 'new', got {mode!r}")
    rng = np.random.default_rng(random_state)
    real = data.reset_index(drop=True)
    quotas = class_quotas(real[label].value_counts(sort=False), per_example=per_example, balance=balance)
    seen = set(real[text].astype(str).str.strip().str.lower())
    slots: list[int] = []  # the real row each new example comes from (paraphrase) or is labelled like
    for cls, quota in quotas.items():
        pool = np.flatnonzero((real[label] == cls).to_numpy())
        if quota:
            slots.extend(pool[np.arange(quota) % len(pool)] if mode == "paraphrase" else rng.choice(pool, size=quota))
    report = {"requested": len(slots), "made": 0, "unfilled": 0, "empty": 0, "copy_or_duplicate": 0,
              "label_inconsistent": 0}
    if is_backend(generator):
        made = _with_text_tasks(real, text, label, generator, mode, quotas, slots, seen, report, n_shots, rng)
    else:
        made = _with_prompts(real, text, label, as_batch_generate(generator), mode, slots, seen, report,
                             label_name, n_shots, max_tries, rng, progress)
    report["made"] = len(made)
    report["unfilled"] = len(slots) - len(made)
    new = pd.DataFrame(made, columns=real.columns)
    if filter_threshold is not None and len(new):
        keep = LabelConsistencyFilter(threshold=filter_threshold, random_state=random_state).fit(
            real[text].astype(str), real[label]).keep(new[text], new[label])
        report["label_inconsistent"] = int((~keep).sum())
        new = new[keep]
    report["kept"] = len(new)
    if source_column:
        real = real.assign(**{source_column: "real"})
        new = new.assign(**{source_column: f"llm-{mode}"})
    result = pd.concat([real, new], ignore_index=True)
    result.attrs["report"] = report
    return result


def is_backend(obj: Any) -> bool:
    """Whether ``obj`` is a simulacra LLM backend (or a description such as ``'fake'`` or ``'local'``)."""
    return isinstance(obj, str) or (callable(getattr(obj, "complete", None)) and hasattr(obj, "model_id"))


def _keep_new(out: str, seen: set[str], report: dict[str, int]) -> bool:
    if not out:
        report["empty"] += 1
        return False
    if out.lower() in seen:
        report["copy_or_duplicate"] += 1
        return False
    seen.add(out.lower())
    return True


def _with_prompts(real: pd.DataFrame, text: str, label: str, gen: BatchGenerate, mode: str, slots: list[int],
                  seen: set[str], report: dict[str, int], label_name: str | None, n_shots: int, max_tries: int,
                  rng: np.random.Generator, progress: Callable[[int, int], None] | None) -> list[dict[str, Any]]:
    """Plain-prompt generation for any callable: empty answers and copies are retried."""
    made: list[dict[str, Any]] = []
    todo = list(slots)
    for _attempt in range(max_tries):
        if not todo:
            break
        prompts = [_prompt(real, text, label, real.at[int(i), label], int(i), mode, label_name, n_shots, rng) for i in todo]
        outs = gen(prompts, [int(s) for s in rng.integers(2**31 - 1, size=len(todo))])
        retry = []
        for src, raw in zip(todo, outs):
            out = clean_generation(raw)
            if _keep_new(out, seen, report):
                made.append({**real.iloc[int(src)].to_dict(), text: out})
            else:
                retry.append(src)
        todo = retry
        if progress:
            progress(len(made), report["requested"])
    return made


def _with_text_tasks(real: pd.DataFrame, text: str, label: str, backend: Any, mode: str, quotas: dict[Any, int],
                     slots: list[int], seen: set[str], report: dict[str, int], n_shots: int,
                     rng: np.random.Generator) -> list[dict[str, Any]]:
    """Generation through simulacra.text's tasks (structured output, cache, dedup) for LLM backends."""
    from simulacra.text.tasks.label import generate_labelled, paraphrase

    seed = int(rng.integers(2**31 - 1))
    made: list[dict[str, Any]] = []
    if mode == "paraphrase":
        need = pd.Series(slots, dtype="int64").value_counts(sort=False)
        sources = [int(i) for i in need.index]
        outs = paraphrase([str(real.at[i, text]) for i in sources], int(need.max()), backend=backend, seed=seed) if sources else []
        for i, versions in zip(sources, outs):
            got = [clean_generation(v) for v in versions][: int(need[i])]
            made.extend({**real.iloc[i].to_dict(), text: v} for v in got if _keep_new(v, seen, report))
        return made
    names = {str(c): c for c in quotas}
    examples = {str(c): real.loc[real[label] == c, text].astype(str).sample(
        n=min(n_shots, int((real[label] == c).sum())), random_state=seed).tolist() for c in quotas}
    wanted = {str(c): q for c, q in quotas.items() if q > 0}
    res = generate_labelled(list(wanted), wanted, examples=examples, backend=backend, seed=seed) if wanted else None
    template = {slot_cls: real.iloc[i].to_dict() for i in slots for slot_cls in [real.at[i, label]]}
    for rec in res.records if res is not None else []:
        cls = names.get(str(rec.get("label")))
        out = clean_generation(str(rec.get("text") or ""))
        if cls is not None and rec.get("_status", "ok") != "invalid" and _keep_new(out, seen, report):
            made.append({**template[cls], text: out, label: cls})
    return made


def _prompt(real: pd.DataFrame, text: str, label: str, cls: Any, src: int, mode: str, label_name: str | None,
            n_shots: int, rng: np.random.Generator) -> str:
    name = label_name or label
    if mode == "paraphrase":
        return PARAPHRASE_PROMPT.format(label_name=name, label=cls, text=real.at[src, text])
    pool = np.flatnonzero((real[label] == cls).to_numpy())
    shots = rng.choice(pool, size=min(n_shots, len(pool)), replace=False)
    examples = "\n".join(f"- {real.at[int(i), text]}" for i in shots)
    return NEW_EXAMPLE_PROMPT.format(label_name=name, label=cls, examples=examples)
