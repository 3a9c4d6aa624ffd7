"""The ``simulacra`` command: a thin layer over the public API.

Every module of this package that defines ``register(app)`` adds its commands. Errors from simulacra
are shown as one line and a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
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


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the app, turning simulacra errors into a one-line message and exit code 2."""
    from simulacra.errors import SimulacraError

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
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if os.environ.get("SIMULACRA_DEBUG"):
            raise
        typer.secho(
            f"error: {type(exc).__name__}: {exc} (set SIMULACRA_DEBUG=1 for the traceback)", err=True, fg=typer.colors.RED
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
