"""Ingress, IngressClass, StorageClass, EndpointSlice and events.k8s.io Events through the client."""

from __future__ import annotations

import json

from kubernetes import client

from tests.lab.kube import Kubectl, fresh_namespace
from tests.lab.pve_client import wait_for


def test_traefik_brings_its_ingress_class_and_publishes_its_address(api: client.ApiClient) -> None:
    net, ns = client.NetworkingV1Api(api), fresh_namespace(api)
    traefik = net.read_ingress_class("traefik")
    assert traefik.spec.controller == "traefik.io/ingress-controller"
    assert traefik.metadata.annotations["ingressclass.kubernetes.io/is-default-class"] == "true"
    lb = client.CoreV1Api(api).read_namespaced_service("traefik", "kube-system").status.load_balancer.ingress
    backend = {"service": {"name": "whoami", "port": {"number": 80}}}
    rule = {"host": "whoami.homelab.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                                   "backend": backend}]}}
    net.create_namespaced_ingress(ns, {"metadata": {"name": "web"}, "spec": {"rules": [rule]}})
    net.create_namespaced_ingress(ns, {"metadata": {"name": "other"},
                                       "spec": {"ingressClassName": "nginx", "rules": [rule]}})
    published = wait_for(lambda: net.read_namespaced_ingress("web", ns).status.load_balancer.ingress,
                         what="the ingress address")
    assert [i.ip for i in published] == [lb[0].ip]
    assert not net.read_namespaced_ingress("other", ns).status.load_balancer.ingress


def test_ceph_rbd_is_the_default_storage_class(api: client.ApiClient, kubectl: Kubectl) -> None:
    storage, ns = client.StorageV1Api(api), fresh_namespace(api)
    sc = storage.read_storage_class("ceph-rbd")
    assert sc.provisioner == "rbd.csi.ceph.com"
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    created = client.CoreV1Api(api).create_namespaced_persistent_volume_claim(ns, claim)
    assert created.spec.storage_class_name == "ceph-rbd"
    row = next(r for r in kubectl("get", "storageclass").splitlines() if r.startswith("ceph-rbd"))
    assert row.split()[:4] == ["ceph-rbd", "(default)", "rbd.csi.ceph.com", "Delete"]


def test_a_service_has_an_endpoint_slice_beside_its_endpoints(api: client.ApiClient) -> None:
    discovery = client.DiscoveryV1Api(api)
    slices = discovery.list_namespaced_endpoint_slice("default",
                                                      label_selector="kubernetes.io/service-name=whoami")
    assert len(slices.items) == 1
    whoami = slices.items[0]
    assert whoami.address_type == "IPv4"
    managed_by = whoami.metadata.labels["endpointslice.kubernetes.io/managed-by"]
    assert managed_by == "endpointslice-controller.k8s.io"
    assert whoami.metadata.owner_references[0].name == "whoami"
    endpoints = client.CoreV1Api(api).read_namespaced_endpoints("whoami", "default")
    ips = sorted(a.ip for s in endpoints.subsets for a in s.addresses)
    assert sorted(a for e in whoami.endpoints for a in e.addresses) == ips
    assert all(e.conditions.ready and e.zone and e.target_ref.kind == "Pod" for e in whoami.endpoints)
    assert [(p.port, p.protocol) for p in whoami.ports] == [(80, "TCP")]
    api_servers = discovery.read_namespaced_endpoint_slice("kubernetes", "default")
    servers = client.CoreV1Api(api).read_namespaced_endpoints("kubernetes", "default").subsets[0].addresses
    assert sorted(a for e in api_servers.endpoints for a in e.addresses) == sorted(a.ip for a in servers)
    assert [(p.name, p.port) for p in api_servers.ports] == [("https", 6443)]


def test_events_k8s_io_serves_the_same_events_as_core(api: client.ApiClient, kubectl: Kubectl) -> None:
    core, events, ns = client.CoreV1Api(api), client.EventsV1Api(api), fresh_namespace(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "subject"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "subject", "namespace": ns}
    events.create_namespaced_event(ns, {
        "metadata": {"name": "subject.1"}, "regarding": ref, "reason": "Checked", "note": "looked at it",
        "type": "Normal", "eventTime": "2026-01-01T00:00:00.123456Z", "action": "Check",
        "reportingController": "drewburr.example/bot", "reportingInstance": "bot-1"})
    as_core = core.read_namespaced_event("subject.1", ns)
    assert (as_core.message, as_core.involved_object.name, as_core.reporting_component) == (
        "looked at it", "subject", "drewburr.example/bot")
    core.create_namespaced_event(ns, {"metadata": {"name": "subject.2"}, "involvedObject": ref,
                                      "reason": "Seen", "message": "from core", "type": "Normal"})
    # (read raw: a core event has no eventTime, which the client's model requires)
    raw = events.list_namespaced_event(ns, _preload_content=False)
    listed = {e["metadata"]["name"]: e for e in json.loads(raw.data)["items"]}
    assert set(listed) == {"subject.1", "subject.2"}
    assert (listed["subject.2"]["note"], listed["subject.2"]["regarding"]["name"]) == ("from core", "subject")
    assert "message" not in listed["subject.2"]
    assert listed["subject.1"]["metadata"]["uid"] == as_core.metadata.uid
    rows = kubectl("get", "events.v1.events.k8s.io", "-n", ns, "--no-headers").splitlines()
    assert any("configmap/subject" in r and "from core" in r for r in rows)
