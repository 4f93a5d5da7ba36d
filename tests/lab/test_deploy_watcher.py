"""The watcher, the fence and the zone keeper as deployed: `serve` with the drewburr ServiceAccount's
token and the DrewburrOperator PVE token finds a powered-off blade by its own node watch and PVE/Ceph
poll, fences it once PVE HA has (the out-of-service taint on its nodes), and relabels the zone of the
node whose VM PVE HA restarted elsewhere (patches of nodes)."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from infra.journal import OperationStatus
from infra.topology_build import ZONE_LABEL
from tests.lab.deployed import Deployed
from tests.lab.pve_client import wait_for
from tests.scenarios.homelab_k8s import OUT_OF_SERVICE, taints
from tests.scenarios.opsctx import fault
from tests.scenarios.test_serve import serving

pytest_plugins = ["tests.lab.deploy_fixtures"]  # its fixtures: applied, deployed


def test_the_watcher_the_fence_and_the_zone_keeper_run_as_the_service_account(
        deployed: Deployed, api: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(api)
    with serving(deployed.lab, tmp_path, watcher=True, base=deployed.config) as bot:
        fault(deployed.lab, "power-off", "blade3")

        def fences() -> list[OperationStatus]:
            return [op for op in bot.ops() if op.kind == "fence" and op.phase in ("Succeeded", "Failed")]

        (fence,) = wait_for(fences, timeout=90, what="the fence of blade3")
        assert (fence.target, fence.phase) == ("blade3", "Succeeded"), fence.last_error
        assert fence.params["alert"] in {"PveNodeOffline", "PveHaFenced", "KubeNodeNotReady"}  # a finding
        assert OUT_OF_SERVICE in taints(core, "kube05")

        def zone() -> str:
            return str(core.read_node("kube03").metadata.labels[ZONE_LABEL])

        moved = wait_for(lambda: zone() != "blade3" and zone(), timeout=60,
                         what="kube03's zone label following its HA VM")
        assert moved in ("blade1", "blade2", "blade4")
