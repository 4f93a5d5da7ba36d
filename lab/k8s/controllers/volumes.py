"""Ceph RBD volumes: the PV controller (provision and bind PVCs) and the attach/detach controller.

An RWO RBD image attaches to one node at a time (a VolumeAttachment per node); a pod whose
volume is still attached elsewhere waits in ContainerCreating. A volume held by a pod on a
dead node stays attached; once that pod is gone it is detached at once when the node is
out of service, else after maxWaitForUnmountDuration (6 min), as the real controller does.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    NODE,
    POD,
    PV,
    PVC,
    VOLUMEATTACHMENT,
    Obj,
    Store,
    earliest,
    pvc_names,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.taints import OUT_OF_SERVICE, node_taints

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

DRIVER = "rbd.csi.ceph.com"
DEFAULT_CLASS = "ceph-rbd"
CLUSTER_ID = "5f1d6a8e-3c4b-4e2a-9b7d-2c9a1e0f4b61"
FORCE_DETACH = 360.0


def attachment_name(pv: str, node: str) -> str:
    return "csi-" + hashlib.sha256(f"{pv}{DRIVER}{node}".encode()).hexdigest()


def bound_volume(store: Store, namespace: str, claim: str) -> str | None:
    pvc = store.find(PVC, namespace, claim)
    if pvc is None or pvc.get("status", {}).get("phase") != "Bound":
        return None
    return spec_of(pvc).get("volumeName")


def volumes_attached(store: Store, namespace: str, claim: str, node: str) -> bool:
    pv = bound_volume(store, namespace, claim)
    va = store.find(VOLUMEATTACHMENT, "", attachment_name(pv, node)) if pv else None
    return va is not None and bool(va.get("status", {}).get("attached"))


class Volumes:
    watches = frozenset({"PersistentVolumeClaim", "PersistentVolume", "Pod", "VolumeAttachment", "Node"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.unwanted_since: dict[str, float] = {}
        self.warned: set[tuple[str, str]] = set()  # (pod uid, volume) told of a Multi-Attach error

    def run(self, now: float) -> float | None:
        self._provision()
        return self._attach_detach(now)

    def _provision(self) -> None:
        store = self.cluster.store
        claims = {c["metadata"]["uid"] for c in store.iter(PVC)}
        for pv in store.list(PV):
            ref = spec_of(pv).get("claimRef") or {}
            if (
                ref.get("uid")
                and ref["uid"] not in claims
                and spec_of(pv).get("persistentVolumeReclaimPolicy") == "Delete"
            ):
                store.remove(PV, "", pv["metadata"]["name"])
        for pvc in store.list(PVC):
            if pvc.get("status", {}).get("phase") == "Bound" or spec_of(pvc).get("volumeName"):
                continue
            if (spec_of(pvc).get("storageClassName") or DEFAULT_CLASS) != DEFAULT_CLASS:
                continue  # no provisioner for other classes: Pending, as on a real cluster
            pv_name = f"pvc-{pvc['metadata']['uid']}"
            size = spec_of(pvc).get("resources", {}).get("requests", {}).get("storage", "1Gi")
            image = f"csi-vol-{self.cluster.names.uid_like(pv_name)}"
            if store.find(PV, "", pv_name) is None:
                store.create(
                    PV,
                    {
                        "metadata": {
                            "name": pv_name,
                            "annotations": {
                                "pv.kubernetes.io/provisioned-by": DRIVER,
                                "volume.kubernetes.io/provisioner-deletion-secret-name": "csi-rbd-secret",
                                "volume.kubernetes.io/provisioner-deletion-secret-namespace": "ceph-csi-rbd",
                            },
                        },
                        "spec": {
                            "accessModes": spec_of(pvc).get("accessModes", ["ReadWriteOnce"]),
                            "capacity": {"storage": size},
                            "persistentVolumeReclaimPolicy": "Delete",
                            "storageClassName": DEFAULT_CLASS,
                            "volumeMode": "Filesystem",
                            "claimRef": {
                                "apiVersion": "v1",
                                "kind": "PersistentVolumeClaim",
                                "name": pvc["metadata"]["name"],
                                "namespace": pvc["metadata"]["namespace"],
                                "uid": pvc["metadata"]["uid"],
                            },
                            "csi": {
                                "driver": DRIVER,
                                "fsType": "ext4",
                                "volumeHandle": f"0001-0024-{CLUSTER_ID}-0000000000000002-{image[8:]}",
                                "volumeAttributes": {
                                    "clusterID": CLUSTER_ID,
                                    "imageName": image,
                                    "pool": "kubernetes",
                                    "imageFeatures": "layering",
                                },
                            },
                        },
                        "status": {"phase": "Bound"},
                    },
                )

            def bind(o: Obj, pv_name: str = pv_name, size: str = size) -> None:
                o.setdefault("spec", {}).update(
                    volumeName=pv_name,
                    storageClassName=DEFAULT_CLASS,
                    volumeMode=o["spec"].get("volumeMode", "Filesystem"),
                )
                o["metadata"].setdefault("annotations", {}).update(
                    {
                        "pv.kubernetes.io/bind-completed": "yes",
                        "pv.kubernetes.io/bound-by-controller": "yes",
                        "volume.beta.kubernetes.io/storage-provisioner": DRIVER,
                        "volume.kubernetes.io/storage-provisioner": DRIVER,
                    }
                )
                o["status"] = {
                    "phase": "Bound",
                    "accessModes": o["spec"].get("accessModes", ["ReadWriteOnce"]),
                    "capacity": {"storage": size},
                }

            update_if_changed(store, PVC, pvc, bind)

    def _attach_detach(self, now: float) -> float | None:
        store, alive = self.cluster.store, self.cluster.live_nodes(now)
        wanted: dict[str, tuple[str, str, Obj]] = {}  # attachment name -> (pv, node, a pod using it)
        for pod in store.iter(POD):
            node = spec_of(pod).get("nodeName")
            if not node or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for claim in pvc_names(pod):
                pv = bound_volume(store, pod["metadata"]["namespace"], claim)
                if pv:
                    wanted[attachment_name(pv, node)] = (pv, node, pod)
        attached = {va["metadata"]["name"]: va for va in store.list(VOLUMEATTACHMENT)}
        wake = None
        for name, va in attached.items():
            if name in wanted:
                self.unwanted_since.pop(name, None)
                continue
            node_name = spec_of(va).get("nodeName", "")
            node = store.find(NODE, "", node_name)
            fenced = node is not None and any(t.get("key") == OUT_OF_SERVICE for t in node_taints(node))
            since = self.unwanted_since.setdefault(name, now)
            if node_name in alive or fenced or node is None or now >= since + FORCE_DETACH:
                store.remove(VOLUMEATTACHMENT, "", name)
                self.unwanted_since.pop(name, None)
            else:
                wake = earliest(wake, since + FORCE_DETACH)
        held = {
            (spec_of(va).get("source") or {}).get("persistentVolumeName")
            for n, va in attached.items()
            if store.find(VOLUMEATTACHMENT, "", n) is not None
        }
        for name, (pv, node, pod) in sorted(wanted.items(), key=lambda kv: kv[1][:2]):
            if name in attached:
                continue
            if pv in held and not _multi_attach(store, pv):  # the RWO image is still attached elsewhere
                if (pod["metadata"]["uid"], pv) not in self.warned:
                    self.warned.add((pod["metadata"]["uid"], pv))
                    self.cluster.recorder.record(
                        pod,
                        "Warning",
                        "FailedAttachVolume",
                        f'Multi-Attach error for volume "{pv}" '
                        "Volume is already exclusively attached to one node and can't be attached to "
                        "another",
                        "attachdetach-controller",
                        now,
                    )
                continue
            self.cluster.recorder.record(
                pod,
                "Normal",
                "SuccessfulAttachVolume",
                f'AttachVolume.Attach succeeded for volume "{pv}"',
                "attachdetach-controller",
                now,
            )
            store.create(
                VOLUMEATTACHMENT,
                {
                    "metadata": {"name": name, "annotations": {"csi.alpha.kubernetes.io/node-id": node}},
                    "spec": {"attacher": DRIVER, "nodeName": node, "source": {"persistentVolumeName": pv}},
                    "status": {"attached": True},
                },
            )
            held.add(pv)
        return wake


def _multi_attach(store: Store, pv: str) -> bool:
    obj = store.find(PV, "", pv)
    return obj is not None and "ReadWriteMany" in spec_of(obj).get("accessModes", [])
