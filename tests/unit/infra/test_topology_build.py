"""The parsers read what real systems send (captures in shared/reference)."""

from __future__ import annotations

import json

from infra import topology_build as tb
from tests.conftest import REFERENCE


def ref(name: str):
    return json.loads((REFERENCE / "pve" / name).read_text())["data"]


def test_cluster_resources_and_status_captures_give_blades_and_vms():
    resources, status = ref("cluster-resources.json"), ref("cluster-status.json")
    blades = tb.parse_blades(resources, status)
    assert sorted(blades) == ["node1", "node2", "node3", "node4"]
    assert blades["node2"].maxmem == 33567911936 and blades["node2"].online
    vms = tb.parse_vms(resources, ref("ha-status.json"))
    assert vms[100].running and vms[100].blade == "node2" and vms[100].ha_state == "started"
    assert vms[101].template and not vms[101].ha
    assert tb.pve_quorate(status)


def test_ceph_capture_with_nearfull_warnings():
    ceph = tb.parse_ceph(ref("ceph-status-warn.json"))
    assert ceph.health == "HEALTH_WARN"
    assert ceph.checks == {"OSD_NEARFULL": "3 nearfull osd(s)", "POOL_NEARFULL": "4 pool(s) nearfull"}
    assert len(ceph.mons) == 3 and all(m.in_quorum for m in ceph.mons)


def test_osd_tree_maps_osds_to_their_host():
    tree = {"root": {"children": [{"type": "root", "name": "default", "children": [
        {"type": "host", "name": "blade1", "children": [{"type": "osd", "id": 0, "status": "up", "in": 1}]},
        {"type": "host", "name": "blade2",
         "children": [{"type": "osd", "id": "1", "status": "down", "in": 0}]},
    ]}]}}
    osds = tb.parse_ceph({}, [{"name": "noout", "value": 1}, {"name": "nodown", "value": 0}], tree)
    assert [(o.id, o.host, o.up, o.in_) for o in osds.osds] == [(0, "blade1", True, True),
                                                                 (1, "blade2", False, False)]
    assert osds.flags == ["noout"]


def node(name: str, zone: str, ready: str = "True", server: bool = False, **annotations: str) -> dict:
    labels = {"topology.kubernetes.io/zone": zone}
    if server:
        labels["node-role.kubernetes.io/control-plane"] = "true"
    return {"metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def test_nodes_match_vms_by_name_and_zone_mismatches_are_reported_not_guessed():
    vms = tb.parse_vms([{"type": "qemu", "vmid": 103, "name": "kube03", "node": "blade4"}])
    nodes, mismatches, _, held = tb.parse_nodes(
        [node("kube03", "blade3", server=True, **{"drewburr.io/maintenance": "blade3"}),
         node("stray", "blade1", ready="Unknown")], vms)
    assert nodes["kube03"].vm == 103 and nodes["kube03"].server
    assert nodes["stray"].vm is None and not nodes["stray"].ready
    assert mismatches == ["K8s node kube03: zone label blade3, but its VM 103 runs on blade4",
                          "K8s node stray matches no VM (pattern '{vm}')"]
    assert held == {"blade3"}


def test_a_zone_label_made_stale_by_a_maintenance_is_explained_not_flagged():
    vms = tb.parse_vms([{"type": "qemu", "vmid": 103, "name": "kube03", "node": "blade4"},
                        {"type": "qemu", "vmid": 104, "name": "kube04", "node": "blade1"}])
    parsed = tb.parse_nodes([node("kube03", "blade3"), node("kube04", "blade4")], vms,
                            homes={103: ("blade3", 7)})
    assert parsed.moved == ["K8s node kube03: zone label blade3, VM 103 now on blade4 "
                            "(moved off its home by operation 7; `drewburr restore blade3` brings it home)"]
    assert parsed.mismatches == ["K8s node kube04: zone label blade4, but its VM 104 runs on blade1"]


def test_node_pattern_is_configurable():
    vms = tb.parse_vms([{"type": "qemu", "vmid": 103, "name": "kube03", "node": "blade3"}])
    nodes, mismatches, _, _ = tb.parse_nodes([node("kube03.lan", "blade3")], vms, pattern="{vm}.lan")
    assert nodes["kube03.lan"].vm == 103 and mismatches == []


def test_pods_resolve_replicasets_to_their_deployment_and_spot_mirror_and_daemonset_pods():
    owner = [{"kind": "ReplicaSet", "name": "web-5d9", "controller": True}]
    pods = tb.parse_pods([
        {"metadata": {"namespace": "d", "name": "web-5d9-a", "ownerReferences": owner,
                      "labels": {"app": "web"}},
         "spec": {"nodeName": "kube01", "volumes": [{"name": "tmp", "emptyDir": {}}]},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
        {"metadata": {"namespace": "kube-system", "name": "static",
                      "annotations": {"kubernetes.io/config.mirror": "x"}}, "spec": {"nodeName": "kube01"}},
        {"metadata": {"namespace": "m", "name": "ne", "deletionTimestamp": "2026-01-01T00:00:00Z",
                      "ownerReferences": [{"kind": "DaemonSet", "name": "ne", "controller": True}]},
         "spec": {}, "status": {"phase": "Running"}},
    ], [{"metadata": {"namespace": "d", "name": "web-5d9",
                      "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]}}])
    web, static, ne = pods
    assert (web.owner_kind, web.owner_name, web.ready, web.local_storage) == ("Deployment", "web", True, True)
    assert static.mirror and not static.evictable
    assert ne.deleting and not ne.drained


def test_pdb_status_fields():
    (pdb,) = tb.parse_pdbs([{"metadata": {"namespace": "default", "name": "whoami"},
                          "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "whoami"}}},
                          "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2,
                                     "expectedPods": 3}}])
    assert pdb.match_labels == {"app": "whoami"} and pdb.disruptions_allowed == 1
    assert not pdb.never_allows_eviction


def test_build_snapshot_marks_blades_in_maintenance_from_journal_and_annotations():
    blades = [{"type": "node", "node": f"blade{i}", "status": "online"} for i in (1, 2, 3)]
    raw = tb.RawTopology(resources=blades,
                      cluster_status=[{"type": "cluster", "quorate": 1}],
                      nodes=[node("kube03", "blade3", **{"drewburr.io/maintenance": "blade3"})])
    snap = tb.build_snapshot(raw, maintenance=["blade1"])
    assert snap.maintenance_blades() == ["blade1", "blade3"]


def test_ha_rules_keep_enabled_node_affinity_rules_with_their_priorities():
    rules = tb.parse_ha_rules([
        {"rule": "a", "type": "node-affinity", "resources": "vm:101,vm:102", "nodes": "blade1:2,blade2",
         "strict": 1},
        {"rule": "b", "type": "node-affinity", "resources": "vm:103", "nodes": "blade3", "disable": 1},
        {"rule": "c", "type": "resource-affinity", "resources": "vm:101,vm:102", "affinity": "negative"},
        {"rule": "d", "type": "node-affinity", "resources": "vm:104", "nodes": "blade9",
         "errors": {"nodes": "unknown node"}}])
    assert [(r.resources, r.nodes, r.strict) for r in rules] == [
        (["vm:101", "vm:102"], {"blade1": 2, "blade2": 0}, True)]
