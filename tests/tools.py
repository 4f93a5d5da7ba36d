"""Real components the tests need: a missing one fails the test that needs it (make test installs them)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml


def require(binary: str, installed_by: str = "make debs") -> str:
    """The path of `binary`; a test that needs a real component fails without it, never skips quietly."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not on PATH: this test needs the real one ({installed_by} installs it)",
                    pytrace=False)
    return path


def free_port() -> int:
    """A loopback port free now, for a real component a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def alertmanager(workdir: Path, config: dict[str, Any]) -> Iterator[str]:
    """A real Alertmanager (Debian's 0.25) on loopback with `config`, gossip off; yields its URL."""
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [require("prometheus-alertmanager"), f"--config.file={workdir / 'alertmanager.yml'}",
               f"--storage.path={workdir / 'alertmanager-data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--cluster.listen-address="]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert proc.poll() is None, f"alertmanager exited with {proc.returncode}"
            assert time.monotonic() < deadline, "alertmanager did not start within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def offline_config(path: Path, **sections: Any) -> Path:
    """A drewburr config for verbs that never reach PVE (silences, the automation switch): its journal
    beside it, plus `sections`."""
    config: dict[str, Any] = {
        "proxmox": {"url": "https://127.0.0.1:1", "token_id": "root@pam!drewburr", "token_secret": "x"},
        "journal": {"path": str(path.parent / "journal.sqlite")}, **sections}
    path.write_text(yaml.safe_dump(config))
    return path
