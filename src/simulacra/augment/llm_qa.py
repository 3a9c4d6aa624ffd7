"""The uplift experiment for question answering: does fine-tuning on a documents corpus make a model answer
held-out questions about those documents, written by hand, better than the base?

Held-out rows are ``{"question": ..., "answer": ...}`` (the reference answer). Every model answers every question
with greedy decoding, in the same chat form as the corpus rows it was trained on (:func:`qa_messages`: the
question as the user's message, under the chat template's own system prompt). Per question, as shares:

- ``answer_match`` (the headline): a reference-based verifier that a padded answer cannot fool. The answer's
  normalised words (lower case, NFKC, numbers as digits: ``1,001`` = ``1001``, articles and sentence
  punctuation dropped) contain every word of the reference, a written group such as ``--format`` or
  ``refine="auto"`` as one run, and the answer does not hedge: no number beyond
  those of the reference and the question, no hedge (``or``, ``either``, ``maybe``, ``a/b`` but not a file
  path, where the reference has none), no list of candidates (more alternatives, split at commas, ``or``, ``and``, slashes and line breaks,
  than the reference itself has, plus one), not the opposite of a yes/no reference as well, and at most
  :data:`MAX_EXTRA_WORDS` content words that are in neither the reference nor the question; and the reference
  is not only denied: some word of it must stand outside every negation (``It is not LightGBM`` and ``No,
  LightGBM is not used`` do not match ``LightGBM``; ``LightGBM, not XGBoost`` does). See :func:`negated_words`;
- ``exact_match``: the normalised answer is the normalised reference;
- ``token_f1``: the SQuAD-style F1 of the answer's words against the reference's (padding lowers precision);
- ``judged_correct``: a judge's verdict (score ≥ 6 of 10 with the reference given), only when the judge passed
  the score-mode calibration of the text quality work (:mod:`simulacra.text.tasks.calibration`, 75 %); otherwise
  it is not measured and the report says why.

Open book (``context``, a folder or file of documents): the documents are cut by the corpus's own chunker and
passages (:mod:`simulacra.text.corpus.passages`), the ``top_k`` passages a TF-IDF retriever ranks highest for each
question are put before it in the prompt of the open-book corpus (``simulacra corpus --open-book``), the same
passages for every model, and the report gives the retrieval recall: the share of questions whose reference answer
(every word group of it, normalised as above) is in their passages, the ceiling of answer match.

Seeds, verdicts and renderings are those of the function-calling uplift (:class:`~simulacra.augment.llm.LlmUpliftResult`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.augment.llm import BackendFactory, LlmUpliftResult, Progress, answer_with_models, model_runs
from simulacra.errors import InputError
from simulacra.text.corpus.passages import PASSAGE_WORDS, TOP_K

QA_METRICS = ["answer_match", "exact_match", "token_f1", "judged_correct"]
QA_LABELS = dict(zip(QA_METRICS, ["answer match", "exact match", "token F1", "judged correct"]))
#: content words an answer may add beyond the reference and the question before it counts as padding
MAX_EXTRA_WORDS = 15
#: a judge score (1-10) from which an answer counts as correct
JUDGE_PASS = 6
_STOP = frozenset("a an the is are was were be it its of in on at to for by with as this that these those which what "
                  "how many much does do did can could should would will it's there their they i you we answer".split())
_DROP = str.maketrans({c: " " for c in ",;!?\"'`()[]{}<>*"})
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+|\S")
#: ``a/b`` hedges; a file path (``examples/customers.yaml``, ``src/a/b``) does not
_HEDGE = re.compile(r"\bor\b|\beither\b|(?<![\w./-])\w+/\w+(?![\w/-]|\.\w)|\bmaybe\b|\bperhaps\b|\bpossibly\b",
                    re.IGNORECASE)
_OPPOSITE = {"yes": "no", "no": "yes", "true": "false", "false": "true"}
_SPLIT = re.compile(r",|;|/|\n|\bor\b|\band\b|^\s*[-*•]\s|\n\s*[-*•]\s|\n\s*\d+[.)]\s", re.IGNORECASE)


def qa_messages(question: str, context: Sequence[Any] | None = None) -> list[dict[str, str]]:
    """The prompt of a question, exactly as the documents corpus trains it (the user's message only); with
    ``context`` (passages), as the open-book corpus does."""
    from simulacra.text.corpus.docs_output import chat

    return chat({"question": question, "answer": "", "context": list(context or [])})[:-1]


def _digits(text: str) -> str:
    """``1,001`` / ``65 536`` / ``1_000`` -> ``1001`` / ``65536`` / ``1000``; a trailing sentence period is not a decimal."""
    text = re.sub(r"(?<=\d)[,\u202f\u00a0 _](?=\d{3}\b)", "", text)
    return re.sub(r"(?<=\d)\.(?!\d)", " ", text)


def tokens(text: str) -> list[str]:
    """The normalised words of ``text`` (see the module docstring); symbols such as ``%``, ``=``, ``_`` and ``.``
    stay as words of their own, so ``15 %`` and ``_ or .`` can be matched.

    Examples
    --------
    >>> tokens("About 1,001 knots.")
    ['about', '1001', 'knots']
    >>> tokens('refine="auto"')
    ['refine', '=', 'auto']
    """
    text = _digits(re.sub(r"(?<=\w)['’]s\b", "", unicodedata.normalize("NFKC", text).lower())).translate(_DROP)
    out = _TOKEN.findall(text)
    while out and out[-1] == ".":  # the full stop of a sentence
        out.pop()
    return [t for t in out if t not in ("a", "an", "the")]


def _numbers(words: Sequence[str]) -> set[str]:
    return {w for w in words if w[0].isdigit()}


def _alternatives(text: str) -> int:
    return len([p for p in _SPLIT.split(_digits(text)) if p and p.strip(" .:-")])


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style F1 of the answer's normalised words against the reference's."""
    a, r = tokens(answer), tokens(reference)
    common = sum((Counter(a) & Counter(r)).values())
    if not a or not r or not common:
        return float(a == r)
    p, rec = common / len(a), common / len(r)
    return 2 * p * rec / (p + rec)


def _chunks(reference: str) -> list[list[str]]:
    """The reference's words grouped as written: ``--format chat`` -> ``[["-", "-", "format"], ["chat"]]``."""
    return [t for t in (tokens(w) for w in _digits(reference).split()) if t]


def _contains(words: Sequence[str], chunk: Sequence[str]) -> bool:
    n = len(chunk)
    return any(list(words[i:i + n]) == list(chunk) for i in range(len(words) - n + 1))


#: where a negation's scope ends: sentence and clause punctuation, and the words that start a new clause
_CLAUSE = re.compile(r"[.;:,!?](?:\s|$)|\n|[()\[\]]|\b(?:and|but|while|whereas|although|though|however|instead|"
                     r"yet|so)\b", re.IGNORECASE)
#: cues that deny what follows them in their clause (``not LightGBM``, ``without LightGBM``, ``rather than X``)
_DENY_AFTER = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|without|cannot|except|unlike|"
                         r"rather than|instead of|other than)\b", re.IGNORECASE)
#: cues that also deny the subject before them when the rest of the clause only restates the question
#: (``LightGBM is not used``; but not ``LightGBM does not need tuning``, which says something new)
_DENY_BEFORE = re.compile(r"\b(?:not|never|cannot)\b", re.IGNORECASE)
_NOT_A_DENIAL = re.compile(r"\bnot (?:only|just|merely)\b|\bno (?:doubt|matter)\b", re.IGNORECASE)


def _stem(word: str) -> str:
    """A crude stem, enough to see ``used`` in ``use`` (``use``, ``used``, ``uses``, ``using`` -> ``us``)."""
    for suffix in ("ing", "ed", "es", "s", "e", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return word[: -len(suffix)]
    return word


def _plain_negations(text: str) -> str:
    """``text`` with ``n't`` written ``not`` and the phrases that only look negative (``not only``) blanked."""
    return _NOT_A_DENIAL.sub(" ", re.sub(r"n[’']t\b", " not", text, flags=re.IGNORECASE))


def _denies(text: str) -> bool:
    return bool(_DENY_AFTER.search(_plain_negations(text)))


def negated_words(answer: str, reference: str, question: str = "") -> list[str]:
    """The reference's word groups that ``answer`` has only inside a negation's scope ('' if the reference or the
    question is itself negative: then a negation in the answer is expected).

    A scope runs from a cue (``not``, ``no``, ``never``, ``n't``, ``without``, ``rather than``...) to the end of its
    clause (punctuation, or ``and``/``but``/``while``...); ``not``/``never`` also deny the clause's words before them
    when what follows them only restates the question. A leading ``No`` of its own denies the whole answer.

    Examples
    --------
    >>> negated_words("It is not LightGBM.", "LightGBM"), negated_words("LightGBM, not XGBoost.", "LightGBM")
    (['lightgbm'], [])
    >>> negated_words("No, LightGBM is not used.", "LightGBM", "Which library is used for boosting?")
    ['lightgbm']
    >>> negated_words("LightGBM does not need tuning.", "LightGBM", "Which library is used for boosting?")
    []
    """
    if _denies(reference) or _denies(question):
        return []
    clauses = [c for c in _CLAUSE.split(_plain_negations(answer)) if c and c.strip()]
    if clauses and tokens(clauses[0]) == ["no"]:
        return [" ".join(c) for c in _chunks(reference)]
    known = {_stem(w) for w in tokens(question) + tokens(reference)} | _STOP
    said = [tokens(c) for c in clauses]
    free: list[list[str]] = []  # per clause, the words that stand outside every negation
    for clause in clauses:
        cue = _DENY_AFTER.search(clause)
        head = clause[: cue.start()] if cue else clause
        before = _DENY_BEFORE.search(clause)
        if before and all(_stem(w) in known or not w[0].isalnum() for w in tokens(clause[before.end():])):
            head = ""  # ``LightGBM is not used``: the clause denies its subject
        free.append(tokens(head))
    return [" ".join(c) for c in _chunks(reference) if any(w[0].isalnum() and w not in _STOP for w in c)
            and any(_contains(words, c) for words in said) and not any(_contains(words, c) for words in free)]


def match_reason(answer: str, reference: str, question: str = "") -> str:
    """Why ``answer`` does not match ``reference`` under the verifier of the module docstring ('' when it does)."""
    a, r, q = tokens(answer), tokens(reference), set(tokens(question))
    if not r:
        return "the reference has no words"
    missing = [" ".join(c) for c in _chunks(reference) if not _contains(a, c)]
    if missing:
        return "missing: " + ", ".join(missing)
    denied = negated_words(answer, reference, question)
    if denied:
        return "denied: " + ", ".join(denied)
    other_numbers = _numbers(a) - _numbers(r) - _numbers(list(q))
    if other_numbers:
        return "other numbers: " + " ".join(sorted(other_numbers))
    if _HEDGE.search(answer) and not _HEDGE.search(reference):
        return "hedges between candidates: " + _HEDGE.search(answer).group(0)  # type: ignore[union-attr]
    if _alternatives(answer) > _alternatives(reference) + 1:
        return f"a list of {_alternatives(answer)} candidates"
    opposite = {_OPPOSITE[w] for w in r if w in _OPPOSITE} & set(a)
    if opposite:
        return "also says " + " ".join(sorted(opposite))
    extra = [w for w in a if w not in set(r) | q and w not in _STOP and (w[0].isalnum())]
    if len(extra) > MAX_EXTRA_WORDS:
        return f"padded: {len(extra)} words beyond the reference and the question"
    return ""


def answer_in(text: str, reference: str) -> bool:
    """Whether every word group of ``reference`` is in ``text`` (normalised as for answer match).

    Examples
    --------
    >>> answer_in("Each column gets 1001 knots.", "1,001"), answer_in("Use --format chat.", "--format json")
    (True, False)
    """
    words = tokens(text)
    groups = _chunks(reference)
    return bool(groups) and all(_contains(words, c) for c in groups)


def retrieve(context: str | Path, questions: Sequence[str], *, top_k: int, passage_words: int,
             max_words: int = 350) -> tuple[list[list[Any]], dict[str, Any]]:
    """The ``top_k`` passages of the documents under ``context`` for every question, and the retrieval settings."""
    from simulacra.text.corpus.chunks import chunk_documents
    from simulacra.text.corpus.passages import Retriever, passages_of

    chunks = chunk_documents(context, max_words=max_words)
    if not chunks:
        raise InputError(f"No text in the documents under '{context}' (--context: a folder or file of .md/.txt)")
    retriever = Retriever(passages_of(chunks, passage_words))
    found = [retriever.search(q, top_k) for q in questions]
    info = {"context": str(context), "retrieval": f"top {top_k} of {len(retriever.passages)} passages of at most "
            f"{passage_words} words ({len(chunks)} chunks of at most {max_words}), TF-IDF cosine (scikit-learn)"}
    return found, info


def score_qa(answer: str, reference: str, question: str = "") -> dict[str, Any]:
    """``answer_match``, ``exact_match`` and ``token_f1`` of one answer, and why it did not match.

    Examples
    --------
    >>> score_qa("It has 1001 knots.", "1,001")["answer_match"]
    1.0
    >>> score_qa("80, 100, 200 or 500", "80")["reason"]
    'other numbers: 100 200 500'
    """
    why = match_reason(answer, reference, question)
    return {"answer_match": float(not why), "exact_match": float(tokens(answer) == tokens(reference)),
            "token_f1": token_f1(answer, reference), "reason": why}


def read_questions(path: str | Path) -> list[tuple[str, str]]:
    """``(question, reference answer)`` for every row; a row without both, as strings, is an error naming its line."""
    from simulacra.train.data import read_rows

    out = []
    for where, row in read_rows(path):
        q, a = row.get("question"), row.get("answer")
        if not isinstance(q, str) or not q.strip() or not isinstance(a, (str, int, float)) or not str(a).strip():
            raise InputError(f"{where}: a held-out QA row needs 'question' and 'answer' (non-empty strings)")
        out.append((q, str(a)))
    return out


def judge_for_qa(judge: Any, progress: Progress | None = None) -> tuple[Any, str]:
    """``(engine or None, note)``: the judge engine when its score-mode calibration reaches the 75 % gate (it is
    calibrated now when no calibration is cached), else None and the reason, for the report."""
    from simulacra.text.engine import Engine
    from simulacra.text.tasks.calibration import DEFAULT_THRESHOLD, calibrate

    engine = judge if isinstance(judge, Engine) else Engine(judge)
    if progress:
        progress(f"checking the judge {engine.model_id} on the calibration set (score mode; cached per model)")
    cal = calibrate(engine, "score", threshold=DEFAULT_THRESHOLD)
    if cal.accuracy < DEFAULT_THRESHOLD:
        if not isinstance(judge, Engine):
            engine.close()  # ours, and not needed
        return None, (f"judged correctness not measured: the judge {engine.model_id} scored {cal.accuracy:.0%} of the "
                      f"{cal.n} calibration pairs right in score mode, below the {DEFAULT_THRESHOLD:.0%} gate; its "
                      "verdicts would be noise (a stronger judge behind a server: --judge http://HOST:PORT/v1)")
    return engine, f"judged correctness by {engine.model_id} (score calibration {cal.accuracy:.0%} ≥ {DEFAULT_THRESHOLD:.0%})"


_JUDGE_CRITERION = ("Whether the response answers the question correctly. The correct answer is given after the question "
                    "as [Reference]; a response that lists several candidates, or adds wrong facts, is not correct.")


def _judged(engine: Any, rows: Sequence[tuple[str, str]], texts: Sequence[str], seed: int) -> list[float]:
    """1.0 / 0.0 per answer by the judge (score ≥ :data:`JUDGE_PASS` with the reference shown); NaN where it failed."""
    from simulacra.text.tasks.judge import score_responses

    items: list[tuple[str | None, str | None]] = [(f"{q}\n\n[Reference]\n{a}", t) for (q, a), t in zip(rows, texts)]
    return [math.nan if err or score is None else float(score >= JUDGE_PASS)
            for score, _, err in score_responses(engine, items, _JUDGE_CRITERION, seed, 2)]


def _run_models(rows: list[tuple[str, str]], requests: list[Any], models: Sequence[str], base: str, engine: Any,
                say: Progress, extra: Sequence[dict[str, Any]], **options: Any,
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every run of every model: its record (the metrics over the questions) and its scored answers."""
    records: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for spec, repeat, path, out, seconds in answer_with_models(models, base, requests, **options):
        texts = [c.text.strip() for c in out]
        scores = [score_qa(t, a, q) for t, (q, a) in zip(texts, rows)]
        judged = _judged(engine, rows, texts, repeat) if engine is not None else [math.nan] * len(rows)
        rec: dict[str, Any] = {"method": spec, "ratio": math.nan, "repeat": repeat, "path": path, "rows": len(rows),
                               "seconds": seconds}
        for m in QA_METRICS[:3]:
            rec[m] = sum(s[m] for s in scores) / len(scores) if scores else math.nan
        done = [j for j in judged if not math.isnan(j)]
        rec["judged_correct"] = sum(done) / len(done) if done else math.nan
        records.append(rec)
        answers += [{"model": spec, "repeat": repeat, "request": q, "expected": a, "answer": t,
                     "exact": bool(s["answer_match"]), "token_f1": round(s["token_f1"], 4), "reason": s["reason"],
                     "judged_correct": None if math.isnan(j) else bool(j), **x}
                    for t, s, j, (q, a), x in zip(texts, scores, judged, rows, extra)]
        say(f"{spec} (repeat {repeat}): answer match {rec['answer_match']:.1%} on {len(rows)} questions in {seconds:.0f} s")
    return records, answers


def run_qa_uplift(eval_rows: str | Path, models: Sequence[str], *, base: str = "smollm2-135m", max_tokens: int = 64,
                  batch_size: int = 8, n_threads: int | None = None, device: str | None = None, judge: Any = None,
                  progress: Progress | None = None, factory: BackendFactory | None = None,
                  cache: str | Path | None = None, context: str | Path | None = None, top_k: int = TOP_K,
                  passage_words: int = PASSAGE_WORDS) -> LlmUpliftResult:
    """Answer the held-out questions of ``eval_rows`` with each model and score them (see the module docstring).

    ``models`` are ``base`` or model folders (``seed-N`` sub-folders are repeats); the first is the baseline.
    ``judge`` is a model or server for the judged correctness (an :class:`~simulacra.text.engine.Engine` or what
    it takes); it is used only when it passes calibration. ``context`` (documents) makes it open book, with the
    ``top_k`` retrieved passages of at most ``passage_words`` words before every question. ``cache`` (an sqlite file) keeps every finished run's
    answers, so a rerun after a failure answers only the runs that did not finish.
    """
    from simulacra.text.backends.hf import resolve_device
    from simulacra.text.types import ChatRequest

    if not models:
        raise InputError("Give at least one model (e.g. --models base,tuned/)")
    rows = read_questions(eval_rows)
    for spec in models:  # a wrong folder is said before a judge is calibrated or a model loaded
        model_runs(spec, base)
    device = resolve_device(device)
    say = progress or (lambda msg: None)
    engine, judge_note = judge_for_qa(judge, say) if judge is not None else (
        None, "judged correctness not measured: no judge given (--judge a model or server that passes calibration)")
    found: list[list[Any]] = [[] for _ in rows]
    book: dict[str, Any] = {}
    if context is not None:
        found, book = retrieve(context, [q for q, _ in rows], top_k=top_k, passage_words=passage_words)
    extra: list[dict[str, Any]] = [{"passages": [p.id for p in ps], "answer_in_passages": answer_in(
        "\n".join(f"{p.heading}\n{p.text}" for p in ps), a)} if context is not None else {} for ps, (_, a) in zip(found, rows)]
    requests = [ChatRequest(messages=tuple(qa_messages(q, ps)), temperature=0.0, max_tokens=max_tokens)
                for (q, _), ps in zip(rows, found)]
    try:
        records, answers = _run_models(rows, requests, models, base, engine, say, extra, factory=factory,
                                       batch_size=batch_size, n_threads=n_threads, device=device, cache=cache)
    finally:
        if engine is not None and engine is not judge:
            engine.close()
    info: dict[str, Any] = {"eval": str(eval_rows), "questions": len(rows), "base": base, "decoding": "greedy", "max_tokens": max_tokens,
            "prompt": "the question as the user's message, under the chat template's system prompt (as in the corpus)",
            "models": ", ".join(models), "backend": "transformers" if factory is None else "custom", "device": device,
            "judge": judge_note, "notes": [judge_note] if engine is None else []}
    if context is not None:
        hits = sum(bool(x["answer_in_passages"]) for x in extra)
        info.update(book, prompt="open book: the retrieved passages, then the question, as the user's message (as in "
                    "simulacra corpus --open-book)", retrieval_recall=hits / len(rows))
        info["notes"].insert(0, f"retrieval recall: the reference answer is in the {top_k} retrieved passages for {hits} "
                             f"of {len(rows)} questions ({hits / len(rows):.0%}), the ceiling of answer match")
    return LlmUpliftResult(pd.DataFrame(records), answers, info, headline="answer_match", task="qa",
                           metrics=list(QA_METRICS), labels=dict(QA_LABELS))


def eval_task(path: str | Path) -> str:
    """``qa`` or ``calls``, from the keys of the first held-out row."""
    from simulacra.train.data import read_rows

    where, row = read_rows(path)[0]
    if "question" in row and "answer" in row:
        return "qa"
    if "request" in row:
        return "calls"
    raise InputError(f"{where}: a held-out row is {{\"question\", \"answer\"}} (QA) or {{\"request\", \"call\"}} "
                     f"(function calling); found keys {', '.join(sorted(row)) or 'none'}")


__all__ = ["JUDGE_PASS", "MAX_EXTRA_WORDS", "QA_LABELS", "QA_METRICS", "answer_in", "eval_task", "judge_for_qa",
           "match_reason", "negated_words", "qa_messages", "read_questions", "retrieve", "run_qa_uplift", "score_qa", "token_f1", "tokens"]
