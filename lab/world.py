"""The whole simulated homelab: PVE, Ceph and K3s on one virtual clock, and the Slack it is run from.

Systems are coupled here and only here: Ceph sees which blades it can reach (`pve.reachable`),
Kubernetes sees which VMs run.
"""

from __future__ import annotations

from lab.ceph.models import CephCluster
from lab.clock import Clock
from lab.faults import ApiFaults
from lab.k8s.models import K8sCluster
from lab.pve.models import PveCluster
from lab.recorder import Recorder
from lab.scenario import Scenario
from lab.slack.app import SlackTwin


class Lab:
    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self.scenario = scenario
        self.clock = clock
        now = clock.now()
        self.pve = PveCluster.from_scenario(scenario, now)
        self.ceph = CephCluster.from_scenario(scenario, now)
        self.k8s = K8sCluster.from_scenario(scenario, self.pve, clock.now)
        self.k8s.rbd_usable = lambda now: not self.ceph.mons or bool(self.ceph.quorum)  # RBD maps need quorum
        self.recorder = Recorder()
        self.api_faults = ApiFaults()  # slow/flaky PVE answers (lab.faults)
        self.slack = SlackTwin(clock.now)  # the workspace where people talk to drewburr

    def advance(self) -> float:
        """Bring every system up to the clock's now; called before each request and by a ticker."""
        now = self.clock.now()
        self.pve.advance(now)
        self.ceph.advance(now, {name for name in self.pve.blades if self.pve.reachable(name, now)})
        self.k8s.advance(now)
        return now
