"""A StatefulSet pod on a dead blade: stuck Terminating until the node is fenced out of service."""

from __future__ import annotations

from lab.clock import ManualClock
from lab.k8s.controllers.base import NODE, POD, PVC, VOLUMEATTACHMENT
from lab.k8s.controllers.events import EVENT
from lab.world import Lab
from tests.unit.lab.k8s_world import World, homelab, running_ready

OUT_OF_SERVICE = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}


def _attachments(w: World) -> dict[str, str]:
    return {
        va["spec"]["source"]["persistentVolumeName"]: va["spec"]["nodeName"]
        for va in w.store.list(VOLUMEATTACHMENT)
    }


def test_postgres_runs_on_its_own_rbd_volume_attached_to_its_node():
    w = World()
    pod = w.pod("default", "postgres-0")
    assert running_ready(pod)
    pvc = w.store.get(PVC, "default", "data-postgres-0")
    assert pvc["status"]["phase"] == "Bound"
    assert _attachments(w)[pvc["spec"]["volumeName"]] == pod["spec"]["nodeName"]


def test_statefulset_pod_stays_terminating_until_out_of_service_then_moves_with_its_volume():
    w = World()
    dead = w.pod("default", "postgres-0")["spec"]["nodeName"]
    pv = w.store.get(PVC, "default", "data-postgres-0")["spec"]["volumeName"]
    w.power_off_blade_of(dead)
    w.run(50 + 300 + 10, step=5)
    pod = w.pod("default", "postgres-0")
    assert "deletionTimestamp" in pod["metadata"] and pod["spec"]["nodeName"] == dead
    w.run(600, step=10)  # no replacement however long one waits
    assert [p["metadata"]["name"] for p in w.pods("default", "postgres")] == ["postgres-0"]
    assert w.pod("default", "postgres-0")["metadata"]["uid"] == pod["metadata"]["uid"]
    assert _attachments(w)[pv] == dead

    w.store.mutate(NODE, "", dead, lambda o: o["spec"].setdefault("taints", []).append(dict(OUT_OF_SERVICE)))
    w.run(30, step=2)
    moved = w.pod("default", "postgres-0")
    assert moved["metadata"]["uid"] != pod["metadata"]["uid"]
    assert running_ready(moved) and moved["spec"]["nodeName"] != dead
    assert _attachments(w)[pv] == moved["spec"]["nodeName"]


def test_a_force_deleted_pod_waits_for_its_volume_to_detach_from_the_dead_node():
    w = World()
    dead = w.pod("default", "postgres-0")["spec"]["nodeName"]
    w.power_off_blade_of(dead)
    w.run(60, step=5)
    w.k8s.delete_namespaced_pod("default", "postgres-0", 0)
    w.run(30, step=5)
    new = w.pod("default", "postgres-0")
    assert new["spec"].get("nodeName") not in (None, dead)
    waiting = new["status"]["containerStatuses"][0]["state"]["waiting"]
    assert new["status"]["phase"] == "Pending" and waiting["reason"] == "ContainerCreating"
    warnings = [
        e
        for e in w.store.list(EVENT, "default")
        if e["involvedObject"]["uid"] == new["metadata"]["uid"] and e["reason"] == "FailedAttachVolume"
    ]
    assert len(warnings) == 1 and warnings[0]["message"].startswith("Multi-Attach error for volume")
    w.run(360, step=10)  # maxWaitForUnmountDuration: then the attach-detach controller detaches by force
    assert running_ready(w.pod("default", "postgres-0"))


def test_without_ceph_a_moved_postgres_waits_to_mount_its_volume():
    w = World()
    ceph_up = [True]
    w.k8s.rbd_usable = lambda now: ceph_up[0]
    ceph_up[0] = False
    w.k8s.delete_namespaced_pod("default", "postgres-0", 0)
    w.run(30)
    pod = w.pod("default", "postgres-0")
    assert pod["status"]["phase"] == "Pending"
    mounts = [e for e in w.store.list(EVENT, "default") if e["reason"] == "FailedMount"]
    assert mounts and "rbd: map failed" in mounts[0]["message"] and mounts[0]["count"] >= 2
    ceph_up[0] = True
    w.run(15)
    assert running_ready(w.pod("default", "postgres-0"))


def test_in_the_whole_lab_losing_two_ceph_monitors_stops_rbd_mounts():
    clock = ManualClock()
    # kube02 (a K3s server) on blade4: two monitor blades can die while etcd keeps its quorum
    scenario = homelab()
    vms = [v.model_copy(update={"blade": "blade4"}) if v.name == "kube02" else v for v in scenario.vms]
    lab = Lab(scenario.model_copy(update={"vms": vms}), clock)
    for _ in range(30):
        clock.advance(1)
        lab.advance()
    home = lab.k8s.store.get(POD, "default", "postgres-0")["spec"]["nodeName"]
    mon_blades = [
        b
        for b in ("blade1", "blade2", "blade3")
        if b != next(v.node for v in lab.pve.vms.values() if v.name == home)
    ][:2]
    for blade in mon_blades:
        lab.pve.power_off(blade, clock.now())
    lab.k8s.delete_namespaced_pod("default", "postgres-0", 0)
    for _ in range(30):
        clock.advance(1)
        lab.advance()
    assert not lab.ceph.quorum
    pod = lab.k8s.store.get(POD, "default", "postgres-0")
    assert pod["status"]["phase"] == "Pending"
    assert any(e["reason"] == "FailedMount" for e in lab.k8s.store.list(EVENT, "default"))
