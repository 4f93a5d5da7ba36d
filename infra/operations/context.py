"""What every operation step needs: gateways, the journal, options, and time.

Time comes from here only: `clock` (wall seconds, journaled), `sleep` and `poll_until`, so the
lab's time scale, tests and benchmarks control it, and a cancel ends any wait at the next poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from infra.addons.spec import AddonsConfig
from infra.errors import Fatal, TimedOut
from infra.gateways.alertmanager import AlertmanagerGateway
from infra.gateways.ceph import CephGateway
from infra.gateways.charts import ChartRepos
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.gateways.pve_guests import PveGuests
from infra.gather import gather
from infra.journal import Journal, OperationStatus
from infra.operations.bootstrap_spec import BootstrapOptions
from infra.operations.cancel import nap
from infra.operations.provision_spec import ProvisionOptions
from infra.planner import PlanOptions
from infra.topology import Snapshot

T = TypeVar("T")


@dataclass(frozen=True)
class OpsOptions:
    eviction_retry_seconds: float = 5.0  # like kubectl drain
    drain_timeout_seconds: float = 600.0
    migrations_per_nic: int = 2
    migration_timeout_seconds: float = 900.0
    poll_seconds: float = 1.0
    boot_timeout_seconds: float = 900.0
    addon_timeout_seconds: float = 900.0  # a chart's install Job, its workloads, an issuer's Ready
    headroom_gib: float = 1.0
    node_pattern: str = "{vm}"
    allow_more_maintenance: bool = False  # admin override of one blade in maintenance
    force: bool = False  # go on despite blockers (admin)


@dataclass
class Context:
    pve: PveGateway
    k8s: K8sGateway | None
    journal: Journal
    options: OpsOptions = field(default_factory=OpsOptions)
    clock: Callable[[], float] = time.time
    alertmanager: AlertmanagerGateway | None = None  # alertmanager.url: silences
    addons: AddonsConfig = field(default_factory=AddonsConfig)
    webhook_token: str | None = None  # drewburr's own webhook token, for Alertmanager's receiver
    charts: ChartRepos = field(default_factory=ChartRepos)
    provision: ProvisionOptions | None = None  # the config's `provision:` section, when there is one
    bootstrap: BootstrapOptions | None = None  # the config's `bootstrap:` section (defaults otherwise)
    sleeper: Callable[[float], Awaitable[None]] = asyncio.sleep  # what `sleep` waits with
    # set when the process is asked to stop: operations stop after their current step
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # told of every operation that ends here (the bot's metrics)
    observers: list[Callable[[OperationStatus], None]] = field(default_factory=list)

    @property
    def ceph(self) -> CephGateway:
        return CephGateway(self.pve)

    def provisioning(self) -> ProvisionOptions:
        """The `provision:` section, or Fatal naming what is missing."""
        if self.provision is None:
            raise Fatal("the config has no provision section (template, storage, k3s ...)")
        return self.provision

    @property
    def guests(self) -> PveGuests:
        return PveGuests(self.pve)

    def plan_options(self) -> PlanOptions:
        return PlanOptions(headroom_gib=self.options.headroom_gib,
                           allow_more_maintenance=self.options.allow_more_maintenance)

    async def snapshot(self) -> Snapshot:
        records = await self.journal.maintenance()
        return await gather(self.pve, self.k8s, self.options.node_pattern, [m.blade for m in records],
                            await self.journal.homes())

    async def sleep(self, seconds: float | None = None) -> None:
        """Wait `seconds` (default: one poll); raises Cancelled early if the operation is cancelled."""
        await nap(self.sleeper, self.options.poll_seconds if seconds is None else seconds)

    async def poll_until(self, condition: Callable[[], Awaitable[T | None]], within: float,
                         what: str | Callable[[], str],
                         interval: float | Callable[[], float | None] | None = None) -> T:
        """Ask `condition` every `interval` (default one poll) until it returns something other than
        None; TimedOut names `what` (called then, so it can say what was seen last)."""
        deadline = self.clock() + within
        while True:
            found = await condition()
            if found is not None:
                return found
            if self.clock() >= deadline:
                raise TimedOut(what() if callable(what) else what, within)
            await self.sleep(interval() if callable(interval) else interval)
