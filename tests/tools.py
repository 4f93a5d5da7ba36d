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
    with _running(command, f"http://127.0.0.1:{port}", "alertmanager") as url:
        yield url


@contextmanager
def prometheus(workdir: Path, config: dict[str, Any], rules: dict[str, Any] | None = None) -> Iterator[str]:
    """A real Prometheus (Debian's) on loopback with `config` and, when given, one rule file; yields
    its URL. Alerts are re-sent every second, so one that fired before Alertmanager was found goes out."""
    if rules is not None:
        (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
        config = {**config, "rule_files": [str(workdir / "rules.yml")]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [require("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
               f"--storage.tsdb.path={workdir / 'prometheus-data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--rules.alert.resend-delay=1s"]
    with _running(command, f"http://127.0.0.1:{port}", "prometheus") as url:
        yield url


@contextmanager
def _running(command: list[str], url: str, what: str) -> Iterator[str]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert proc.poll() is None, f"{what} exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"{what} did not start within 30 s"
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
