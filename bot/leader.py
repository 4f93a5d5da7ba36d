"""Leader election through a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does.

- A replica takes the Lease when it does not exist, when its holder released it (an empty
  `holderIdentity`), or when it expired. Expiry is judged by this replica's own clock: the
  Lease is valid for `leaseDurationSeconds` after this replica last *saw the record change*,
  never from the `renewTime` written there (the writer's clock may differ from ours).
- The holder renews every `retry_seconds`: `renewTime` moves, `acquireTime` stays. Taking it
  from another holder sets `acquireTime` and adds one to `leaseTransitions`.
- Every write is a create, or a replace at the resourceVersion read: two replicas racing
  get one 409, and the loser stays a follower. A Lease held by another is never taken
  before it expired.
- A leader that could not renew for `renew_seconds` (less than the Lease's duration) steps
  down before anyone else may take over; on SIGTERM it releases the Lease (empty holder),
  so the next one leads at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.config import LeaderConfig
from infra.errors import Conflict, GatewayError
from infra.gateways.k8s import K8sGateway

log = logging.getLogger(__name__)
Json = dict[str, Any]


class Elector:
    def __init__(self, k8s: K8sGateway, config: LeaderConfig, identity: str,
                 on_change: Callable[[bool], None] = lambda leading: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.k8s, self.identity = k8s, identity
        self.namespace, self.name = config.namespace, config.lease_name
        self.lease_seconds, self.renew_seconds = config.lease_seconds, config.renew_seconds
        self.retry_seconds = config.retry_seconds
        self.on_change, self.clock = on_change, clock
        self.leading = False
        self.observed: Json | None = None  # the Lease's spec as last read or written
        self.observed_version: str | None = None
        self.observed_at = 0.0  # our clock when the record last changed
        self.renewed_at = 0.0  # our clock at our last successful write

    @property
    def holder(self) -> str | None:
        return (self.observed or {}).get("holderIdentity") or None

    def _observe(self, lease: Json, now: float) -> None:
        spec = lease.get("spec") or {}
        if spec != self.observed:
            self.observed, self.observed_at = spec, now
        self.observed_version = lease["metadata"]["resourceVersion"]

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: True when this replica holds the Lease afterwards."""
        now, stamp = self.clock(), datetime.now(UTC)
        if self.leading and self.observed is not None and self.observed_version is not None:
            try:  # client-go's fast path: renew at the version last written, without reading first
                await self._take(self.observed, self.observed_version, stamp, now)
                return True
            except Conflict:
                pass  # someone else wrote it: read it
        lease = await self.k8s.get_lease(self.namespace, self.name)
        try:
            if lease is None:
                self._observe(await self.k8s.create_lease(self.namespace, self.name, {
                    "holderIdentity": self.identity, "leaseDurationSeconds": self.lease_seconds,
                    "acquireTime": stamp, "renewTime": stamp, "leaseTransitions": 0}), now)
                return True
            self._observe(lease, now)
            old = lease.get("spec") or {}
            holder = old.get("holderIdentity") or ""
            valid_until = self.observed_at + int(old.get("leaseDurationSeconds") or 0)
            if holder and holder != self.identity and now < valid_until:
                return False  # held by another and not expired: never stolen
            await self._take(old, lease["metadata"]["resourceVersion"], stamp, now)
            return True
        except Conflict:  # another replica wrote first: read again next time
            return False

    async def _take(self, old: Json, version: str, stamp: datetime, now: float) -> None:
        """Write the Lease as ours at `version`: a renewal keeps acquireTime, a takeover is a transition."""
        transitions = int(old.get("leaseTransitions") or 0)
        ours = old.get("holderIdentity") == self.identity
        spec = {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_seconds,
                "acquireTime": (old.get("acquireTime") or stamp) if ours else stamp, "renewTime": stamp,
                "leaseTransitions": transitions if ours else transitions + 1}
        self._observe(await self.k8s.replace_lease(self.namespace, self.name, spec, version), now)

    def _set(self, leading: bool) -> None:
        if leading != self.leading:
            self.leading = leading
            log.info("%s %s the Lease %s/%s", self.identity, "holds" if leading else "no longer holds",
                     self.namespace, self.name)
            self.on_change(leading)

    async def step(self) -> None:
        """One round of the loop: try, then lead, follow, or step down."""
        try:
            ok = await self.try_acquire_or_renew()
        except GatewayError as exc:
            log.warning("leader election: %s", exc)
            ok = False
        if ok:
            self.renewed_at = self.clock()
            self._set(True)
        elif self.leading and (self.holder not in (None, self.identity)
                               or self.clock() - self.renewed_at >= self.renew_seconds):
            self._set(False)  # taken over, or silent too long: others may take it soon

    async def run(self) -> None:
        """Until cancelled; then releases the Lease if it holds it."""
        try:
            while True:
                try:
                    await self.step()
                except Exception:  # a Lease we cannot read (malformed): keep trying, and say so
                    log.exception("leader election: unexpected failure")
                    self._set(False)
                await asyncio.sleep(self.retry_seconds)
        finally:
            if self.leading:
                await asyncio.shield(self.release())

    async def release(self) -> None:
        """Give the Lease up (empty holder), so the next replica leads without waiting for expiry."""
        self._set(False)
        if self.holder != self.identity or self.observed_version is None or self.observed is None:
            return
        stamp = datetime.now(UTC)
        spec = {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": stamp, "renewTime": stamp,
                "leaseTransitions": int(self.observed.get("leaseTransitions") or 0)}
        try:
            await self.k8s.replace_lease(self.namespace, self.name, spec, self.observed_version)
        except GatewayError as exc:  # someone else wrote it: it is not ours to release any more
            log.warning("leader election: could not release the Lease: %s", exc)
