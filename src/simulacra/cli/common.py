"""Helpers shared by the command modules: console, progress, and parsing of option values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@contextmanager
def training_progress() -> Iterator[Callable[[Any], None]]:
    """Progress of a model trained in steps, as the callback its ``fit`` takes (reports with ``step``, ``total``
    and ``loss``): on a terminal a rich bar with the loss, the elapsed time and an ETA; where stderr is not one (a
    CI log, nohup) plain lines in fine-tuning's format (:class:`simulacra.train.loop.PlainProgress`), at most one
    every ``PLAIN_EVERY_S`` seconds and at the last step, since a bar there would show only when training ends."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if not console.is_terminal:
        import sys
        import time

        from simulacra.train.loop import PLAIN_EVERY_S, _clock

        # the model's own elapsed time and ETA (a resumed fit counts its earlier time): the first report
        # comes some steps in, so counting from it said '25 steps to go (of 50)' at the start of a fit
        last = [-float("inf")]

        def line(report: Any) -> None:
            now = time.monotonic()
            if report.step < report.total and now - last[0] < PLAIN_EVERY_S:
                return
            last[0] = now
            print(f"training: step {report.step}/{report.total} · loss {report.loss:.4f} · "
                  f"{_clock(report.elapsed)} elapsed · ETA {_clock(report.eta)}", file=sys.stderr, flush=True)

        yield line
        return
    with Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("fit", total=None, loss=float("nan"))
        yield lambda report: bar.update(task, total=report.total, completed=report.step, loss=report.loss)


def parse_assignments(items: list[str] | None, option: str, *, repeats: bool = False) -> dict[str, Any]:
    """``['a=1', 'b=x']`` to ``{'a': 1, 'b': 'x'}``; numbers become numbers, quotes are stripped.

    A column given twice is refused, or with ``repeats`` collects its values in a list
    (``['c=x', 'c=y']`` to ``{'c': ['x', 'y']}``: any of them).
    """
    from simulacra.errors import InputError

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{option} expects COLUMN=VALUE, got '{item}'")
        key, _, raw = item.partition("=")
        key = key.strip()
        value = _typed_value(raw)
        if key not in out:
            out[key] = value
        elif repeats:
            previous = out[key] if isinstance(out[key], list) else [out[key]]
            out[key] = previous if value in previous else [*previous, value]
        else:
            raise InputError(
                f"{option} gives '{key}' twice ({out[key]!r} and {value!r}); give each name once"
            )
    return out


def _typed_value(raw: str) -> Any:
    value: Any = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def written_formats(model: Any) -> dict[str, str]:
    """The formats a fitted model's date columns were read in (a CSV writes them so): those of its metadata,
    and a sequence model's order column."""
    meta = getattr(model, "metadata_", None)
    out = {} if meta is None else {str(name): str(col.format) for name, col in meta.columns.items()
                                   if col.type == "datetime" and getattr(col, "format", None)}
    time = getattr(model, "time_", None)
    if isinstance(time, dict) and time.get("format"):
        out[str(model.order)] = str(time["format"])
    return out
