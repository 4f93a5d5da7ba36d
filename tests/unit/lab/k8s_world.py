"""A PVE + K3s model pair on a manual clock, for the K8s controller tests."""

from __future__ import annotations

from typing import Any

from lab.clock import ManualClock
from lab.k8s.controllers.base import NODE, POD, deleting
from lab.k8s.models import K8sCluster
from lab.pve.models import PveCluster
from lab.scenario import Scenario, VmSpec, load_scenario

Obj = dict[str, Any]


def homelab(workloads: str = "default", ha: bool = False) -> Scenario:
    """The default homelab; HA off unless asked, so a dead blade's VMs stay dead."""
    scenario = load_scenario(None)
    vms = [v.model_copy(update={"ha": v.ha and ha}) for v in scenario.vms]
    return scenario.model_copy(update={"vms": vms, "workloads": workloads})


def with_spares(scenario: Scenario, spares: int) -> Scenario:
    """`scenario` plus `spares` VMs on blade4 with no K3s yet: kube06 (192.168.1.126), kube07, ..."""
    extra = [
        VmSpec(
            vmid=106 + i,
            name=f"kube0{6 + i}",
            blade="blade4",
            cores=2,
            memory_gib=2,
            ipconfig0=f"ip=192.168.1.{126 + i}/24",
        )
        for i in range(spares)
    ]
    return scenario.model_copy(update={"vms": [*scenario.vms, *extra]})


class World:
    def __init__(self, scenario: Scenario | None = None, settle: float = 30) -> None:
        self.scenario = scenario or homelab()
        self.clock = ManualClock()
        self.pve = PveCluster.from_scenario(self.scenario, self.clock.now())
        self.k8s = K8sCluster.from_scenario(self.scenario, self.pve, self.clock.now)
        self.store = self.k8s.store
        self.run(settle)  # the default workloads start within a few lab seconds

    @property
    def now(self) -> float:
        return self.clock.now()

    def run(self, seconds: float, step: float = 1.0) -> None:
        """Let lab time pass, ticking both systems as the lab's ticker does."""
        end = self.now + seconds
        while self.now < end:
            self.clock.advance(min(step, end - self.now))
            self.pve.advance(self.now)
            self.k8s.advance(self.now)
        assert not self.k8s.errors, self.k8s.errors

    def node(self, name: str) -> Obj:
        return self.store.get(NODE, "", name)

    def ready(self, name: str) -> Obj:
        return next(c for c in self.node(name)["status"]["conditions"] if c["type"] == "Ready")

    def taints(self, name: str) -> set[tuple[str, str]]:
        return {(t["key"], t["effect"]) for t in self.node(name)["spec"].get("taints") or []}

    def pods(self, namespace: str | None = None, prefix: str = "") -> list[Obj]:
        return [p for p in self.store.list(POD, namespace) if p["metadata"]["name"].startswith(prefix)]

    def live_pods(self, namespace: str, prefix: str) -> list[Obj]:
        return [p for p in self.pods(namespace, prefix) if not deleting(p)]

    def pod(self, namespace: str, name: str) -> Obj:
        return self.store.get(POD, namespace, name)

    def blade_of(self, node: str) -> str:
        return next(v.node for v in self.pve.vms.values() if v.name == node)

    def power_off_blade_of(self, node: str) -> str:
        blade = self.blade_of(node)
        self.pve.power_off(blade, self.now)
        self.k8s.advance(self.now)
        return blade


def running_ready(pod: Obj) -> bool:
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
    )
