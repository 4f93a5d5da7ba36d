"""The lab on its own event-loop thread, for a console or a test in the same process.

Clients talk to it over HTTP like any client; `call` runs code on the lab's thread,
because the models are not thread-safe.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lab.k8s.serviceaccounts import create_token
from lab.runner import LabServer
from lab.scenario import Scenario

T = TypeVar("T")


class BackgroundLab:
    def __init__(self, workdir: Path, scenario: Scenario, time_scale: float = 1.0,
                 port_base: int = 0) -> None:
        self.server = LabServer(workdir, scenario, time_scale, port_base=port_base)
        self.lab = self.server.lab
        self.workdir = workdir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab", daemon=True)

    def __enter__(self) -> BackgroundLab:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on the lab's loop thread and return its result."""
        async def run() -> T:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def service_account_token(self, namespace: str, name: str, seconds: int = 30 * 86400) -> str:
        """A TokenRequest's token for an existing ServiceAccount (lab seconds; long by default, since
        lab time runs fast), as `kubectl create token` gets one."""
        body = {"spec": {"expirationSeconds": seconds}}
        return str(self.call(create_token, self.lab.k8s, namespace, name, body)["status"]["token"])

    @property
    def pve_url(self) -> str:
        return f"https://127.0.0.1:{self.server.ports.pve}"

    @property
    def ca_file(self) -> str:
        return str(self.workdir / "pve-ca.pem")

    @property
    def config_file(self) -> Path:
        return self.workdir / "drewburr.yaml"
