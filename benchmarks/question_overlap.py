"""How closely the corpus's template questions copy the sentence they were made from.

    simulacra corpus docs/ -n 2000 -o /tmp/corpus/
    python benchmarks/question_overlap.py /tmp/corpus/rows.jsonl

Over the QA rows whose question a template made from a prose sentence (``question_by`` template, not a table
cell; the sentence is the row's ``evidence``), two overlaps of the question's words (lower-case alphanumeric
tokens, as ROUGE counts them; :func:`simulacra.text.similarity.copied_share`) with the sentence's:

- ``in_order``: the longest run of the question's words that the sentence has in the same order (their longest
  common subsequence), as a share of the question's words: a question that is its sentence with the answer
  swapped for ``what`` scores near 1, one whose clause is reordered scores lower;
- ``any_order``: the share of the question's words that occur anywhere in the sentence (reordering does not
  change it; only leaving words out or bringing new ones in does).

It prints one JSON line: the number of such questions and, for each overlap, its mean and the share above 0.8.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from simulacra.text.formats import read_jsonl
from simulacra.text.similarity import copied_share

THRESHOLD = 0.8


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The overlaps of the template questions among ``rows`` (see the module docstring)."""
    picked = [r for r in rows if r.get("task") == "qa" and r.get("question_by") == "template"
              and r.get("answer_kind") != "table cell" and r.get("evidence")]
    pairs = [copied_share(r["question"], r["evidence"]) for r in picked]
    out: dict[str, Any] = {"template_questions": len(pairs)}
    for i, name in enumerate(("in_order", "any_order")):
        values = [p[i] for p in pairs]
        out[name] = {"mean": round(sum(values) / len(values), 3) if values else None,
                     f"share_above_{THRESHOLD}": round(sum(v > THRESHOLD for v in values) / len(values), 3) if values else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rows", type=Path, help="rows.jsonl of a corpus (simulacra corpus ... -o DIR)")
    args = parser.parse_args()
    print(json.dumps(summary(read_jsonl(args.rows))))


if __name__ == "__main__":
    main()
