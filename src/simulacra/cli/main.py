"""The ``simulacra`` command: a thin layer over the public API.

Every module of this package that defines ``register(app)`` adds its commands. Errors from simulacra
are shown as one line and a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings
from typing import Any

import typer

app = typer.Typer(
    name="simulacra",
    help="Synthetic data you can measure: fit synthesizers on real tables, generate data from specs, "
    "make text with LLMs, and evaluate fidelity, utility, privacy and bias.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _register_commands() -> None:
    import simulacra.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in ("main", "common") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"simulacra.cli.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_commands()


def _usage_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes: typer's bundled copy of click, and click itself if installed."""
    usage: list[type[BaseException]] = []
    abort: list[type[BaseException]] = [typer.Abort]
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(module.ClickException)
        if hasattr(module, "Abort"):
            abort.append(module.Abort)
    return tuple(usage), tuple(abort)


def _show_usage_error(exc: Any) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except Exception:  # noqa: BLE001 - a copy of typer without rich, or another click: plain text
        exc.show()


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      line: str | None = None) -> str:
    """A warning as the command shows it: ``warning: <message>``, without the source file and line."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the app, turning simulacra errors into a one-line message and exit code 2.

    Command-line mistakes (unknown option, missing argument, bad value) print the usage and exit
    with 2, as click does; a bug prints one line (the traceback with ``SIMULACRA_DEBUG=1``) and exits 1.
    """
    from simulacra.errors import SimulacraError

    usage_errors, aborts = _usage_errors()
    shown = warnings.formatwarning
    if not os.environ.get("SIMULACRA_DEBUG"):
        warnings.formatwarning = _one_line_warning
    try:
        return app(args=argv, standalone_mode=False)
    except SimulacraError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code)
    except usage_errors as exc:
        _show_usage_error(exc)
        sys.exit(getattr(exc, "exit_code", 2))
    except aborts:
        typer.secho("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("SIMULACRA_DEBUG"):
            raise
        typer.secho(
            f"error: {type(exc).__name__}: {exc} (set SIMULACRA_DEBUG=1 for the traceback)", err=True, fg=typer.colors.RED
        )
        sys.exit(1)
    finally:
        warnings.formatwarning = shown


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
