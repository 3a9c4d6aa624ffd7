"""The HTML stack of every simulacra report: one self-contained page (inline CSS and PNG plots, no network,
no external script), with the same shell, style, tables and figures for the evaluation report and the
uplift report (:mod:`simulacra.augment.report`)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d2430;margin:0;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:4px 0}h2{font-size:20px;margin:34px 0 8px;border-bottom:2px solid #dde1e7;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}.sub{color:#5b6574;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:14px;margin:18px 0}
.card{background:#fff;border-radius:10px;padding:14px 16px;border-top:6px solid #aab}
.card.good{border-color:#2e9d5b}.card.fair{border-color:#e0a030}.card.poor{border-color:#d04a3c}
.card .score{font-size:34px;font-weight:700}.card .name{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#5b6574}
.level{font-weight:600}.good .level{color:#2e9d5b}.fair .level{color:#b07a10}.poor .level{color:#d04a3c}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13.5px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e9ee;text-align:left;vertical-align:top}th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:8px}
.grid figure,.plot{background:#fff;margin:0;padding:6px;border-radius:8px}
img{max-width:100%;height:auto;display:block}
.warn{background:#fff4e5;border-left:5px solid #e0a030;padding:8px 12px;margin:8px 0}
.note{color:#5b6574;font-size:13px}.skipped{color:#8a93a0;font-style:italic}
ul.verdicts{background:#fff;border-radius:8px;padding:10px 14px 10px 34px;margin:8px 0}
ul.verdicts li.good::marker{color:#2e9d5b}ul.verdicts li.poor::marker{color:#d04a3c}ul.verdicts li.fair::marker{color:#b07a10}
dl.glossary dt{font-weight:700;margin-top:12px}dl.glossary dd{margin:2px 0 0 0}
"""

#: Counts the images that loaded (``data-images-ok`` on ``<body>``), for browser tests.
SCRIPT = """
window.addEventListener('load',function(){var im=document.images,ok=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){ok++;}}
document.body.setAttribute('data-images-total',im.length);document.body.setAttribute('data-images-ok',ok);});
"""


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table cell ('—' for None), or escaped text.

    Examples
    --------
    >>> fmt(0.12345), fmt(None), fmt("<b>")
    ('0.123', '—', '&lt;b&gt;')
    """
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return escape(str(x))


def img(src: str, alt: str) -> str:
    """An inline image (``src`` a data URI)."""
    return f'<img class="plot-img" src="{src}" alt="{escape(alt)}">'


def figure(src: str, alt: str, *, id: str | None = None) -> str:  # noqa: A002 - the HTML attribute
    """An image on a white panel."""
    ident = f' id="{escape(id)}"' if id else ""
    return f'<div class="plot"{ident}>{img(src, alt)}</div>'


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Iterable[int] = ()) -> str:
    """A table: numbers (and None) right-aligned and formatted; other cells are HTML, inserted as given
    (right-aligned too in the columns ``right``, e.g. numbers already written as text)."""
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    cols = set(right)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{fmt(c)}</td>' if isinstance(c, (int, float)) or c is None
                         else f'<td class="num">{c}</td>' if i in cols else f"<td>{c}</td>"
                         for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def cards(items: Iterable[tuple[str, Any, str, str]]) -> str:
    """A row of summary cards, each ``(title, value, level, text)``; the level (good, fair, poor) colours it."""
    out = [f'<div class="card {escape(level)}"><div class="name">{escape(title)}</div>'
           f'<div class="score">{fmt(value, 2)}</div><div class="level">{escape(level)}</div>'
           f"<div>{escape(text)}</div></div>" for title, value, level, text in items]
    return '<div class="cards">' + "".join(out) + "</div>"


def section(ident: str, title: str, *parts: str) -> str:
    """A titled section of the page."""
    return f'<section id="{escape(ident)}"><h2>{escape(title)}</h2>' + "".join(parts) + "</section>"


def page(title: str, subtitle: str, body: str, *, warnings: Iterable[str] = ()) -> str:
    """The whole document: title, subtitle (with the time it was made), warnings and ``body``."""
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    warns = "".join(f'<div class="warn">⚠ {escape(w)}</div>' for w in warnings)
    sub = f"{escape(subtitle)} · {stamp}" if subtitle else stamp
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head><body><main>'
            f'<h1>{escape(title)}</h1><div class="sub">{sub}</div>{warns}{body}</main>'
            f"<script>{SCRIPT}</script></body></html>")


def write(path: str | Path, html: str) -> Path:
    """Write a page atomically and return its path."""
    from simulacra.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return path
