"""Services with a selector list their pods in Endpoints, ready ones apart from the rest."""

from __future__ import annotations

from lab.k8s.controllers.base import SERVICE
from lab.k8s.controllers.endpoints import ENDPOINTS
from tests.unit.lab.k8s_world import World, homelab


def _endpoints(w: World, namespace: str, name: str) -> dict:  # type: ignore[type-arg]
    return w.store.get(ENDPOINTS, namespace, name)


def test_whoami_lists_its_three_ready_pods_on_the_service_port():
    w = World()
    (subset,) = _endpoints(w, "default", "whoami")["subsets"]
    pods = {p["metadata"]["name"]: p for p in w.live_pods("default", "whoami-")}
    assert {a["targetRef"]["name"] for a in subset["addresses"]} == set(pods)
    assert {a["ip"] for a in subset["addresses"]} == {p["status"]["podIP"] for p in pods.values()}
    assert subset["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
    assert "notReadyAddresses" not in subset


def test_a_headless_statefulset_service_names_each_pods_hostname():
    w = World()
    (subset,) = _endpoints(w, "default", "postgres")["subsets"]
    assert [a["hostname"] for a in subset["addresses"]] == ["postgres-0"]


def test_pods_on_a_dead_node_move_to_not_ready_addresses():
    w = World(homelab(ha=False))
    node = w.pods("default", "whoami-")[0]["spec"]["nodeName"]
    blade = next(vm.node for vm in w.pve.vms.values() if vm.name == node)
    w.pve.power_off(blade, w.now)
    w.run(60)
    (subset,) = _endpoints(w, "default", "whoami")["subsets"]
    assert [a["nodeName"] for a in subset["notReadyAddresses"]] == [node]
    assert len(subset["addresses"]) == 2


def test_deleting_a_service_deletes_its_endpoints():
    w = World()
    w.store.remove(SERVICE, "default", "whoami")
    w.run(2)
    assert w.store.find(ENDPOINTS, "default", "whoami") is None


def test_the_kubernetes_service_lists_the_k3s_servers_that_run():
    w = World(homelab(ha=False))
    w.k8s.create(SERVICE, {"metadata": {"name": "kubernetes", "namespace": "default"},
                           "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})
    w.run(2)
    ips = [a["ip"] for a in _endpoints(w, "default", "kubernetes")["subsets"][0]["addresses"]]
    assert ips == ["192.168.1.121", "192.168.1.122", "192.168.1.123"]
    w.pve.power_off("blade3", w.now)
    w.run(2)
    ips = [a["ip"] for a in _endpoints(w, "default", "kubernetes")["subsets"][0]["addresses"]]
    assert ips == ["192.168.1.121", "192.168.1.122"]
