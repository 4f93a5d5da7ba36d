"""The console: type drewburr's verbs (`status`, `plan blade3`, `drain blade3`) at a prompt.

Each line runs exactly as `drewburr --config FILE <line>` would, so the console and the
command line can never disagree.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import typer

EXIT_WORDS = {"exit", "quit", "q"}


def run_line(app: typer.Typer, config: Path, line: str) -> int | None:
    """Run one console line; returns the verb's exit code, or None for an empty line."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if not argv:
        return None
    if argv[0] == "help":
        argv = ["--help"]
    try:
        # Not standalone: click returns the verb's exit code instead of exiting the console.
        code = app(args=["--config", str(config), *argv], prog_name="drewburr", standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except typer.TyperException as exc:  # usage errors: what click would print, then the prompt again
        show = getattr(exc, "show", None)
        if show:
            show()
        return int(getattr(exc, "exit_code", 2))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return code if isinstance(code, int) else 0


def console(app: typer.Typer, config: Path, read: Callable[[str], str] = input,
            banner: str = "") -> None:
    """Read lines until `exit` or end of input."""
    if banner:
        typer.echo(banner)
    while True:
        try:
            line = read("drewburr> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return
        if line.strip() in EXIT_WORDS:
            return
        run_line(app, config, line)
