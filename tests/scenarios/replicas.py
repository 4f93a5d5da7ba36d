"""`drewburr serve` replicas on a lab: the Kubernetes journal and a Lease, each replica its own process
(used by the failover scenario and the benchmarks)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import FAST
from tests.tools import free_port

NAMESPACE, TOKEN = "drewburr", "replica-webhook-token"
LEASE = {"enabled": True, "namespace": NAMESPACE, "lease_seconds": 3, "renew_seconds": 2,
         "retry_seconds": 0.5}


def ha_config(lab: RunningLab, name: str, lease: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lab's config for one replica: Socket Mode to the Slack twin, its own port, and (with
    `lease`) the Kubernetes journal and leader election; without, SQLite and no election."""
    cfg = yaml.safe_load((lab.workdir / "drewburr.yaml").read_text())
    cfg["server"] = {"host": "127.0.0.1", "port": free_port()}
    cfg["slack"]["mode"] = "socket"
    if lease is not None:
        cfg["journal"] = {"backend": "kubernetes", "namespace": NAMESPACE}
        cfg["leader"] = {**lease, "identity": name}
    cfg["operations"] = FAST
    cfg["webhooks"] = {"token": TOKEN}
    return cfg


def start(cfg: dict[str, Any], folder: Path, name: str) -> subprocess.Popen[str]:
    """`drewburr serve` with that config, its output in FOLDER/NAME.log."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with (folder / f"{name}.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(path), "serve"],
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def url(cfg: dict[str, Any]) -> str:
    return f"http://127.0.0.1:{cfg['server']['port']}"


@dataclass(frozen=True)
class Replica:
    proc: subprocess.Popen[str]
    url: str

    def alert(self, name: str, **labels: str) -> requests.Response:
        alert = {"status": "firing", "labels": {"alertname": name, **labels},
                 "startsAt": "2026-12-06T03:00:00Z"}
        body = {"version": "4", "groupKey": "g", "status": "firing", "receiver": "drewburr",
                "alerts": [alert]}
        return requests.post(f"{self.url}/alerts/alertmanager", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}"})


    def gauge(self, name: str) -> float:
        for line in requests.get(f"{self.url}/metrics", timeout=10).text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"no {name} in /metrics")


@contextmanager
def replica(lab: RunningLab, folder: Path, name: str,
            lease: dict[str, Any] | None = LEASE) -> Iterator[Replica]:
    cfg = ha_config(lab, name, lease)
    proc = start(cfg, folder, name)
    try:
        wait_for(lambda: answers(f"{url(cfg)}/healthz") or proc.poll() is not None,
                 timeout=30, what=f"{name} to serve")
        assert proc.poll() is None, (folder / f"{name}.log").read_text()
        yield Replica(proc, url(cfg))
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=20)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:  # not up yet, or busy checking its dependencies
        return False
