"""The kubelet of each K3s VM: registers its Node, renews its Lease, runs and stops its pods.

A kubelet lives while its VM runs on a reachable blade (`K8sCluster.vm_alive`). It renews
its Lease every 10 s (the heartbeat the node lifecycle controller watches) and, as a real
kubelet with leases does, rewrites node status only when it changes or every 5 minutes
(nodeStatusReportFrequency).
K3s sets no zone label (only `--node-label` does), and does not relabel a node whose VM migrates.
A new node is NotReady until flannel is up (`K3sJoin.cni_at`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    LEASE,
    NODE,
    POD,
    Obj,
    deleting,
    earliest,
    micro_timestamp,
    node_ready,
    parse_time,
    pvc_names,
    set_condition,
    spec_of,
    timestamp,
    update_if_changed,
)
from lab.k8s.controllers.node_object import node_object, node_status
from lab.k8s.controllers.programs import ends, sync_containers
from lab.k8s.controllers.volumes import bound_volume, volumes_attached

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster
    from lab.pve.models import Vm

LEASE_RENEW = 10.0
STATUS_REPORT = 300.0
MOUNT_RETRY = 10.0  # lab seconds between the kubelet's attempts to mount a volume
CONTAINER_START = 3.0  # from ContainerCreating to Running and Ready (cached image, no probe delay)
_POD_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


class NodeAgent:
    """The kubelet's node half: registration, the Lease heartbeat, node status."""

    watches = frozenset({"Node"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.renewed: dict[str, float] = {}
        self.reported: dict[str, float] = {}
        self.registered: dict[str, float] = {}  # node -> the VM start its kubelet last posted from
        self.unschedulable: dict[str, bool] = {}  # what each kubelet last saw of spec.unschedulable

    def run(self, now: float) -> float | None:
        store, wake = self.cluster.store, None
        for name, vm in self.cluster.live_vms(now).items():
            node = store.find(NODE, "", name)
            if node is None and self.registered.get(name) == vm.started_at:
                continue  # deleted under a running kubelet: it registers again only when K3s restarts
            node = node or self.register(vm, now)
            self._schedulable_event(node, now)
            if self.renewed.get(name, float("-inf")) + LEASE_RENEW <= now:
                self._renew_lease(node, now)
            restarted = (
                self.registered.get(name) != vm.started_at
            )  # a kubelet posts its status when it starts
            cni_at = self.cluster.joins[vm.name].cni_at
            if (
                restarted
                or not node_ready(node)
                or self.reported.get(name, float("-inf")) + STATUS_REPORT <= now
            ):
                self._post_status(node, vm, now, now >= cni_at)
            wake = earliest(wake, self.renewed[name] + LEASE_RENEW, self.reported[name] + STATUS_REPORT,
                            cni_at if now < cni_at else None)
        return wake

    def register(self, vm: Vm, now: float, heartbeat: float | None = None) -> Obj:
        """Create this VM's Node (K3s does it on first start); `heartbeat` backdates its status."""
        join = self.cluster.joins[vm.name]
        index = len(self.cluster.store.list(NODE))
        node = self.cluster.store.create(
            NODE, node_object(vm, join, index, now if heartbeat is None else heartbeat)
        )
        self.reported[node["metadata"]["name"]] = now if heartbeat is None else heartbeat
        self.registered[node["metadata"]["name"]] = vm.started_at
        return node

    def _schedulable_event(self, node: Obj, now: float) -> None:
        """A cordon or uncordon, as the kubelet reports it when it next computes its status."""
        name = node["metadata"]["name"]
        cordoned = bool(spec_of(node).get("unschedulable"))
        if self.unschedulable.get(name, False) != cordoned:
            status = "NodeNotSchedulable" if cordoned else "NodeSchedulable"
            self.cluster.recorder.record(node, "Normal", status, f"Node {name} status is now: {status}",
                                         "kubelet", now, name)
        self.unschedulable[name] = cordoned

    def _renew_lease(self, node: Obj, now: float) -> None:
        store, name = self.cluster.store, node["metadata"]["name"]
        self.renewed[name] = now
        lease = store.find(LEASE, "kube-node-lease", name)
        if lease is None:
            store.create(
                LEASE,
                {
                    "metadata": {
                        "name": name,
                        "namespace": "kube-node-lease",
                        "ownerReferences": [
                            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
                        ],
                    },
                    "spec": {
                        "holderIdentity": name,
                        "leaseDurationSeconds": 40,
                        "renewTime": micro_timestamp(now),
                    },
                },
            )
        else:
            update_if_changed(store, LEASE, lease, lambda o: o["spec"].update(renewTime=micro_timestamp(now)))

    def _post_status(self, node: Obj, vm: Vm, now: float, network_ready: bool) -> None:
        self.reported[node["metadata"]["name"]] = now
        self.registered[node["metadata"]["name"]] = vm.started_at
        update_if_changed(self.cluster.store, NODE, node, lambda o: node_status(o, vm, now, network_ready))


class Kubelet:
    """The kubelet's pod half: starts the pods bound to a live node, finishes their deletion."""

    watches = frozenset({"Pod", "PersistentVolumeClaim", "VolumeAttachment", "Node"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self._ips: dict[str, int] = {}
        self.starting: dict[str, float] = {}  # pod uid -> when its containers are up
        self.killing: set[str] = set()  # pod uids whose containers were told to stop
        self.waiting: set[tuple[str, str]] = set()  # pods with a timer of ours (starting, terminating)
        self.pulled: set[tuple[str | None, str]] = set()  # (node, image) already in the node's image store

    def run(self, now: float) -> float | None:
        alive, wake = self.cluster.live_vms(now), None
        for pod in self._candidates():
            vm = alive.get(spec_of(pod).get("nodeName"))
            if vm is not None and "phase" in pod.get("status", {}):
                due = self._sync_pod(pod, vm, now)
                key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
                if due is None:
                    self.waiting.discard(key)
                else:
                    self.waiting.add(key)
                wake = earliest(wake, due)
        return wake

    def _candidates(self) -> list[Obj]:
        """Every pod after a node, volume or PVE change; else the pods written and those with a timer."""
        store, changed = self.cluster.store, self.cluster.changed
        if self.cluster.full or changed.keys() & {"Node", "PersistentVolumeClaim", "VolumeAttachment"}:
            self.waiting.clear()
            return store.list(POD)
        keys = sorted(changed.get("Pod", set()) | self.waiting)
        return [pod for key in keys if (pod := store.find(POD, *key)) is not None]

    def _sync_pod(self, pod: Obj, vm: Vm, now: float) -> float | None:
        store, meta = self.cluster.store, pod["metadata"]
        if deleting(pod):
            if meta["uid"] not in self.killing:
                self.killing.add(meta["uid"])
                self._container_events(pod, "Killing", "Stopping", now)
            due = parse_time(meta["deletionTimestamp"]) or now
            if now < due:
                return due
            if not meta.get("finalizers"):
                store.remove(POD, meta["namespace"], meta["name"])
                self.killing.discard(meta["uid"])
            return None
        phase = pod["status"].get("phase")
        node = store.find(NODE, "", spec_of(pod)["nodeName"])
        if node is None:
            return None
        if phase == "Pending":
            if not all(
                volumes_attached(store, meta["namespace"], claim, node["metadata"]["name"])
                for claim in pvc_names(pod)
            ):
                self.starting.pop(meta["uid"], None)
                if not _creating(pod):
                    update_if_changed(store, POD, pod, _container_creating)
                return None
            if pvc_names(pod) and not self.cluster.rbd_usable(now):
                return self._mount_failed(pod, node, now)
            # whole seconds, like the pod workers' sync: pods started together wake the loop once
            if meta["uid"] not in self.starting:
                self._pull_events(pod, now)
            due = self.starting.setdefault(meta["uid"], float(math.ceil(now + CONTAINER_START)))
            if now < due:
                if not _creating(pod):
                    update_if_changed(store, POD, pod, _container_creating)
                return due
            del self.starting[meta["uid"]]
            update_if_changed(store, POD, pod, lambda o: self._start(o, node, now))
            self._container_events(pod, "Created", "Created", now)
            self._container_events(pod, "Started", "Started", now)
        elif phase == "Running" and _started_before(pod, timestamp(vm.started_at)):
            # the VM rebooted under the pod: its containers start again, one restart more
            update_if_changed(store, POD, pod, lambda o: _restarted(o, vm.started_at, now))
        elif phase == "Running" and not all(
            c.get("status") == "True"
            for c in pod["status"].get("conditions", [])
            if c.get("type") in ("Ready", "ContainersReady")
        ):
            # back after the node was unreachable: the containers kept running
            update_if_changed(store, POD, pod, lambda o: _set_ready(o, now))
        latest = store.find(POD, meta["namespace"], meta["name"])
        if latest is not None and latest["status"].get("phase") == "Running":
            return self._programs(latest, now)
        return None

    def _programs(self, pod: Obj, now: float) -> float | None:
        """Containers whose program ended finish or restart (restartPolicy); the next such time."""
        if not ends(pod):
            return None
        due: list[float | None] = [None]

        def sync(o: Obj) -> None:
            due[0] = sync_containers(o, now, timestamp, parse_time)

        update_if_changed(self.cluster.store, POD, pod, sync)
        return due[0]

    def _pull_events(self, pod: Obj, now: float) -> None:
        """Pulling, then Pulled: the first pod on a node pulls its image, the next find it there."""
        node = spec_of(pod).get("nodeName")
        for c in spec_of(pod).get("containers") or []:
            image = c.get("image", "")
            if (node, image) in self.pulled:
                message = f'Container image "{image}" already present on machine'
            else:
                self.pulled.add((node, image))
                self.cluster.recorder.record(pod, "Normal", "Pulling", f'Pulling image "{image}"', "kubelet",
                                             now, node)
                message = (f'Successfully pulled image "{image}" in {CONTAINER_START:.3g}s '
                           f"({CONTAINER_START:.3g}s including waiting)")
            self.cluster.recorder.record(pod, "Normal", "Pulled", message, "kubelet", now, node)

    def _container_events(self, pod: Obj, reason: str, verb: str, now: float) -> None:
        """One event per container, from the kubelet of the pod's node."""
        for c in spec_of(pod).get("containers") or []:
            self.cluster.recorder.record(
                pod, "Normal", reason, f"{verb} container {c.get('name', '')}", "kubelet", now,
                spec_of(pod).get("nodeName"),
            )

    def _mount_failed(self, pod: Obj, node: Obj, now: float) -> float:
        """Ceph cannot map the image (no monitor quorum): the pod waits, the kubelet retries."""
        self.starting.pop(pod["metadata"]["uid"], None)
        if not _creating(pod):
            update_if_changed(self.cluster.store, POD, pod, _container_creating)
        for claim in pvc_names(pod):
            volume = bound_volume(self.cluster.store, pod["metadata"]["namespace"], claim)
            self.cluster.recorder.record(
                pod,
                "Warning",
                "FailedMount",
                f'MountVolume.MountDevice failed for volume "{volume}" : rpc error: code = Internal desc = '
                "rbd: map failed with error an error (exit status 110) occurred while running rbd args: "
                "rbd: sysfs write failed\nrbd: map failed: (110) Connection timed out",
                "kubelet",
                now,
                node["metadata"]["name"],
            )
        return now + MOUNT_RETRY

    def _start(self, pod: Obj, node: Obj, now: float) -> None:
        name = node["metadata"]["name"]
        host_ip = next(
            (
                a.get("address", "")
                for a in node["status"].get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            "",
        )
        if spec_of(pod).get("hostNetwork"):
            pod_ip = host_ip
        else:
            self._ips[name] = self._ips.get(name, 1) % 250 + 1
            prefix = spec_of(node).get("podCIDR", "10.42.0.0/24").rsplit(".", 1)[0]
            pod_ip = f"{prefix}.{self._ips[name] + 1}"
        status = pod["status"]
        status.update(
            phase="Running",
            hostIP=host_ip,
            hostIPs=[{"ip": host_ip}],
            podIP=pod_ip,
            podIPs=[{"ip": pod_ip}],
            startTime=status.get("startTime") or timestamp(now),
        )
        status["containerStatuses"] = [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": f"{c.get('image', '')}@sha256:"
                + self.cluster.names.uid_like(c.get("image", "")).replace("-", "") * 2,
                "containerID": "containerd://"
                + self.cluster.names.uid_like(c.get("name", "")).replace("-", "") * 2,
                "ready": True,
                "started": True,
                "restartCount": 0,
                "lastState": {},
                "state": {"running": {"startedAt": timestamp(now)}},
            }
            for c in spec_of(pod).get("containers") or []
        ]
        conditions = status.setdefault("conditions", [])
        for kind in _POD_CONDITIONS:
            set_condition(conditions, kind, "True", now, probe=True)


def _started_before(pod: Obj, boot: str) -> bool:
    # ISO stamps of one format compare as strings: cheap enough to check every pod every run
    return any(
        str(cs.get("state", {}).get("running", {}).get("startedAt") or boot) < boot
        for cs in pod["status"].get("containerStatuses") or []
    )


def _restarted(pod: Obj, boot: float, now: float) -> None:
    for cs in pod["status"].get("containerStatuses") or []:
        cs["lastState"] = {
            "terminated": {
                "exitCode": 255,
                "reason": "Unknown",
                "finishedAt": timestamp(boot),
                "startedAt": cs.get("state", {}).get("running", {}).get("startedAt"),
            }
        }
        cs["state"] = {"running": {"startedAt": timestamp(now)}}
        cs["restartCount"] = int(cs.get("restartCount", 0)) + 1
    _set_ready(pod, now)


def _set_ready(pod: Obj, now: float) -> None:
    for kind in ("Ready", "ContainersReady"):
        set_condition(pod["status"].setdefault("conditions", []), kind, "True", now, probe=True)
    for cs in pod["status"].get("containerStatuses") or []:
        cs["ready"] = True


def _creating(pod: Obj) -> bool:
    statuses = pod["status"].get("containerStatuses")
    return bool(statuses) and all(cs.get("state", {}).get("waiting") for cs in statuses)


def _container_creating(pod: Obj) -> None:
    pod["status"]["containerStatuses"] = [
        {
            "name": c.get("name", ""),
            "image": c.get("image", ""),
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "lastState": {},
            "state": {"waiting": {"reason": "ContainerCreating"}},
        }
        for c in spec_of(pod).get("containers") or []
    ]
