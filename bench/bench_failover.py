"""Leader failover: two `drewburr serve` replicas on the lab, the leader killed (SIGKILL, as when
its blade loses power) or stopped (SIGTERM, as in a rolling update: it releases the Lease);
how long until the other holds the Lease, beside the Lease's duration.

Expiry is judged by each replica's own clock, so a killed leader is replaced after about one
`leaseDurationSeconds` since the follower last saw the Lease change, plus up to one retry
period. Seconds are real seconds and lab seconds (the lab's clock at its time scale).
"""

from __future__ import annotations

import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from kubernetes import client, config

from lab.background import BackgroundLab
from lab.scenario import load_scenario
from tests.scenarios.replicas import LEASE, NAMESPACE, replica

RUNS, SCALE = 3, 50.0
T = TypeVar("T")
HA = {**LEASE, "lease_seconds": 5, "renew_seconds": 3, "retry_seconds": 1}


def _holder(leases: client.CoordinationV1Api) -> str | None:
    try:
        return leases.read_namespaced_lease("drewburr-leader", NAMESPACE).spec.holder_identity or None
    except client.ApiException:
        return None


def _until(check: Callable[[], T], limit: float = 60.0) -> T:
    deadline = time.monotonic() + limit
    while not (value := check()):
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.02)
    return value


def failover(lab: BackgroundLab, folder: Path, leases: client.CoordinationV1Api, run: int,
             sig: signal.Signals) -> tuple[float, float]:
    names = [f"r{run}a", f"r{run}b"]
    with ExitStack() as stack:
        procs = {name: stack.enter_context(replica(lab, folder, name, HA)) for name in names}
        first = _until(lambda: (h := _holder(leases)) in procs and h)
        time.sleep(HA["retry_seconds"] * 2)  # the follower has seen the Lease renewed
        lab_start, start = lab.call(lab.lab.clock.now), time.perf_counter()
        procs[first].proc.send_signal(sig)
        procs[first].proc.wait()
        (second,) = set(names) - {first}
        _until(lambda: _holder(leases) == second)
        return time.perf_counter() - start, lab.call(lab.lab.clock.now) - lab_start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            BackgroundLab(Path(tmp) / "lab", load_scenario(None), time_scale=SCALE) as lab:
        kube = config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig"))
        client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        leases = client.CoordinationV1Api(kube)
        for sig in (signal.SIGKILL, signal.SIGTERM):
            runs = [failover(lab, Path(tmp), leases, i + (10 if sig == signal.SIGTERM else 0), sig)
                    for i in range(RUNS)]
            real = statistics.median(r for r, _ in runs)
            labs = statistics.median(lab_s for _, lab_s in runs)
            print(f"leader {sig.name}: the other leads after {real:.2f} s "
                  f"({labs:.0f} lab s at {SCALE:.0f}x); "
                  f"leaseDurationSeconds {HA['lease_seconds']}, retry {HA['retry_seconds']} s "
                  f"(median of {RUNS})")
