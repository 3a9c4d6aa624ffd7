"""Cutting Markdown and text documents into chunks that keep sections, tables, lists and code blocks whole.

A chunk is one section (a heading and its body) or, when a section is long, a run of its blocks (paragraphs,
tables, code blocks, lists) that never splits a block. Each chunk keeps its heading path
(``Title > Section > Subsection``) so that questions about it can name what it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass
class Chunk:
    """A piece of a document: its id, source file, heading path, Markdown text and the blocks in it."""

    id: str
    source: str
    heading: str
    text: str
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): paragraph, table, code, list

    @property
    def words(self) -> int:
        """Number of words of the chunk."""
        return len(self.text.split())

    @property
    def title(self) -> str:
        """The innermost heading (or the file name)."""
        return self.heading.split(" > ")[-1]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for the chunk listing of a corpus)."""
        return {"id": self.id, "source": self.source, "heading": self.heading, "words": self.words,
                "blocks": [k for k, _ in self.blocks]}


def blocks(body: str) -> list[tuple[str, str]]:
    """The blocks of a Markdown body: ``code`` (a fenced block), ``table``, ``list`` and ``paragraph``.

    Examples
    --------
    >>> [k for k, _ in blocks("Intro text.\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n- x\\n- y\\n\\n```\\nrun\\n\\nmore\\n```")]
    ['paragraph', 'table', 'list', 'code']
    """
    out: list[tuple[str, str]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _FENCE.match(line):
            j = i + 1
            while j < len(lines) and not _FENCE.match(lines[j]):
                j += 1
            out.append(("code", "\n".join(lines[i:j + 1])))
            i = j + 1
            continue
        kind = ("table" if line.lstrip().startswith("|") else
                "list" if re.match(r"^\s*([-*+]|\d+[.)])\s+", line) else "paragraph")
        j = i + 1
        while j < len(lines) and lines[j].strip() and not _FENCE.match(lines[j]):
            nxt = lines[j]
            if kind == "table" and not nxt.lstrip().startswith("|"):
                break
            if kind != "table" and nxt.lstrip().startswith("|"):
                break
            j += 1
        out.append((kind, "\n".join(lines[i:j])))
        i = j
    return out


def _sections(text: str, title: str) -> list[tuple[str, str]]:
    """(heading path, body) per section; headings inside code fences are not headings."""
    path: list[tuple[int, str]] = []
    out: list[tuple[str, list[str]]] = [(title, [])]
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            level = len(m.group(1))
            path = [(lv, h) for lv, h in path if lv < level] + [(level, m.group(2).strip())]
            out.append((" > ".join(h for _, h in path), []))
        else:
            out[-1][1].append(line)
    return [(h, "\n".join(body).strip()) for h, body in out if "\n".join(body).strip()]


def chunk_document(source: str, text: str, max_words: int = 350, min_words: int = 25) -> list[Chunk]:
    """The chunks of one document (see the module docstring).

    A section shorter than ``min_words`` is joined to the next one; a section longer than ``max_words`` is
    cut between blocks (a single block longer than that stays whole).

    Examples
    --------
    >>> doc = "# Guide\\n\\nIntro words here.\\n\\n## Install\\n\\n" + "Run the installer now. " * 10 + "\\n\\n| k | v |\\n|---|---|\\n| a | 1 |"
    >>> [(c.heading, [k for k, _ in c.blocks]) for c in chunk_document("g.md", doc, min_words=3)]
    [('Guide', ['paragraph']), ('Guide > Install', ['paragraph', 'table'])]
    """
    name = Path(source).stem
    merged: list[tuple[str, list[tuple[str, str]]]] = []
    carry: list[tuple[str, str]] = []
    for heading, body in _sections(text, name):
        parts = carry + blocks(body)
        if sum(len(t.split()) for _, t in parts) < min_words:
            carry = parts
            continue
        carry = []
        merged.append((heading, parts))
    if carry:
        if merged:
            merged[-1][1].extend(carry)
        else:
            merged.append((name, carry))
    chunks: list[Chunk] = []
    for heading, parts in merged:
        group: list[tuple[str, str]] = []
        for part in parts:
            if group and sum(len(t.split()) for _, t in group) + len(part[1].split()) > max_words:
                chunks.append(_chunk(source, heading, group, len(chunks)))
                group = []
            group.append(part)
        if group:
            chunks.append(_chunk(source, heading, group, len(chunks)))
    return chunks


def _chunk(source: str, heading: str, group: list[tuple[str, str]], k: int) -> Chunk:
    return Chunk(f"{Path(source).stem}#{k}", source, heading, "\n\n".join(t for _, t in group), list(group))


def chunk_documents(source: str | Path, max_words: int = 350, min_words: int = 25) -> list[Chunk]:
    """The chunks of every ``.md``/``.txt`` file under ``source`` (a folder or one file)."""
    from simulacra.text.tasks.qa import load_documents

    out: list[Chunk] = []
    for name, text in load_documents(source):
        out += chunk_document(name, text, max_words, min_words)
    return out


def table_rows(table: str) -> tuple[list[str], list[list[str]]]:
    """The header and the body rows of a Markdown table (the separator line skipped).

    Examples
    --------
    >>> table_rows("| name | size |\\n|---|---:|\\n| tiny | 135M |")
    (['name', 'size'], [['tiny', '135M']])
    """
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) or not c for c in cells):
            continue
        rows.append(cells)
    if not rows:
        return [], []
    head, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    return head, body


__all__ = ["Chunk", "blocks", "chunk_document", "chunk_documents", "table_rows"]
