"""Two `serve` replicas sharing the Kubernetes journal and a Lease: the leader is killed in the
middle of a drain (SIGKILL: the other takes the Lease once it expired) or stopped (SIGTERM: it
ends its step and releases the Lease), the other resumes the drain and finishes it; no step is
done twice and Slack hears it all in one thread."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client, config

from infra.journal import OperationStatus
from infra.journal_k8s import KubernetesJournal
from infra.operations import run as operations
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import DEAD_OWNER, lab_context
from tests.scenarios.replicas import LEASE, NAMESPACE, replica


@contextmanager
def held_by_the_test(leases: client.CoordinationV1Api) -> Iterator[None]:
    """The Lease, held and renewed by another holder until the block ends: nobody may take it before."""
    def spec() -> client.V1LeaseSpec:
        now = datetime.now(UTC).replace(microsecond=1)  # the client drops a zero fraction (see the gateway)
        return client.V1LeaseSpec(holder_identity="the-test", lease_duration_seconds=LEASE["lease_seconds"],
                                  acquire_time=now, renew_time=now)
    leases.create_namespaced_lease(NAMESPACE, client.V1Lease(
        metadata=client.V1ObjectMeta(name="drewburr-leader"), spec=spec()))
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(0.5):
            lease = leases.read_namespaced_lease("drewburr-leader", NAMESPACE)
            lease.spec = spec()
            leases.replace_namespaced_lease("drewburr-leader", NAMESPACE, lease)
    renewing = threading.Thread(target=renew, daemon=True)
    renewing.start()
    try:
        yield
        assert leases.read_namespaced_lease("drewburr-leader", NAMESPACE).spec.holder_identity == "the-test"
    finally:
        stop.set()
        renewing.join()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["blade-died", "rolling-update"])
def test_the_other_replica_takes_the_lease_and_finishes_a_drain_whose_leader_was_killed(
        running_lab: RunningLab, tmp_path: Path, sig: signal.Signals) -> None:
    kube = config.new_client_from_config(config_file=str(running_lab.workdir / "kubeconfig"))
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    leases = client.CoordinationV1Api(kube)
    ctx = lab_context(running_lab)
    assert ctx.k8s is not None
    ctx.journal = KubernetesJournal(ctx.k8s, NAMESPACE)

    async def interrupted_drain() -> int:  # as a replica that died right after starting it left it
        op = await operations.create(ctx, "drain", "blade3", {})
        await ctx.journal.set_phase(op.id, "Running", time.time(), owner=DEAD_OWNER)
        return op.id
    op_id = asyncio.run(interrupted_drain())

    def journaled() -> OperationStatus:
        op = asyncio.run(ctx.journal.get(op_id))
        assert op is not None
        return op

    def holder() -> str | None:
        return _holder(leases)

    with ExitStack() as starting, held_by_the_test(leases):  # until both replicas are up
        procs = {name: starting.enter_context(replica(running_lab, tmp_path, name))
                 for name in ("replica-a", "replica-b")}
        running = starting.pop_all()
    with running:
        first = wait_for(lambda: holder() in procs and holder(), timeout=20, what="a replica to lead")
        mid = wait_for(lambda: (op := journaled()).done >= 1 and op, timeout=60, what="a step done by it")
        procs[first].proc.send_signal(sig)
        assert mid.phase == "Running" and mid.pending, "the drain ended before the leader could be killed"
        (second,) = set(procs) - {first}
        wait_for(lambda: holder() == second, timeout=30, what=f"{second} to take the Lease")
        done = wait_for(lambda: (op := journaled()).phase in ("Succeeded", "Failed") and op, timeout=120,
                        what="the drain to end")
    assert done.phase == "Succeeded", done.last_error
    shown = subprocess.run([sys.executable, "-m", "bot", "--config", str(tmp_path / "replica-a.yaml"), "ops",
                            "show", str(op_id), "--json"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and json.loads(shown.stdout)["phase"] == "Succeeded", shown.stderr
    lease = leases.read_namespaced_lease("drewburr-leader", NAMESPACE).spec
    assert lease.lease_transitions == 2  # the test held it, then the first replica, then the second
    vmids = running_lab.call(lambda: [vm.vmid for vm in running_lab.lab.pve.vms.values()
                                      if vm.name in ("kube03", "kube05")])
    recorder = running_lab.lab.recorder
    assert [recorder.count("POST", f"/qemu/{vmid}/migrate") for vmid in vmids] == [1, 1]
    assert recorder.count("PUT", "/cluster/ceph/flags/noout") == 1
    thread = _thread_of(running_lab, op_id)
    said = [m["text"] for m in thread[1:]]
    assert sum(t.startswith("Resuming `drain blade3`") for t in said) == 2  # by the first, then the second
    dones = [t.split(":")[0] for t in said if ": done" in t]
    assert len(dones) == len(set(dones)), said  # no step done twice
    # the second did every step still to do when the first was killed (which may have finished one
    # more, journaled, without living to say so)
    assert set(mid.pending[1:]) <= set(dones) <= {s.name for s in done.steps}, said


def _thread_of(lab: RunningLab, op_id: int) -> list[dict[str, Any]]:
    """The operation's messages: one top-level message, and its thread."""
    slack = yaml.safe_load((lab.workdir / "drewburr.yaml").read_text())["slack"]
    channel, url = slack["channel"], slack["api_url"].removesuffix("/api/")
    messages = requests.get(f"{url}/lab/slack/messages", params={"channel": channel, "user": "U0BOT"},
                            timeout=10).json()["messages"]
    tops = [m for m in messages if f"(operation {op_id})" in m["text"]
            and m.get("thread_ts", m["ts"]) == m["ts"]]  # a thread's parent has thread_ts == ts
    assert len(tops) == 1, messages
    top = tops[0]
    rest = [m for m in messages if m is not top]
    assert all(m.get("thread_ts") == top["ts"] for m in rest), rest  # nothing outside the thread
    return [top, *rest]


def test_a_follower_records_an_alert_and_the_decision_waits_for_it_to_lead(running_lab: RunningLab,
                                                                         tmp_path: Path) -> None:
    kube = config.new_client_from_config(config_file=str(running_lab.workdir / "kubeconfig"))
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    leases = client.CoordinationV1Api(kube)
    ctx = lab_context(running_lab)
    assert ctx.k8s is not None
    journal = KubernetesJournal(ctx.k8s, NAMESPACE)
    with replica(running_lab, tmp_path, "replica-a") as a:
        wait_for(lambda: _holder(leases) == "replica-a", timeout=20, what="replica-a to lead")
        with replica(running_lab, tmp_path, "replica-b") as b:
            assert (a.gauge("drewburr_leader"), b.gauge("drewburr_leader")) == (1.0, 0.0)
            assert requests.get(f"{b.url}/readyz", timeout=10).status_code == 200  # a follower is ready
            assert b.alert("KubeNodeNotReady", node="kube04").status_code == 202
            (entry,) = wait_for(lambda: asyncio.run(journal.audit_log()), timeout=20, what="the audit entry")
            assert (entry.who, entry.where) == ("alertmanager", "webhook")
            assert entry.result == "received by replica-b, not the leader: queued"
            assert asyncio.run(journal.list()) == []  # nobody decided: the leader never got it
            a.proc.send_signal(signal.SIGTERM)  # a rolling update: a releases the Lease as it stops
            wait_for(lambda: _holder(leases) == "replica-b", timeout=20, what="replica-b to lead")
            wait_for(lambda: b.gauge("drewburr_leader") == 1.0, timeout=20, what="b's leader gauge")
            (op,) = wait_for(lambda: [o for o in asyncio.run(journal.list()) if o.phase == "Refused"],
                             timeout=30, what="b's decision")
    assert op.target == "blade4"
    assert op.last_error is not None and op.last_error.startswith("still-true: blade4 looks healthy")


def _holder(leases: client.CoordinationV1Api) -> str | None:
    try:
        return leases.read_namespaced_lease("drewburr-leader", NAMESPACE).spec.holder_identity or None
    except client.ApiException:
        return None
