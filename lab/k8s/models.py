"""The K3s cluster's state: the object store plus the controllers that act on it.

Controllers (lab/k8s/controllers/) each take `now` and the PVE state they need; the
`advance` loop runs them in a fixed order, as the real control plane's loops would.
"""

from __future__ import annotations

from collections.abc import Callable

from lab.k8s.store import Store
from lab.pve.models import PveCluster


class K8sCluster:
    def __init__(self, pve: PveCluster, clock: Callable[[], float]) -> None:
        self.pve = pve
        self.store = Store(clock)

    @classmethod
    def from_scenario(cls, scenario: object, pve: PveCluster, clock: Callable[[], float]) -> K8sCluster:
        return cls(pve, clock)

    def advance(self, now: float) -> None:
        """Run every controller once, up to `now`."""
