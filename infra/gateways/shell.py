"""Running commands in a guest, whichever way it is reached (the guest agent, or SSH)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel


class ShellResult(BaseModel):
    code: int
    out: str = ""
    err: str = ""

    def tail(self, lines: int = 8) -> str:
        """The last lines of its output (errors last), for the journal."""
        text = "\n".join(p.rstrip() for p in (self.out, self.err) if p.strip())
        return "\n".join(text.splitlines()[-lines:])


class Shell(Protocol):
    async def run(self, command: str, stdin: str | None = None, within: float = 600) -> ShellResult:
        """`sh -c command` in the guest, with `stdin`; infra.errors.TimedOut past `within` seconds
        (the command may still be running in the guest)."""
        ...
