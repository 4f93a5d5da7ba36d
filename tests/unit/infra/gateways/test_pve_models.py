"""The typed PVE results read what real PVE sends (captured responses in ../shared/reference/pve)."""

from __future__ import annotations

import json
from typing import Any

from infra.gateways.k8s_models import NodeInfo
from infra.gateways.pve_models import Resource, VmStatus
from tests.conftest import REFERENCE


def _data(name: str) -> Any:
    return json.loads((REFERENCE / "pve" / name).read_text())["data"]


def test_cluster_resources_give_nodes_online_and_vms_with_their_node_and_status():
    entries = [Resource.model_validate(e) for e in _data("cluster-resources.json")]
    raw = _data("cluster-resources.json")
    nodes = {e.node for e in entries if e.online}
    assert nodes == {e["node"] for e in raw if e["type"] == "node" and e["status"] == "online"} and nodes
    vm = next(e for e in entries if e.type == "qemu")
    assert (vm.vmid, vm.node, vm.running, vm.label) == (100, "node2", True, "server1 (100)")
    assert all(e.lock is None for e in entries if e.type == "qemu" and "lock" not in
               next(r for r in raw if r.get("id") == f"qemu/{e.vmid}"))


def test_a_vms_current_status_says_running_and_no_lock():
    status = VmStatus.model_validate(_data("qemu-status-current.json"))
    assert status.status == "running" and status.lock is None


def test_a_node_says_whether_it_is_cordoned_and_its_annotations():
    node = NodeInfo.of({"metadata": {"name": "kube03", "annotations": {"drewburr/maintenance": "blade3"}},
                        "spec": {"unschedulable": True}})
    assert node.unschedulable and node.annotations["drewburr/maintenance"] == "blade3"
    assert not NodeInfo.of({"metadata": {"name": "kube04"}, "spec": {}}).unschedulable
