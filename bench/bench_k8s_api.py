"""The lab's Kubernetes API under load: listing 5,000 pods, and a watch delivering 1,000 events.

Both through the official Python client, median of several runs (the machine is shared).
The pods are put in the store directly (with a nodeSelector nothing matches, so they stay
Pending and the controllers leave them be); the watched events are ConfigMap writes.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client, config, watch

from lab.k8s.resources import BY_KIND
from lab.scenario import load_scenario
from tests.conftest import RunningLab

PODS, EVENTS, RUNS = 5000, 1000, 5


def _fill(lab: RunningLab) -> None:
    store = lab.lab.k8s.store
    for i in range(PODS):
        store.create(BY_KIND["Pod"], {
            "metadata": {"name": f"bulk-{i:05d}", "namespace": "bench", "labels": {"app": "bulk"}},
            "spec": {"nodeSelector": {"bench": "nowhere"},
                     "containers": [{"name": "c", "image": "nginx:1.27"}]},
            "status": {"phase": "Pending"}})


def _list_times(v1: client.CoreV1Api) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        assert len(v1.list_namespaced_pod("bench").items) == PODS
        times.append(time.perf_counter() - start)
    return times


def _watch_time(v1: client.CoreV1Api, lab: RunningLab, run: int) -> float:
    ns = "bench"
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version

    def write() -> None:
        store = lab.lab.k8s.store
        for i in range(EVENTS):
            store.create(BY_KIND["ConfigMap"], {"metadata": {"name": f"w{run}-{i}", "namespace": ns}})

    w = watch.Watch()
    start = time.perf_counter()
    threading.Thread(target=lambda: lab.call(write), daemon=True).start()
    seen = 0
    for _ in w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=60):
        seen += 1
        if seen == EVENTS:
            w.stop()
    assert seen == EVENTS
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            RunningLab(Path(tmp) / "lab", load_scenario(None), time_scale=50) as lab:
        v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig")))
        v1.create_namespace({"metadata": {"name": "bench"}})
        lab.call(_fill, lab)
        lists = _list_times(v1)
        watches = [_watch_time(v1, lab, run) for run in range(RUNS)]
    print(f"list {PODS} pods (typed client): median {statistics.median(lists):.3f} s "
          f"(min {min(lists):.3f}, max {max(lists):.3f}, {RUNS} runs)")
    print(f"watch delivering {EVENTS} events: median {statistics.median(watches):.3f} s "
          f"(min {min(watches):.3f}, max {max(watches):.3f}, {RUNS} runs)")


if __name__ == "__main__":
    main()
