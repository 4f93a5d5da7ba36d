"""Shared test fixtures: a lab served from a background thread on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.runner import LabServer
from lab.scenario import Scenario, load_scenario

REFERENCE = Path(os.environ.get("DREWBURR_REFERENCE",
                              Path(__file__).resolve().parents[2] / "shared" / "reference"))


class RunningLab:
    """A LabServer on its own event loop thread; tests talk to it over HTTP like any client."""

    def __init__(self, workdir: Path, scenario: Scenario, time_scale: float) -> None:
        self.server = LabServer(workdir, scenario, time_scale, port_base=0)
        self.lab = self.server.lab
        self.workdir = workdir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RunningLab:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run `fn(*args)` on the lab's loop thread (models are not thread-safe)."""
        async def run():  # type: ignore[no-untyped-def]
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    @property
    def pve_url(self) -> str:
        return f"https://127.0.0.1:{self.server.ports.pve}"

    @property
    def ca_file(self) -> str:
        return str(self.workdir / "pve-ca.pem")


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The default homelab at 50 lab seconds per real second."""
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=50) as lab:
        yield lab
