"""A guest's shell over SSH (asyncssh): the other way to install K3s, when the guest agent is not
to be used. Host keys are checked against `known_hosts` when one is given."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType

from infra.errors import GatewayError, TimedOut, Unavailable
from infra.gateways.shell import ShellResult

SYSTEM = "ssh"


def _asyncssh() -> ModuleType:
    """asyncssh, imported when SSH is used (it is slow to import, and warns about DSA keys we never use)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import asyncssh
    return asyncssh


class SshShell:
    def __init__(self, host: str, port: int, user: str, key_file: Path | None, known_hosts: Path | None,
                 connect_timeout: float = 30) -> None:
        self.host, self.port, self.user = host, port, user
        self.key_file, self.known_hosts, self.connect_timeout = key_file, known_hosts, connect_timeout
        self.where = f"{user}@{host}:{port}"

    async def run(self, command: str, stdin: str | None = None, within: float = 600) -> ShellResult:
        """Run `command` through the remote shell; its exit status and output."""
        asyncssh = _asyncssh()
        try:
            async with asyncssh.connect(
                    self.host, port=self.port, username=self.user,
                    client_keys=[str(self.key_file)] if self.key_file else None,
                    known_hosts=str(self.known_hosts) if self.known_hosts else None,
                    connect_timeout=self.connect_timeout) as conn:
                # no input: stdin at EOF at once, as `ssh host cmd </dev/null`, so nothing waits on it
                feed = {"input": stdin} if stdin else {"stdin": asyncssh.DEVNULL}
                done = await conn.run(command, timeout=within, check=False, **feed)
        except asyncssh.TimeoutError as exc:
            raise TimedOut(f"`{command[:60]}` to end on {self.where}", within) from exc
        except (OSError, asyncssh.misc.ConnectionLost, TimeoutError) as exc:
            raise Unavailable(SYSTEM, f"{self.where}: {exc or type(exc).__name__}",
                              hint="provision.ssh (host, port) and that the guest's sshd is up") from exc
        except asyncssh.Error as exc:  # authentication, host key: retrying will not help
            raise GatewayError(SYSTEM, f"{self.where}: {exc.reason}",
                               hint="provision.ssh.key_file, provision.sshkeys and "
                                    "provision.ssh.known_hosts") from exc
        code = done.exit_status if done.exit_status is not None else 255
        return ShellResult(code=code, out=_text(done.stdout), err=_text(done.stderr))


def _text(data: object) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
