"""`drewburr serve` at rest against the lab: its time from start to ready, its memory (RSS) and the
API calls it makes per minute when nothing happens (goal: under 2 s and 120 MiB).

Two set-ups: one process on SQLite, and one replica of two with the Kubernetes journal and a
Lease (the leader: it renews the Lease and looks for interrupted operations). Calls are counted
where they arrive, by the lab's request recorder, per API (pve, k8s, slack), over a window of
real seconds, and given per minute. Ready is `/readyz` answering 200 (journal, remediation, the
Socket Mode link); beside the wall time, the CPU time the process spent until then, which a
loaded machine does not inflate. Lab time runs at 1x: the bot's own timers are in real seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kubernetes import client, config

from lab.background import BackgroundLab
from lab.scenario import load_scenario
from tests.scenarios.replicas import LEASE, NAMESPACE, answers, ha_config, start, url

RUNS, WINDOW = 3, 60.0  # starts measured; real seconds of idling counted
HA = {**LEASE, "lease_seconds": 15, "renew_seconds": 10, "retry_seconds": 2}  # the defaults


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process: what starting costs, whatever the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ready(cfg: dict[str, Any], folder: Path, name: str) -> tuple[subprocess.Popen[str], float, float]:
    """The process, and its wall and CPU seconds from start to `/readyz` 200."""
    begin = time.perf_counter()
    proc = start(cfg, folder, name)
    while not answers(f"{url(cfg)}/readyz"):
        if proc.poll() is not None or time.perf_counter() - begin > 60:
            raise RuntimeError((folder / f"{name}.log").read_text()[-2000:])
        time.sleep(0.02)
    return proc, time.perf_counter() - begin, _cpu_seconds(proc.pid)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(20)


def measure(lab: BackgroundLab, folder: Path, lease: dict[str, Any] | None) -> None:
    label = "HA replica (kubernetes journal, Lease)" if lease else "one process (SQLite)"
    starts, cpus = [], []
    for run in range(RUNS):
        proc, seconds, cpu = _ready(ha_config(lab, f"start{run}", lease), folder, f"start{run}")
        starts.append(seconds)
        cpus.append(cpu)
        _stop(proc)
    proc, _, _ = _ready(ha_config(lab, "idle", lease), folder, "idle")
    try:
        time.sleep(5)  # past the start: what it does at rest
        before = len(lab.lab.recorder.requests)
        begin = time.perf_counter()
        time.sleep(WINDOW)
        seen = lab.lab.recorder.requests[before:]
        minutes = (time.perf_counter() - begin) / 60
        rss = _rss_mib(proc.pid)
    finally:
        _stop(proc)
    calls = Counter(r.api for r in seen)
    kinds = Counter(f"{r.method} {r.path}" for r in seen if r.api == "k8s").most_common(4)
    print(f"{label}: ready in {statistics.median(starts):.2f} s, {statistics.median(cpus):.2f} s of CPU "
          f"(medians of {RUNS}; goal < 2 s), idle RSS {rss:.0f} MiB (goal < 120 MiB)")
    print("  idle API calls per minute: " + ", ".join(
        f"{api} {calls[api] / minutes:.1f}" for api in ("k8s", "pve", "slack")))
    if kinds:
        print("  Kubernetes calls: " + "; ".join(f"{k} x{n}" for k, n in kinds))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            BackgroundLab(Path(tmp) / "lab", load_scenario(None), time_scale=1) as lab:
        kube = config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig"))
        client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        measure(lab, Path(tmp), None)
        measure(lab, Path(tmp), HA)
