"""The console: a person in the lab's Slack workspace, typing `/drewburr ...` at a prompt.

Each line goes to the lab's Slack twin as a slash command (`POST /lab/slack/command`); the
real bot (`serve`, in Socket Mode) answers in the channel, and the console shows the channel's
messages as they come and change, rendered from their blocks, with their threads. Buttons are
numbered: typing the number presses it (`/lab/slack/press`, a `block_actions` for the bot).

`as rita` speaks as another person; `lab fault power-off blade3` runs the lab's own command
on this lab; `wait TEXT` waits until a message says TEXT (for scripts); `exit` or Ctrl-D
leaves, Ctrl-C clears the line. When the input is piped, each command waits for its answer.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path

import typer

from bot.console_view import Twin, View

EXIT_WORDS = {"exit", "quit", "q"}
ANSWER_SECONDS = 30.0  # how long a piped command waits for the bot's answer
WAIT_SECONDS = 300.0  # how long `wait TEXT` waits
PEOPLE = {"alice": "U0ADMIN", "oscar": "U0OPER", "rita": "U0READ"}
HELP = """\
Type drewburr's verbs as in Slack (status, plan blade3, drain blade3, ops list, help drain);
a number presses that button; `as alice|oscar|rita` speaks as another person; `lab fault
power-off blade3` injects a fault; `wait TEXT` waits for a message saying TEXT; exit leaves."""


def run_line(app: typer.Typer, config: Path, line: str) -> int | None:
    """Run one line as `drewburr --config FILE <line>` would; the verb's exit code, or None if empty."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if not argv:
        return None
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


class Console:
    """One person at the prompt; a watcher thread prints the channel as it changes."""

    def __init__(self, app: typer.Typer, config: Path, workdir: Path, twin: Twin, piped: bool) -> None:
        self.app, self.config, self.workdir, self.twin, self.piped = app, config, workdir, twin, piped
        self.view = View(names={i: n for n, i in PEOPLE.items()})
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="console-watch", daemon=True)

    def _refresh(self) -> None:
        lines = self.view.update(self.twin.seen(self.view.user))
        if lines:
            typer.echo("\n".join(lines))
            with self.changed:
                self.changed.notify_all()

    def _watch(self) -> None:
        while not self.stopping.wait(0.3):
            try:
                self._refresh()
            except OSError as exc:  # the twin went away: say it once a while, keep the prompt
                typer.echo(f"(the lab's Slack does not answer: {exc})", err=True)
                self.stopping.wait(5)

    def _wait(self, done: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        with self.changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    typer.echo(f"(no {what} after {seconds:.0f} s)", err=True)
                    return
                self.changed.wait(min(left, 1.0))

    def line(self, line: str) -> bool:
        """Handle one line; False when the person leaves."""
        words = line.split()
        if not words:
            return True
        if words[0] in EXIT_WORDS:
            return False
        if words[0] == "as" and len(words) == 2:
            self.view.user = PEOPLE.get(words[1], words[1])
            typer.echo(f"(you are {self.view.names.get(self.view.user, self.view.user)} now)")
        elif words[0] == "lab":
            argv = shlex.split(line) if "--dir" in line else [*shlex.split(line), "--dir", str(self.workdir)]
            run_line(self.app, self.config, shlex.join(argv))
        elif words[0] == "wait":
            text = line.split(None, 1)[1] if len(words) > 1 else ""
            self._wait(lambda: self.view.said(text), WAIT_SECONDS, f"message saying {text!r}")
        elif words[0].isdigit():
            self._press(int(words[0]))
        else:
            if words[0] == "help" and len(words) == 1:
                typer.echo(HELP)
            self._command(line.removeprefix("/drewburr").strip())
        return True

    def _command(self, text: str) -> None:
        before = self.view.changes
        error = self.twin.command(self.view.user, text)
        if error:
            typer.echo(f"(Slack: /drewburr failed with {error})", err=True)
        elif self.piped:
            self._wait(lambda: self.view.changes > before, ANSWER_SECONDS, "answer from drewburr")

    def _press(self, number: int) -> None:
        button = self.view.buttons.get(number)
        if button is None:
            typer.echo(f"(no button {number})", err=True)
            return
        before = self.view.changes
        error = self.twin.press(self.view.user, button.ts, button.action_id)
        if error:
            typer.echo(f"(Slack: the button failed with {error})", err=True)
        elif self.piped:
            self._wait(lambda: self.view.changes > before, ANSWER_SECONDS, "answer to the button")

    def run(self, read: Callable[[str], str]) -> None:
        self.watcher.start()  # it shows the channel as it is within a moment, then as it changes
        try:
            while True:
                try:
                    if not self.line(read("drewburr> ").strip()):
                        return
                except KeyboardInterrupt:  # clears the line (or stops a wait), as a shell does
                    typer.echo()
                except EOFError:  # Ctrl-D, or the end of piped input
                    typer.echo()
                    return
        finally:
            self.stopping.set()
            self.watcher.join(timeout=5)
