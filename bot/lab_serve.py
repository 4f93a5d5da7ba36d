"""`drewburr lab`'s bot: `drewburr serve` in Socket Mode against the lab's Slack twin, as a child
process (the real bot, with its own identity: a console that stops does not orphan its work)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import yaml

START_SECONDS = 60.0
# The lab's people: alice is an admin, oscar operates (through @oncall), everyone reads.
PERMISSIONS = {"read": ["*"], "operate": ["@oncall", "U0ADMIN"], "admin": ["U0ADMIN"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_config(workdir: Path) -> Path:
    """The lab's drewburr.yaml with Slack in Socket Mode, a free port and the lab's permissions."""
    config: dict[str, Any] = yaml.safe_load((workdir / "drewburr.yaml").read_text())
    config["slack"]["mode"] = "socket"
    config["server"] = {"host": "127.0.0.1", "port": _free_port()}
    config["permissions"] = PERMISSIONS
    path = workdir / "serve.yaml"
    path.write_text("# Written by `drewburr lab`: its bot, in Socket Mode.\n" + yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@contextmanager
def serving(running: Any, workdir: Path) -> Iterator[str]:
    """Run `serve` until the block ends (then SIGTERM); yields the Slack twin's URL."""
    config = serve_config(workdir)
    log = (workdir / "serve.log").open("a")
    # its own session: a Ctrl-C at the console's prompt clears the line and does not stop the bot
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "serve"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not running.call(running.lab.slack.socket.live):  # its Socket Mode link is up
            if proc.poll() is not None or time.monotonic() > deadline:
                raise typer.Exit(_failed(proc, workdir))
            time.sleep(0.2)
        yield str(json.loads((workdir / "lab.json").read_text())["slack_url"])
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def _failed(proc: subprocess.Popen[bytes], workdir: Path) -> int:
    said = (workdir / "serve.log").read_text().strip().splitlines()[-5:]
    state = f"exited with {proc.returncode}" if proc.poll() is not None else "never linked to Slack"
    typer.echo(f"error: drewburr serve {state}; the end of {workdir / 'serve.log'}:\n" + "\n".join(said),
               err=True)
    return 1
