"""Helpers shared by the command modules: console, progress, and parsing of option values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

console = Console(stderr=True)


@contextmanager
def step(message: str) -> Iterator[None]:
    """Show a spinner while a long step runs, then a tick with the time it took."""
    import time

    start = time.perf_counter()
    with console.status(message):
        yield
    console.print(f"[green]✓[/green] {message} [dim]({time.perf_counter() - start:.1f}s)[/dim]")


def parse_assignments(items: list[str] | None, option: str) -> dict[str, Any]:
    """``['a=1', 'b=x']`` to ``{'a': 1, 'b': 'x'}``; numbers become numbers, quotes are stripped."""
    from simulacra.errors import InputError

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{option} expects COLUMN=VALUE, got '{item}'")
        key, _, raw = item.partition("=")
        value: Any = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            for cast in (int, float):
                try:
                    value = cast(value)
                    break
                except ValueError:
                    continue
        out[key.strip()] = value
    return out
