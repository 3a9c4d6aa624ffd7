"""Answer spans chosen by the pipeline, not by the model: the ground truth of grounded QA.

A passage is split into sentences; in each, short spans that make good answers are found with regular
expressions: numbers with their unit, years and dates, code names (``like_this``, ``--an-option``, from
Markdown code spans), and capitalised names (``LightGBM``, ``Gaussian copula``). Each span is checked to
occur verbatim in its passage. The model is then only asked to phrase a question whose answer is the span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$", re.M)
_HEADING = re.compile(r"^\s*#+\s.*$", re.M)
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\"'])")
_CODE_SPAN = re.compile(r"`([^`\n]{2,40})`")
_NUMBER = re.compile(
    r"(?<![\w.,-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s?(?:%|percent|per cent|times|x|seconds?|minutes?|hours?|days?|"
    r"rows?|columns?|tokens?|words?|items?|pairs?|MB|GB|GiB|KB|ms|cores?|threads?|epochs?|rounds?|knots|cells?|"
    r"bins?|calls?|files?|tables?|models?|steps?|samples?|examples?|classes|categories|characters|bits|bytes))?(?![\w%])"
)
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|20\d\d)(?!\d)")
_NAME = re.compile(r"(?<![\w-])([A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?:\s+[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*){0,3})(?![\w-])")
_COMMON_CAPS = frozenset(
    "A An The This That These Those It Its In On At For From By With Without When Where Which What Who Why How If "
    "Each Every Some Any All No Not Then Than There Their They We You Your Our One Two Three Use Give Set Run See "
    "Note Also But And Or So As Both Most More Less Only Here Where While After Before Because Since Example "
    "Examples Returns Parameters Default True False None Yes".split()
)


@dataclass(frozen=True)
class Span:
    """An answer span: its text, its kind, and the sentence it occurs in (all verbatim in the passage)."""

    text: str
    kind: str
    sentence: str


def clean_markdown(text: str) -> str:
    """Prose of a Markdown document: code blocks, tables and headings removed, emphasis and links unwrapped.

    Code spans keep their text (their backticks go), so a span found in them occurs verbatim in the prose.

    Examples
    --------
    >>> clean_markdown("# Title\\n\\nUse **`fit`** [here](x.md).\\n\\n```\\ncode\\n```")
    'Use fit here.'
    """
    text = _CODE_BLOCK.sub("\n\n", text)
    text = _TABLE_LINE.sub("", text)
    text = _HEADING.sub("\n\n", text)
    text = _MD_LINK.sub(r"\1", text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = re.sub(r"^\s*[*+-]\s+", "", text, flags=re.M)
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paras if p)


def sentences(passage: str) -> list[str]:
    """The sentences of ``passage`` (split after ., ! or ? before a capital letter).

    Examples
    --------
    >>> sentences("It runs on CPU. It needs no torch! Why? Because.")
    ['It runs on CPU.', 'It needs no torch!', 'Why?', 'Because.']
    """
    return [s.strip() for s in _SENTENCE.split(" ".join(passage.split())) if s.strip()]


def find_spans(passage: str, raw: str | None = None, *, min_words: int = 6, max_words: int = 40) -> list[Span]:
    """Candidate answer spans in ``passage``; ``raw`` (the Markdown it came from) marks code names.

    Each span occurs verbatim in its sentence and in ``passage``; a span that occurs twice in its sentence,
    or that is most of its sentence, is skipped (its question could not be specific). Sentences outside
    ``min_words``..``max_words`` words are skipped.

    Examples
    --------
    >>> [(s.text, s.kind) for s in find_spans("The model fits 30,000 rows in 4 seconds with LightGBM trees.")]
    [('30,000 rows', 'number'), ('4 seconds', 'number'), ('LightGBM', 'name')]
    """
    code = {m.group(1).strip() for m in _CODE_SPAN.finditer(raw or "")}
    out: list[Span] = []
    seen: set[str] = set()
    for sent in sentences(passage):
        n_words = len(sent.split())
        if (not min_words <= n_words <= max_words or sent.endswith(("?", ":")) or not sent[0].isupper()
                or not _balanced(sent)):
            continue
        found = _candidates(sent, code)
        for text, kind in found:
            if any(text != other and text in other and kind in ("code", "name") for other, _ in found):
                continue  # a part of a longer code span or name ('--opt' inside '--opt 1')
            text = text.strip(" ,;:")
            if (not text or not _balanced(text) or text in seen or sent.count(text) != 1 or text not in passage
                    or len(text.split()) > max(4, n_words // 3)):
                continue
            seen.add(text)
            out.append(Span(text, kind, sent))
    return out


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in ("()", "[]", "{}")) and text.count('"') % 2 == 0


def _candidates(sent: str, code: set[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in _NUMBER.finditer(sent):
        found.append((m.group(0), "year" if _YEAR.fullmatch(m.group(0)) else "number"))
    for name in sorted(code, key=lambda c: (-len(c), c)):  # ties by text: a set's order changes with the hash seed
        plain_word = name.replace(" ", "").isalpha() and name.islower()
        if (len(name) >= 3 and not plain_word and not name[0].isdigit()
                and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sent)):
            found.append((name, "code"))
    first = sent.split()[0] if sent.split() else ""
    for m in _NAME.finditer(sent):
        words = [w for w in m.group(1).split() if w not in _COMMON_CAPS]
        name = " ".join(words)
        if not name or (m.start() == 0 and len(words) == 1 and name == first.strip(",.;:")):
            continue
        if len(name) >= 3 and (len(words) > 1 or m.start() > 0 or any(c.isupper() for c in name[1:])
                               or any(c.isdigit() for c in name)):
            found.append((name, "name"))
    return found





_WH = re.compile(r"(?i)\b(what|which|who|whom|whose|how)\b")
_IMPERATIVE = frozenset("See Use Set Run Give Pass Add Call Read Write Install Choose Keep Make Put Try Check Note".split())
_DETERMINER = re.compile(r"(?i)(?:^|(?<=\s))(the|a|an)\s+$")
_NEXT_NOUN = re.compile(r"^\s+([a-z][a-z-]+(?:\s+[a-z][a-z-]+)?)")


def template_question(span: Span) -> str | None:
    """A question whose answer is ``span``, made from its sentence by putting a question phrase in its place.

    The clause of the sentence holding the span (cut at ``;`` or ``:``) is kept as it is, and the span is
    replaced by ``what``, ``which <noun>``, ``how many <unit>``, ``what percentage`` or ``what year``: the
    question asks exactly what the sentence states, so its answer is right by construction. None when no
    question phrase fits (e.g. a span inside parentheses).

    Examples
    --------
    >>> template_question(Span("30,000 rows", "number", "The model fits 30,000 rows in seconds."))
    'The model fits how many rows in seconds?'
    >>> template_question(Span("LightGBM", "name", "LightGBM fits the boosted trees of each column."))
    'What fits the boosted trees of each column?'
    >>> template_question(Span("autoreg", "code", "After the chain, the autoreg model redraws a column."))
    'After the chain, which model redraws a column?'
    """
    clause = span.sentence if len(span.sentence.split()) <= 30 else _clause(span.sentence, span.text)
    if clause is None or not (clause[0].isalpha() or clause[0] in "-_`") or re.search(r"[.!?]\s", clause) or _WH.search(clause):
        return None
    if clause.split()[0] in _IMPERATIVE or len(clause.split()) > 30:
        return None
    start = clause.index(span.text)
    before, after = clause[:start], clause[start + len(span.text):]
    if before.count("(") > before.count(")") or before.count('"') % 2:
        return None
    if span.kind in ("code", "name") and (before.endswith(", ") or re.match(r"^(,| or | and |/)", after)):
        return None  # an item of a list: "A, B, what, or C" asks nothing specific
    if re.search(r"[-+*/=<>^]\s*$", before) or re.match(r"^\s*(error|exception)\b", after, re.I):
        return None  # an operand of a formula, or part of an error name
    if re.match(r"^('s|\s*[+*=<>/^]|[(.]\S)", after) or before.endswith(("whatever ", "whichever ")) or len(clause.split()) < 6:
        return None
    wh: str | None = "what"
    if span.kind in ("number", "year"):
        wh, after = _number_phrase(span.text, span.kind, before, after)
        if wh is None:
            return None
    else:
        det = _DETERMINER.search(before)
        noun = _NEXT_NOUN.match(after)
        if det and noun and not noun.group(1).split()[0].endswith(("ed", "ing", "en")) and noun.group(1).split()[0] not in ("is", "are", "was", "were", "and", "or", "of", "to", "in"):
            before = before[:det.start()]
            wh = "which"
    if wh == "what":
        before = re.sub(r"(?i)(?:^|(?<=\s))(a|an)\s+$", "", before)
    q = f"{before}{wh}{after}".strip().rstrip(".!;,")
    if not _balanced(q):
        return None
    if not before.strip() or q[0].islower() and not before.split()[0].startswith(span.text[:1]):
        q = q[0].upper() + q[1:]
    q = " ".join(q.split())
    return q + "?" if len(q.split()) >= 4 else None


def _clause(sentence: str, text: str) -> str | None:
    parts = re.split(r"(?<=[;:])\s+|\s+[-\u2013\u2014]\s+", sentence)
    for part in parts:
        if text in part:
            part = part.rstrip(";:").strip()
            return part if len(part.split()) >= 4 else None
    return None


def _number_phrase(text: str, kind: str, before: str, after: str) -> tuple[str | None, str]:
    if kind == "year":
        return ("what year", after)
    unit = text.split(maxsplit=1)[1] if " " in text.strip() else re.sub(r"^[\d.,]+", "", text)
    if unit.strip() in ("%", "percent", "per cent"):
        return ("what percentage", after)
    if unit.strip():
        return (f"how many {unit.strip()}", after)
    noun = _NEXT_NOUN.match(after)
    if "." not in text and noun and noun.group(1).split()[0] not in ("is", "are", "of", "to", "and", "or", "in", "at", "on"):
        return ("how many", after)
    return ("what value" if "." in text else "what number", after)
__all__ = ["Span", "clean_markdown", "find_spans", "sentences", "template_question"]
