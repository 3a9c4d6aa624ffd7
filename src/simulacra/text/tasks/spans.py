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

    In the clause of the sentence holding the span (cut at ``;`` or ``:``) the span is replaced by ``what``,
    ``which <noun>``, ``how many <unit>``, ``what percentage`` or ``what year``: the question asks exactly
    what the sentence states, so its answer is right by construction. So that the question does not copy its
    sentence, the clause is then reordered where its shape allows (:func:`_reordered`): the question phrase
    goes first, with the subject and verb inverted (``how many rows does the model fit``), or a leading phrase
    goes last. None when no question phrase fits (e.g. a span inside parentheses).

    Examples
    --------
    >>> template_question(Span("30,000 rows", "number", "The model fits 30,000 rows in seconds."))
    'How many rows does the model fit in seconds?'
    >>> template_question(Span("LightGBM", "name", "LightGBM fits the boosted trees of each column."))
    'What fits the boosted trees of each column?'
    >>> template_question(Span("autoreg", "code", "After the chain, the autoreg model redraws a column."))
    'Which model redraws a column after the chain?'
    """
    clause = span.sentence if len(span.sentence.split()) <= 30 else _clause(span.sentence, span.text)
    if clause is not None and ";" in clause:  # the independent clause that holds the span is the question
        parts = (p.strip().rstrip(";") for p in re.split(r"(?<=;)\s+", clause))
        clause = next((p for p in parts if span.text in p), None)
        clause = clause if clause and len(clause.split()) >= 4 else None
    if clause is None or not (clause[0].isalpha() or clause[0] in "-_`") or re.search(r"[.!?]\s", clause) or _WH.search(clause):
        return None
    if clause.split()[0] in _IMPERATIVE or len(clause.split()) > 30:
        return None
    start = clause.index(span.text)
    before, after = clause[:start], clause[start + len(span.text):]
    if before.count("(") > before.count(")") or before.count('"') % 2:
        return None
    if span.kind in ("code", "name") and (before.endswith(", ") or re.match(r"^(,| or | and |/)", after)
                                          or _LIST_AFTER.match(_ASIDE.sub("", after))):
        return None  # an item of a list: "A, B, what, or C" asks nothing specific, nor "what (an aside), B and C"
    if re.search(r"[-+*/=<>^]\s*$", before) or re.match(r"^\s*(error|exception)\b", after, re.I):
        return None  # an operand of a formula, or part of an error name
    if re.match(r"^('s|\s*[+*=<>/^]|[(.]\S)", after) or before.endswith(("whatever ", "whichever ")) or len(clause.split()) < 6:
        return None
    wh = "what"
    if span.kind in ("number", "year"):
        phrase, after = _number_phrase(span.text, span.kind, before, after)
        if phrase is None:
            return None
        wh = phrase
    else:
        det = _DETERMINER.search(before)
        noun = _NEXT_NOUN.match(after)
        if det and noun and not noun.group(1).split()[0].endswith(("ed", "ing", "en")) and noun.group(1).split()[0] not in ("is", "are", "was", "were", "and", "or", "of", "to", "in"):
            before = before[:det.start()]
            wh = "which"
    if wh == "what":
        before = re.sub(r"(?i)(?:^|(?<=\s))(a|an)\s+$", "", before)
    before, after = _ASIDE.sub("", before), _ASIDE.sub("", after)  # an aside in parentheses asks nothing
    q = _reordered(before, wh, after) or f"{before}{wh}{after}".strip().rstrip(".!;,")
    if not _balanced(q):
        return None
    if not before.strip() or q[0].islower() and not before.split()[0].startswith(span.text[:1]):
        q = q[0].upper() + q[1:]
    q = " ".join(q.split())
    return q + "?" if len(q.split()) >= 4 else None


_ASIDE = re.compile(r"\s*\([^()]*\)")
_AUX = frozenset("is are was were can could will would should must may might has have had does do did".split())
_PREPOSITION = frozenset("as at by for from in into of on to under over with without within per about".split())
_DETERMINERS = frozenset("the a an each every this that these those its their our your any no some".split())
#: words a subject does not end with ('all other functions in ...': 'functions' is not its verb)
_NOT_SUBJECT_END = _PREPOSITION | _DETERMINERS | frozenset("all both one and or other such same following".split())
_NOT_VERB = frozenset("its this his as thus plus less always sometimes perhaps towards afterwards besides unless "
                      "across us yes rows columns tables models values files tokens steps seconds docs tests types names "
                      "keys items pairs samples examples classes categories features trees rules settings options "
                      "arguments results errors checks lines words parts chunks passages questions answers users "
                      "numbers texts labels digits images figures metrics scores seeds runs calls requests times passes".split())
_APPROX = re.compile(r"(?i)\b(about|around|nearly|almost|roughly|over|under|up to|at least|at most|only|just|some)\s*$")
_LEAD = re.compile(r"^((?:In|On|At|For|With|Without|After|Before|By|From|During|Since|Under|Over|When|If|Once|Unlike|"
                   r"Like|Per|Through|Across|Within|Where|While)\b[^,;:()\"]{2,40}),\s+(.*)$")
_CLAUSE_END = re.compile(r"[,:;]\s|(?:^|\s)(?:but|so|unless|while|whereas)\s")
_ITEM = r",\s[^,\s]+(?:\s[^,\s]+){0,3}"  # ", item" of one to four words (one way to split: no backtracking blow-up)
#: after a span: ", item, item and" or " and"
_LIST_AFTER = re.compile(rf"^(?:{_ITEM})*,?\s(?:and|or)\s")
#: after a clause's last word: ", item and" (the clause ended on a list's first item, not at its end)
_LIST_GOES_ON = re.compile(rf"^(?:{_ITEM})+,?\s(?:and|or)\s")
_MAX_SUBJECT = 10
#: words a plain subject does not start with (a leading phrase or adverb without its comma)
_NOT_SUBJECT_START = _PREPOSITION | frozenset("hence so thus then also therefore however now still here there if when "
                                             "while because since unless although once".split())
#: what a subject may start with (besides a name); only these are put in lower case when it moves
_SUBJECT_START = frozenset("the a an this that these those each every its their our your my it they we you he she some "
                           "any all both no one such another other most many several two three".split())
#: words that start a clause of their own: a subject holding one is not a plain subject
_CLAUSE_WORDS = frozenset("that which who whom whose it they we you he she i".split())
_REST_STOPS = frozenset("and or but than if when whether because while".split()) | _CLAUSE_WORDS
_PARTICIPLES = frozenset("given taken written chosen known shown seen driven broken hidden drawn grown thrown spoken "
                         "forgotten fallen proven ridden risen stolen sworn torn worn frozen forbidden gotten mistaken "
                         "overwritten rewritten undertaken done made kept set put read run built sent held found told "
                         "left lost meant paid said sold spent split cut hit let shut spread understood".split())
#: words whose preposition belongs to them ('such as', 'equal to'): the phrase cannot be split
_BOUND_BEFORE = frozenset("such equivalent equal similar close due prior according up out rather instead other next "
                          "able unable likely unlikely".split())
_ADVERBS = frozenset("also only always never often usually still now then just already too again first".split())
#: words that may follow a span that is a whole phrase (not a word qualifying the noun after it)
_LINKS = _PREPOSITION | _AUX | frozenset("and or but to that which who when where if unless so than not after before "
                                         "during since until between through via among against like instead because "
                                         "once each every everywhere here there too also only always again now "
                                         "instead today first".split())
#: an 'of' phrase after a percentage, up to the next link word ('of events' in '12 % of events in a day')
_OF_PHRASE = re.compile(r"^(of(?: [a-z][a-z-]*){1,3}?)(?=$| (?:%s)\b)(.*)$" % "|".join(sorted(_LINKS)))


def _reordered(before: str, wh: str, after: str) -> str | None:
    """The question ``before + wh + after`` with its clause reordered, or None where its shape is not clear.

    Only the span's own clause is kept: what follows it after a comma or a conjunction goes, and so does a
    label before a colon. The question phrase then goes first when the clause is a plain subject and verb
    (:func:`_fronted`); a short leading phrase (``After the chain, which model ...``) goes to the end.

    >>> _reordered("It was moved to Frankfurt in ", "what year", " after the old site flooded.")
    'In what year was it moved to Frankfurt after the old site flooded'
    >>> _reordered("After a fit, each shard holds ", "how many", " rows on disk, compressed.")
    'How many rows does each shard hold on disk after a fit'
    >>> _reordered("The synthetic rows also keep the rule in ", "what percentage", " of events.")
    'In what percentage of events do the synthetic rows also keep the rule'
    >>> _reordered("The pools depend on the installed ", "what", " version.") is None  # it qualifies 'version'
    True
    """
    whole = after.strip().rstrip(".!;,")
    if _LIST_AFTER.match(after) or (whole and not (whole[0].isalnum() or whole[0] in ",-`")):
        return None  # one item of a list (cut off, the question would fit the others too), or "'s"
    end = _CLAUSE_END.search(whole)
    if end and _LIST_GOES_ON.match(whole[end.start():]):
        return None  # cut at the comma the question would ask about the list's first item only ('for Latin, Greek and ...')
    tail = whole[:end.start()].strip() if end else whole
    if re.search(r"\s(?:and|or)\s", f" {tail} "):
        return None  # 'X and Y' after the span: what it coordinates is not clear without parsing
    if ": " in before and len(before.rsplit(": ", 1)[1].split()) >= 2:
        before = before.rsplit(": ", 1)[1]
    lead = _LEAD.match(before)
    if lead is None:
        inner = _fronted(before, wh, tail)
    elif not lead.group(2):  # a subject question: its verb may come after a comma
        inner = f"{wh} {whole}" if whole and not re.search(r"\s(?:and|or)\s", whole) else None
    else:
        inner = _fronted(lead.group(2), wh, tail)
    if inner is None:
        return None
    if lead is None:
        return _capital(inner)
    first = lead.group(1)  # it starts with a preposition or a conjunction ('After a fit'): lower case
    return _capital(f"{inner} {first[:1].lower()}{first[1:]}")


def _fronted(before: str, wh: str, tail: str) -> str | None:
    """``wh`` first, then the clause ``before ... tail`` inverted: after an auxiliary (``is``, ``can``) the
    subject and it change places (``what year was it moved``); before a verb in ``-s`` comes ``does`` and the
    verb takes its plain form (``how many rows does each shard hold``), before a plural subject's verb ``do``
    (``what do the docs describe``); a preposition just before the question
    phrase goes with it (``in what year``). None unless ``before`` is a plain subject and verb."""
    words = before.split()
    share = _OF_PHRASE.match(tail)
    if wh == "what percentage" and share:  # 'what percentage of events' asks as one phrase
        wh, tail = f"{wh} {share.group(1)}", share.group(2).strip()
    if (len(words) < 2 or re.search(r"[,;:()\"\[\]]", before) or _APPROX.search(before)
            or words[0].lower() in _NOT_SUBJECT_START or tail.startswith("of ")):
        return None  # not a plain clause, or the span heads an 'of' phrase ('33 of the 40 questions')
    if wh in ("how many", "which"):  # the noun phrase that follows belongs to the question phrase
        noun: list[str] = []
        for word in tail.split()[:3]:
            if word.lower() in _LINKS or not re.fullmatch(r"[A-Za-z][\w-]*", word):
                break
            if noun and (word.endswith(("ing", "ed")) or word.lower() in _PARTICIPLES):
                break  # 'value corresponding to': a phrase of its own follows the noun
            noun.append(word)
        if not noun:
            return None
        wh, tail = f"{wh} {' '.join(noun)}", " ".join(tail.split()[len(noun):])
        if tail.startswith("of "):
            return None  # 'which length of sizeof - 1': the phrase goes on
    if tail and tail.split()[0].lower() not in _LINKS:
        return None  # the span qualifies what follows it ('the ImageNet photographs', 'servers time1.google.com')
    if tail and tail.split()[0].lower() in _AUX:
        return None  # the span is in the subject, whose verb follows it ('errors thrown by X will be')
    verb: list[str]
    for i in range(1, min(len(words), _MAX_SUBJECT + 1)):
        w, previous = words[i], words[i - 1].lower()
        if previous in _NOT_SUBJECT_END:
            continue
        if w.lower() in _AUX and _main_verb(words[i:]):
            verb, subject, rest = [_DO_OF[w.lower()]], words[:i], [_PLAIN_OF[w.lower()], *words[i + 1:]]
        elif w.lower() in _AUX:
            verb = [w.lower()]
            subject, rest = words[:i], words[i + 1:]
        elif any(x.lower() in _AUX for x in words[i + 1:]):
            continue  # the verb comes later ('the number of pings is'): this word is a noun
        elif _verb_s(w):
            verb, subject, rest = ["does"], words[:i], [_plain(w), *words[i + 1:]]
        elif _plural_then_verb(words[:i], w):
            verb, subject, rest = ["do"], words[:i], [w, *words[i + 1:]]
        else:
            continue
        if (any(x.lower() in _PREPOSITION - {"of"} or x.lower() in _CLAUSE_WORDS for x in subject[1:])
                or re.search(r"\d", " ".join([*subject, *rest])) or not _plain_subject(subject, plural=verb == ["do"])):
            return None  # a subject with a phrase or a clause of its own, figures ('50 network passes'), or no subject
        if len(rest) > 8 or any(x.lower() in _REST_STOPS for x in rest):
            return None  # a second verb, a clause of its own or a comparison: not a plain clause
        if rest and not _ends_plainly(rest, verb):
            return None  # the span ends a phrase ('the same schema', 'such as X'): moving it breaks the phrase
        if rest and rest[-1].lower() in _PREPOSITION:  # 'in what year', not 'what year ... in'
            wh, rest = f"{rest[-1].lower()} {wh}", rest[:-1]
        return " ".join([wh, *verb, _lower_first(" ".join(subject)), *rest, tail]).strip()
    return None


#: 'has', 'have', 'had', 'does', 'do', 'did' as the verb itself: the auxiliary that asks, and the plain verb
_DO_OF = {"has": "does", "have": "do", "had": "did", "does": "does", "do": "do", "did": "did"}
_PLAIN_OF = {"has": "have", "have": "have", "had": "have", "does": "do", "do": "do", "did": "do"}
#: participles that name what follows them ('a type named X'): the span may move away from them
_NAMING = frozenset("named called titled labelled labeled termed".split())


def _main_verb(words: list[str]) -> bool:
    """Whether ``words`` start with a form of 'have' or 'do' as the verb itself (``the file has an extension``,
    ``the job does cleanup``), not as an auxiliary (``has been fitted``, ``does not use``): it asks with 'does',
    'do' or 'did' and keeps the plain verb (``which extension does the file have``)."""
    if words[0].lower() not in _DO_OF:
        return False
    following = [w.lower() for w in words[1:] if w.lower() not in _ADVERBS]
    if words[0].lower() in ("does", "do", "did"):
        return not following  # 'does X': the span is its object
    return not following or not (following[0] == "been" or following[0].endswith(("ed", "en"))
                                 or following[0] in _PARTICIPLES)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ends_plainly(rest: list[str], verb: list[str]) -> bool:
    """Whether the words between the verb and the span end so that the span can move to the front: on a
    participle (``is called``), on the plain verb itself (``does it hold``), or on a preposition that does not
    belong to the word before it (``is written by``, ``moved to Frankfurt in``; not ``such as``,
    ``corresponding to``, ``equal to``). Not on a participle that qualifies the span in a noun phrase begun
    before it (``as an officially supported``; but ``a type named``)."""
    last = rest[-1].lower()
    if last in _PREPOSITION - {"of"}:
        before = rest[-2].lower() if len(rest) > 1 else ""
        return not (before.endswith("ing") or before in _BOUND_BEFORE)
    if len(rest) == 1 and verb[0] in ("does", "do", "did"):
        return True
    phrase = [w.lower() for w in rest[max((i + 1 for i, w in enumerate(rest) if w.lower() in _PREPOSITION), default=0):]]
    if last not in _NAMING and any(w in _DETERMINERS for w in phrase):
        return False
    return last.endswith("ed") or last in _PARTICIPLES


def _plain_subject(subject: list[str], *, plural: bool) -> bool:
    """Whether ``subject`` reads as one: it starts with a determiner or pronoun (``the model``, ``they``), or it
    is one name that is not an ordinary word (``Node.js``, ``LightGBM``); a plural one needs the determiner."""
    first = subject[0]
    if first.lower() in _SUBJECT_START:
        return True
    named = not first.isalpha() or any(c.isupper() for c in first[1:])
    return not plural and len(subject) == 1 and named


def _plural_then_verb(subject: list[str], word: str) -> bool:
    """Whether ``word`` reads as a plural subject's verb (``synthetic rows keep``), by its form and the subject's
    last word (adverbs between them skipped)."""
    nouns = [w for w in subject if w.lower() not in _ADVERBS]
    head = nouns[-1] if nouns else ""
    plural = head.isalpha() and len(head) > 3 and head.endswith("s") and not head.endswith(("ss", "us", "is"))
    return (plural and word.isalpha() and word.islower() and len(word) > 2 and not word.endswith(("s", "ed", "ing", "ly"))
            and word not in _LINKS and word not in _ADVERBS and word not in _NOT_SUBJECT_END)


def _verb_s(word: str) -> bool:
    """Whether ``word`` reads as a verb in the third person singular (``fits``, ``applies``), by its form."""
    low = word.lower()
    return (word.isalpha() and word.islower() and len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "ous", "is"))
            and low not in _NOT_VERB)


def _plain(verb: str) -> str:
    """The plain form of a verb in ``-s``: ``fits`` -> ``fit``, ``applies`` -> ``apply`` ('has' is an auxiliary:
    :data:`_PLAIN_OF`)."""
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return verb[:-2]
    return verb[:-1]


def _lower_first(text: str) -> str:
    """``text`` with its first word in lower case when it is a determiner or pronoun (not a name: ``Git``)."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.lower() in _SUBJECT_START else text


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
