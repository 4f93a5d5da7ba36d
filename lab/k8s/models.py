"""The K3s cluster's state: the object store plus the controllers that act on it.

Controllers (lab/k8s/controllers/) each take `now`; `advance` runs them in a fixed order,
as the real control plane's loops would, and only when something changed: the store, the
PVE state the kubelets depend on, or a timer one of them asked for.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client.core import Metric

from lab.k8s import crds, defaults, etcd, guest, k3s_fate
from lab.k8s.controllers.admission import admit_pod
from lab.k8s.controllers.base import POD, Names, Obj, deleting, set_condition, update_if_changed
from lab.k8s.controllers.certmanager import CertManager
from lab.k8s.controllers.clusterrole_aggregation import ClusterRoleAggregation
from lab.k8s.controllers.daemonset import DaemonSetController
from lab.k8s.controllers.deployment import DeploymentController
from lab.k8s.controllers.disruption import DisruptionController
from lab.k8s.controllers.endpoints import EndpointsController
from lab.k8s.controllers.events import Recorder
from lab.k8s.controllers.eviction import create_namespaced_pod_eviction
from lab.k8s.controllers.garbage_collector import GarbageCollector
from lab.k8s.controllers.helm import HelmController
from lab.k8s.controllers.ingress import IngressController
from lab.k8s.controllers.job import JobController
from lab.k8s.controllers.kubelet import Kubelet, NodeAgent
from lab.k8s.controllers.loadbalancer import MetalLbController
from lab.k8s.controllers.node_lifecycle import NodeLifecycle
from lab.k8s.controllers.node_object import vm_ip
from lab.k8s.controllers.replicaset import ReplicaSetController
from lab.k8s.controllers.scheduler import Scheduler, create_namespaced_pod_binding
from lab.k8s.controllers.serviceaccounts import ServiceAccountsController, TokensController
from lab.k8s.controllers.statefulset import StatefulSetController
from lab.k8s.controllers.taint_eviction import TaintEviction
from lab.k8s.controllers.volumes import Volumes
from lab.k8s.join import K3sJoin
from lab.k8s.logs import connect_namespaced_pod, read_namespaced_pod_log
from lab.k8s.metrics import metric_families
from lab.k8s.resources import BY_KIND, Resource
from lab.k8s.store import Store
from lab.pve.models import PveCluster, Vm
from lab.scenario import Scenario, Timings

MAX_PASSES = 12  # controller rounds per advance; a round that changes nothing ends it
REACTION = 1.0  # lab seconds before controllers see changes made from outside
RETRY = 5.0  # lab seconds before a controller that failed runs again
log = logging.getLogger(__name__)


STORAGECLASS = BY_KIND["StorageClass"]
Changes = dict[str, set[tuple[str, str]]]  # kind -> (namespace, name) of the objects written


class Controller(Protocol):
    watches: frozenset[str]  # the kinds whose changes wake it

    def run(self, now: float) -> float | None:
        """Reconcile once; return when it must run again regardless of changes (None: no timer)."""


class K8sCluster:
    def __init__(self, pve: PveCluster, clock: Callable[[], float], timings: Timings | None = None) -> None:
        self.pve = pve
        self.clock = clock
        self.timings = timings or Timings()
        self.store = Store(clock)
        self.names = Names()
        self.joins: dict[str, K3sJoin] = {}  # VM name -> how K3s was installed on it
        self.k3s_token: str | None = None  # the cluster's join token, once a server exists
        self.etcd_departed: set[str] = set()  # uninstalled servers still etcd members (lab/k8s/etcd.py)
        self.k3s_manifests: K3sJoin | None = None  # a new first server whose manifests are due (k3s_fate)
        # whether Ceph can map RBD images now; the world couples it to Ceph's monitor quorum
        self.rbd_usable: Callable[[float], bool] = lambda now: True
        self.token_key = secrets.token_bytes(32)  # signs ServiceAccount tokens (lab/k8s/tokens.py)
        self.ca_pem = b""  # the cluster CA that token Secrets carry; the runner sets it
        self.admin_token = ""  # what the servers' admin kubeconfig authenticates with; the runner sets it
        self.recorder = Recorder(self)
        self.node_agent = NodeAgent(self)
        self.seeding = False  # setting up the scenario's state, as it was before the lab started
        self.controllers: list[Controller] = [
            HelmController(self),
            DeploymentController(self),
            ReplicaSetController(self),
            StatefulSetController(self),
            DaemonSetController(self),
            JobController(self),
            GarbageCollector(self),
            Volumes(self),
            Scheduler(self),
            self.node_agent,
            Kubelet(self),
            NodeLifecycle(self),
            TaintEviction(self),
            DisruptionController(self),
            EndpointsController(self),
            MetalLbController(self),
            ServiceAccountsController(self),
            TokensController(self),
            ClusterRoleAggregation(self),
            IngressController(self),
            CertManager(self),
        ]
        self._events = self.store.subscribe()  # which kinds changed since the controllers last ran
        self._due: dict[Controller, float | None] = {}  # a controller's own next timer
        self._seen: Any = None
        self._pending: Changes = {}
        self.changed: Changes = {}  # what the controllers of this round are told changed (kind -> keys)
        self.full = True  # this round re-reads everything (first round, or the PVE side moved)
        self._pods = 0
        self._ran_at = float("-inf")
        self.errors: list[str] = []  # the last controller failures, for tests and `lab status`
        self._wake = 0.0
        guest.register(self)

    @classmethod
    def from_scenario(cls, scenario: Scenario, pve: PveCluster, clock: Callable[[], float]) -> K8sCluster:
        from lab.k8s.workloads import install_default_workloads, storage_classes, system_namespaces

        cluster = cls(pve, clock, scenario.timings)
        now = clock()
        system_namespaces(cluster)
        storage_classes(cluster)
        crds.install_k3s(cluster.store, now)  # K3s deploys its own CRDs as its server starts
        if any(vm.k3s_role and not vm.template for vm in pve.vms.values()):
            secret = hashlib.sha256(scenario.name.encode()).hexdigest()[:32]
            cluster.k3s_token = k3s_fate.cluster_token(secret)
        k3s = [vm for vm in sorted(pve.vms.values(), key=lambda v: v.name) if vm.k3s_role and not vm.template]
        first = next((vm for vm in k3s if vm.k3s_role == "server"), None)
        for vm in k3s:
            # as they were installed: the first server started the cluster, the others joined it
            url = f"https://{vm_ip(first)}:6443" if first is not None and vm is not first else None
            args = ["--cluster-init"] if url is None else ["--server", url, "--token", "********"]
            # the operator labelled the seed nodes with their blade; K3s itself sets no zone
            cluster.joins[vm.name] = K3sJoin(role=vm.k3s_role, args=args, server_url=url,
                                             labels={"topology.kubernetes.io/zone": vm.node})
            # joined long ago; a VM that is down now has not posted status since
            stale = None if cluster.vm_alive(vm, now) else now - cluster.timings.node_monitor_grace_period
            cluster.node_agent.register(vm, now, stale)
        if scenario.workloads == "default":
            install_default_workloads(cluster, now)
        cluster.seeding = True  # what the scenario starts with was installed long ago
        cluster.advance(now)
        cluster.seeding = False
        return cluster

    # the coupling with PVE

    def vm_alive(self, vm: Vm, now: float) -> bool:
        """K3s runs and reaches the cluster: the VM has booted on a blade the network reaches
        (`pve.reachable`: online and not cut off by a partition, as Ceph sees it too)."""
        join = self.joins.get(vm.name)
        return (
            join is not None
            and join.registered(now)
            and vm.status == "running"
            and self.pve.reachable(vm.node, now)
            and now >= vm.started_at + self.timings.vm_boot
        )

    def live_vms(self, now: float) -> dict[str, Vm]:
        """Node name -> VM, for every K3s node whose kubelet runs."""
        return {
            self.joins[vm.name].node_name or vm.name: vm
            for vm in self.pve.vms.values()
            if self.vm_alive(vm, now)
        }

    def live_nodes(self, now: float) -> set[str]:
        return set(self.live_vms(now))

    # API methods the routes call (named after the client's)

    def prepare_create(self, res: Resource, obj: Obj) -> None:
        """What the API server fills in on create, in place: defaults, admission, a Service's IP and ports."""
        # the server assigns the uid (a client's is ignored); a Job's selector is made of it
        obj.setdefault("metadata", {})["uid"] = str(uuid.uuid4())
        defaults.on_create(res.kind, obj, int(self.timings.pod_eviction_toleration))
        if res.kind == "PersistentVolumeClaim":
            defaults.storage_class(obj, self.store.iter(STORAGECLASS))
        if res.kind == "Service":
            defaults.service(obj, self.store.iter(res))

    def create(self, res: Resource, obj: Obj) -> Obj:
        """Create as a client through the API would (the helm-controller, the seed workloads)."""
        self.prepare_create(res, obj)
        return self.store.create(res, obj)

    def create_pod(self, pod: Obj) -> Obj:
        return self.store.create(POD, admit_pod(pod, int(self.timings.pod_eviction_toleration)))

    def delete(self, res: Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        if res.kind == "Pod":
            self.delete_namespaced_pod(meta["namespace"], meta["name"], None)
        elif self.store.find(res, meta.get("namespace", ""), meta["name"]) is not None:
            self.store.remove(res, meta.get("namespace", ""), meta["name"])

    def delete_namespaced_pod(self, namespace: str, name: str, grace_period_seconds: int | None) -> Obj:
        """Graceful unless grace is 0 or the pod never ran: the kubelet finishes it (not a dead one)."""
        pod = self.store.get(POD, namespace, name)
        grace = grace_period_seconds
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        unstarted = not pod["spec"].get("nodeName") or pod.get("status", {}).get("phase") in (
            "Succeeded",
            "Failed",
        )
        if grace <= 0 or unstarted:
            if pod["metadata"].get("finalizers"):
                return self.store.mark_deleting(POD, namespace, name, 0)
            return self.store.remove(POD, namespace, name)
        return self.store.mark_deleting(POD, namespace, name, max(1, grace))

    def create_namespaced_pod_eviction(self, namespace: str, name: str, body: Obj) -> Obj:
        return create_namespaced_pod_eviction(self, namespace, name, body)

    def create_namespaced_pod_binding(self, namespace: str, name: str, body: Obj) -> Obj:
        return create_namespaced_pod_binding(self, namespace, name, body)

    def read_namespaced_pod_log(self, namespace: str, name: str, query: Mapping[str, str]) -> str:
        return read_namespaced_pod_log(self, namespace, name, query)

    def connect_namespaced_pod(self, namespace: str, name: str, sub: str) -> None:
        connect_namespaced_pod(self, namespace, name, sub)

    def evict_for_taint(self, pod: Obj, now: float) -> None:
        """The taint manager's deletion: marks the pod as a disruption target, then deletes it."""
        if deleting(pod):
            return
        update_if_changed(
            self.store,
            POD,
            pod,
            lambda o: set_condition(
                o["status"].setdefault("conditions", []),
                "DisruptionTarget",
                "True",
                now,
                "DeletionByTaintManager",
                "Taint manager: deleting due to NoExecute taint",
                probe=True,
            ),
        )
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        self.recorder.record(
            pod,
            "Normal",
            "TaintManagerEviction",
            f"Marking for deletion Pod {name}",
            "taint-eviction-controller",
            now,
        )
        self.delete_namespaced_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], None)

    def metric_families(self, now: float) -> Iterator[Metric]:
        """kube-state-metrics' families for /metrics; none, rather than a 500, if an object trips them."""
        try:
            return iter(list(metric_families(self, now)))
        except Exception as exc:  # an object the API let in with a shape no exporter expects
            log.exception("kube-state-metrics failed")
            self.errors.append(f"metrics: {exc!r}")
            return iter(())

    # the control loop

    @property
    def last_round(self) -> float:
        """When the controllers last ran (a test waits for a round after its writes)."""
        return self._ran_at

    def _fingerprint(self, now: float) -> Any:
        return tuple(sorted(self.live_vms(now))), len(self.joins), etcd.quorate(self, now)

    def _drain(self, into: Changes) -> Changes:
        """Add the objects written since the last drain to `into`, by kind."""
        while not self._events.empty():
            event = self._events.get_nowait()
            meta = event.obj["metadata"]
            into.setdefault(event.resource.kind, set()).add((meta.get("namespace", ""), meta["name"]))
        return into

    def _reaction(self) -> float:
        # a big cluster's informers and queues lag more; batching keeps bulk writes cheap
        return REACTION * max(1.0, self._pods / 500)

    def _run(self, controller: Controller, now: float) -> float | None:
        """One reconcile; one that trips on an odd object is logged and retried, as real ones are."""
        try:
            return controller.run(now)
        except Exception as exc:  # an object the API let in but the controller cannot read
            log.exception("%s failed", type(controller).__name__)
            self.errors.append(f"{type(controller).__name__}: {exc!r}")
            del self.errors[:-20]
            return now + RETRY

    def advance(self, now: float) -> None:
        """Run the controllers, up to `now`: each when a kind it watches changed, its own timer is
        due, or the PVE state under the kubelets moved (then all of them).

        Like informers and work queues, controllers see outside changes with a short delay
        (REACTION, longer in a big cluster): a burst of API writes costs one round, not one per write.
        """
        self._drain(self._pending)
        k3s_fate.retry_joins(self, now)
        k3s_fate.deploy_manifests(self, now)
        if not etcd.quorate(self, now):
            return  # the controllers read and write through the API: without etcd they wait
        everything = self._fingerprint(now) != self._seen
        if (
            not everything
            and now < self._wake
            and (not self._pending or now < self._ran_at + self._reaction())
        ):
            return
        self.changed, self._pending, self._ran_at = self._pending, {}, now
        for _ in range(MAX_PASSES):
            self.full = everything
            for controller in self.controllers:
                due = self._due.get(controller, now)
                if everything or controller.watches & self.changed.keys() or (due is not None and due <= now):
                    self._due[controller] = self._run(controller, now)
            everything, self.changed = False, self._drain({})
            if not self.changed:
                break
        self._pods = sum(1 for _ in self.store.iter(POD))
        self._seen = self._fingerprint(now)
        self._wake = min((d for d in self._due.values() if d is not None and d > now), default=float("inf"))
