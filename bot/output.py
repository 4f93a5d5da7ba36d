"""How the command line prints: rich on a terminal (colour, tables, the width of the window),
plain when piped (no colour; `COLUMNS` or 80 columns), JSON with `--json`."""

from __future__ import annotations

import json
import time

from rich.console import Console
from rich.status import Status
from rich.text import Text

from commands.result import REFUSED, Result
from infra.journal import OperationStatus, StepRecord


def console(stderr: bool = False) -> Console:
    """Colour only on a terminal; wraps at the terminal's width (or $COLUMNS, else 80)."""
    return Console(stderr=stderr, highlight=False, emoji=False)


def emit(result: Result, as_json: bool = False) -> None:
    """The result on stdout; a refusal (exit 2) on stderr. `--json` prints the data alone."""
    if as_json and result.data is not None:
        print(json.dumps(result.data, indent=2, sort_keys=True))
        return
    out = console(stderr=result.code == REFUSED)
    out.print(result.body if result.body is not None else Text(result.text))


class Progress:
    """Step transitions as they happen: a status line on a terminal, timestamped lines otherwise.

    A step retried for the same error says it once, then counts attempts, so a system that is
    down does not fill the screen with the same error."""

    def __init__(self) -> None:
        self.console = console()
        self.tty = self.console.is_terminal
        self._status: Status | None = None
        self._said: dict[str, str] = {}  # step -> the last error said for it

    async def __call__(self, op: OperationStatus, step: StepRecord) -> None:
        message = step.message
        if step.outcome == "retrying":
            if self._said.get(step.name) == message:
                message = f"attempt {step.attempts}, same error"
            self._said[step.name] = step.message
        line = f"[{op.done}/{op.total}] {step.name}: {step.outcome}" + (f" - {message}" if message else "")
        if self.tty:
            if self._status is None:
                self._status = self.console.status(Text(line))
                self._status.start()
            self._status.update(Text(line))
            if step.outcome in ("done", "failed", "retrying"):
                self.console.print(Text(line))
        else:
            print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
