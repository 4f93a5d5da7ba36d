"""The watcher: with no Prometheus and no Alertmanager at all, a blade powered off in the lab is
found by drewburr's own K8s node watch and PVE/Ceph poll, and the remediation loop decides on it
(a journaled decision); once PVE HA has restarted the blade's HA VM elsewhere, its node's zone
label follows, journaled and said."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from kubernetes import client, config

from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from infra.topology_build import ZONE_LABEL
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import fault
from tests.scenarios.test_serve import Served, serving

WATCHER_FINDINGS = {"PveNodeOffline", "PveHaFenced", "KubeNodeNotReady", "CephOSDDown"}


def zone(lab: RunningLab, node: str) -> str | None:
    api = client.CoreV1Api(config.new_client_from_config(str(lab.workdir / "kubeconfig")))
    return (api.read_node(node).metadata.labels or {}).get(ZONE_LABEL)


def test_a_powered_off_blade_is_found_by_the_watcher_alone_and_the_zone_label_follows_ha(
        running_lab: RunningLab, tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, watcher=True) as bot:
        log: list[str] = []  # what it says (Slack is off: its log)
        assert bot.proc.stdout is not None
        threading.Thread(target=lambda: log.extend(bot.proc.stdout or ()), daemon=True).start()
        assert bot.metric("drewburr_alerts_received_total") == 0  # nothing was ever sent to it
        fault(running_lab, "power-off", "blade3")

        def decisions() -> list[OperationStatus]:
            return [op for op in bot.refused() if op.target == "blade3"]

        first = wait_for(decisions, timeout=30, what="a decision about blade3 from the watcher")[0]
        assert first.kind == "fence" and first.params["alert"] in WATCHER_FINDINGS
        assert bot.metric('drewburr_alerts_received_total{outcome="queued",source="watcher"}') >= 1
        assert bot.metric('drewburr_alerts_received_total{outcome="queued",source="alertmanager"}') == 0

        # PVE HA fences blade3 and restarts kube03 elsewhere: kube03's zone label follows
        moved = wait_for(lambda: (z := zone(running_lab, "kube03")) != "blade3" and z,
                         timeout=60, what="kube03's zone label following its VM")
        assert moved in ("blade1", "blade2", "blade4")
        assert zone(running_lab, "kube05") == "blade3"  # not HA: it stays on blade3, powered off
        (op,) = [o for o in _ops(bot) if o.kind == "zone"]
        assert (op.target, op.phase, op.params["zone"]) == ("kube03", "Succeeded", moved)
        said = f"Zone label of K8s node kube03: blade3 -> {moved}. Its VM kube03 (103) runs on {moved}"
        wait_for(lambda: any(said in line for line in log), timeout=10, what="the zone change said")


def _ops(bot: Served) -> list[OperationStatus]:
    return asyncio.run(SqliteJournal(bot.journal).list(limit=100))
