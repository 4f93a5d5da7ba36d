"""The default homelab's K3s cluster, as a user finds it through the official client after `lab up`."""

from __future__ import annotations

import time
from collections import Counter

from kubernetes import client

from tests.lab.kube import unsteady


def _steady(api: client.ApiClient) -> None:
    deadline = time.monotonic() + 30
    while waiting := unsteady(api):
        assert time.monotonic() < deadline, f"not steady: {waiting}"
        time.sleep(0.2)


def test_every_default_workload_runs_and_becomes_available(api: client.ApiClient) -> None:
    _steady(api)
    apps = client.AppsV1Api(api)
    deployments = {(d.metadata.namespace, d.metadata.name): d.spec.replicas
                   for d in apps.list_deployment_for_all_namespaces().items}
    assert deployments.items() >= {
        ("monitoring", "kube-prometheus-stack-grafana"): 1,
        ("monitoring", "kube-prometheus-stack-kube-state-metrics"): 1,
        ("metallb-system", "metallb-controller"): 1,
        ("cert-manager", "cert-manager"): 1,
        ("kube-system", "traefik"): 2,
        ("default", "whoami"): 3,
        ("default", "ingress-solo"): 2,
    }.items()
    sets = {s.metadata.name for s in apps.list_stateful_set_for_all_namespaces().items}
    assert sets >= {"prometheus-kube-prometheus-stack-prometheus",
                    "alertmanager-kube-prometheus-stack-alertmanager", "postgres"}
    daemons = {d.metadata.name: d.status.number_available
               for d in apps.list_daemon_set_for_all_namespaces().items}
    assert daemons == {"kube-prometheus-stack-prometheus-node-exporter": 5, "metallb-speaker": 5}


def test_whoami_spreads_over_three_zones_under_a_budget_of_two(api: client.ApiClient) -> None:
    _steady(api)
    v1 = client.CoreV1Api(api)
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in v1.list_node().items}
    pods = v1.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=whoami").items
    assert len({zones[p.spec.node_name] for p in pods}) == 3
    pdb = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("whoami", "default")
    assert (pdb.spec.min_available, pdb.status.current_healthy, pdb.status.disruptions_allowed) == (2, 3, 1)


def test_ingress_solo_has_both_replicas_on_kube05(api: client.ApiClient) -> None:
    _steady(api)
    v1 = client.CoreV1Api(api)
    pods = v1.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=ingress-solo").items
    assert [p.spec.node_name for p in pods] == ["kube05", "kube05"]


def test_postgres_runs_on_a_bound_rbd_volume_attached_to_its_node(api: client.ApiClient) -> None:
    _steady(api)
    v1 = client.CoreV1Api(api)
    pod = v1.read_namespaced_pod("postgres-0", "default")
    claim = next(v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim)
    pvc = v1.read_namespaced_persistent_volume_claim(claim, "default")
    assert (pvc.status.phase, pvc.spec.access_modes) == ("Bound", ["ReadWriteOnce"])
    pv = v1.read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.csi.driver == "rbd.csi.ceph.com"
    attachments = client.StorageV1Api(api).list_volume_attachment().items
    assert [(a.spec.node_name, a.status.attached) for a in attachments
            if a.spec.source.persistent_volume_name == pv.metadata.name] == [(pod.spec.node_name, True)]


def test_nodes_carry_their_blade_as_zone_and_k3s_role_labels(api: client.ApiClient) -> None:
    nodes = {n.metadata.name: n.metadata.labels for n in client.CoreV1Api(api).list_node().items}
    assert {name: labels["topology.kubernetes.io/zone"] for name, labels in nodes.items()} == {
        "kube01": "blade1", "kube02": "blade2", "kube03": "blade3", "kube04": "blade4", "kube05": "blade3"}
    servers = {name for name, labels in nodes.items()
               if {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/etcd",
                   "node-role.kubernetes.io/master"} <= labels.keys()}
    assert servers == {"kube01", "kube02", "kube03"}
    assert Counter(labels["node.kubernetes.io/instance-type"] for labels in nodes.values()) == {"k3s": 5}


def test_the_seed_services_have_cluster_ips_and_traefik_a_load_balancer_ip(api: client.ApiClient) -> None:
    services = client.CoreV1Api(api).list_service_for_all_namespaces().items
    plain = [s for s in services if s.spec.cluster_ip != "None"]  # headless ones have none by design
    assert plain and all(s.spec.cluster_ip.startswith("10.43.") for s in plain)
    ips = {s.metadata.name: s.spec.cluster_ip for s in services}
    assert (ips["kubernetes"], ips["kube-dns"]) == ("10.43.0.1", "10.43.0.10")
    traefik = next(s for s in services if s.metadata.name == "traefik")
    assert traefik.spec.ports[0].node_port and traefik.status.load_balancer.ingress[0].ip


def test_services_have_endpoints_of_their_ready_pods(api: client.ApiClient) -> None:
    _steady(api)
    v1 = client.CoreV1Api(api)
    api_servers = v1.read_namespaced_endpoints("kubernetes", "default").subsets[0]
    assert [(a.ip, api_servers.ports[0].port) for a in api_servers.addresses] == [
        ("192.168.1.121", 6443), ("192.168.1.122", 6443), ("192.168.1.123", 6443)]
    dns = v1.read_namespaced_endpoints("kube-dns", "kube-system").subsets[0]
    assert len(dns.addresses) == 1 and {(p.name, p.protocol) for p in dns.ports} == {("dns", "UDP"),
                                                                                      ("dns-tcp", "TCP")}
    assert len(v1.read_namespaced_endpoints("whoami", "default").subsets[0].addresses) == 3


def test_field_selectors_on_name_namespace_node_and_phase(api: client.ApiClient) -> None:
    _steady(api)
    v1 = client.CoreV1Api(api)

    def names(selector: str) -> set[str]:
        return {p.metadata.name for p in v1.list_pod_for_all_namespaces(field_selector=selector).items}
    running = names("status.phase=Running")
    assert running and names("status.phase!=Running") == set()
    assert names("status.phase!=Pending") == running  # `!=` filters, it does not just match nothing
    assert names("metadata.name=postgres-0,metadata.namespace=default") == {"postgres-0"}
    assert len(names("spec.nodeName=kube05,status.phase=Running,metadata.namespace=default")) == 2
