"""The journal: operations, their steps, their locks (keys from infra.locks) and maintenance records.

An interface (`Journal`) with one backend today (`infra.journal_sqlite`). Each step is one
fixed-shape record; an operation's status reads like a Kubernetes resource's status.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, Field

from infra import locks

# Refused: held back before anything changed (blockers, a held lock); journaled like any decision.
Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Cancelled", "Refused"]
Outcome = Literal["pending", "running", "retrying", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"Succeeded", "Failed", "Cancelled", "Refused"})


class JournalError(Exception):
    """The journal cannot be opened, read or written (path, permissions, a corrupt file)."""


class Locked(Exception):
    """A lock key (infra.locks: a blade, a VM name, a VMID, the cluster) is held by another operation."""

    def __init__(self, key: str, holder: int, kind: str) -> None:
        self.key, self.holder, self.kind = key, holder, kind
        super().__init__(f"{locks.describe(key)} is locked by operation {holder} ({kind}); "
                         f"see `drewburr ops show {holder}`")


class StepRecord(BaseModel):
    name: str
    outcome: Outcome = "pending"
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    message: str = ""


class OperationStatus(BaseModel):
    id: int
    kind: str  # drain | restore | reboot | reboot-all | evacuate | fence (infra.operations.run.KINDS)
    target: str  # a blade, or "all"
    params: dict[str, Any] = Field(default_factory=dict)
    phase: Phase = "Pending"
    created: float
    last_transition: float
    last_error: str | None = None
    cancel_requested: bool = False
    owner: str | None = None  # infra.owner's identity of the process running it
    heartbeat: float | None = None  # when that process last said it was alive
    steps: list[StepRecord] = Field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(s.outcome == "done" for s in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def pending(self) -> list[str]:
        return [s.name for s in self.steps if s.outcome != "done"]

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)


class Maintenance(BaseModel):
    """A blade in maintenance and what is needed to undo it."""

    blade: str
    op_id: int
    since: float
    placement: dict[int, str] = Field(default_factory=dict)  # vmid -> blade before the drain
    nodes: list[str] = Field(default_factory=list)  # K8s nodes drained (the blade's VMs)
    cordoned: list[str] = Field(default_factory=list)  # nodes we cordoned (not ones already cordoned)
    noout_set: bool = False  # we set noout (it was not set before)
    ceph_checks: list[str] = Field(default_factory=list)  # Ceph health checks before the drain


class Confirmation(BaseModel):
    """A plan shown to a person and waiting for their Confirm: kept in the journal so a restart or
    a second process honours it, and used at most once."""
    id: str
    user: str  # who asked
    channel: str
    text: str  # the command as typed
    fingerprint: str  # of the plan shown: a different plan at confirm time is shown, not run
    expires: float
    state: Literal["pending", "confirmed", "cancelled"] = "pending"
    message_ts: str | None = None


class Paused(BaseModel):
    """Automatic remediation paused: by whom, why, since when. In the journal, so a restart and a
    second replica see it."""
    by: str
    reason: str
    since: float


class Incident(BaseModel):
    """One fact (`fence:blade3`) and its Slack thread: every alert, watcher finding, decision and
    step about it is said there. Kept in the journal so a restart keeps talking in the same thread."""
    fact: str
    opened: float
    channel: str | None = None
    ts: str | None = None  # the thread's first message; None while Slack is off
    fingerprints: list[str] = Field(default_factory=list)  # the alerts that reported it
    op_id: int | None = None  # the operation remediation started for it
    said: str | None = None  # the last hold's gate said in the thread: a repeat is not said again soon
    said_at: float | None = None  # when it was said
    approval: str | None = None  # the Confirmation ID of the approval request last posted


class AuditEntry(BaseModel):
    """Who did what, where, and what came of it: every command, decision and button press."""
    at: float
    who: str  # a Slack user ID, `cli`, or `drewburr` for its own decisions
    where: str  # a channel, `cli`, `webhook`
    what: str  # the command as typed, or the button and the command it confirms
    result: str
    op_id: int | None = None


class Journal(ABC):
    """Every method is a coroutine: a backend that blocks (a file lock, a network) waits off the loop."""

    @abstractmethod
    async def create(self, kind: str, target: str, params: dict[str, Any], steps: builtins.list[str],
                     keys: builtins.list[str], now: float) -> OperationStatus:
        """Record a new operation and take the lock `keys` atomically, or raise Locked."""

    @abstractmethod
    async def get(self, op_id: int) -> OperationStatus | None: ...

    @abstractmethod
    async def list(self, limit: int = 20) -> builtins.list[OperationStatus]: ...

    @abstractmethod
    async def set_phase(self, op_id: int, phase: Phase, now: float, error: str | None = None,
                        owner: str | None = None) -> None: ...

    @abstractmethod
    async def beat(self, op_id: int, now: float) -> None:
        """The owner of a running operation is alive."""

    @abstractmethod
    async def note_error(self, op_id: int, now: float, error: str) -> bool:
        """Record `error` on an operation that is still unfinished (atomically: an operation
        that finished meanwhile keeps its final phase); False when it had finished."""

    @abstractmethod
    async def update_params(self, op_id: int, params: dict[str, Any]) -> None:
        """Merge `params` into the operation's recorded data (plan, placement)."""

    @abstractmethod
    async def record_step(self, op_id: int, step: StepRecord) -> None: ...

    @abstractmethod
    async def request_cancel(self, op_id: int) -> None: ...

    @abstractmethod
    async def take_locks(self, op_id: int, keys: builtins.list[str]) -> None:
        """Take (again) the locks of a resumed operation, or more as it learns what it works on
        (a VMID), or raise Locked."""

    @abstractmethod
    async def locks(self) -> dict[str, int]:
        """Lock key -> the operation holding it."""

    @abstractmethod
    async def put_maintenance(self, record: Maintenance) -> None: ...

    @abstractmethod
    async def get_maintenance(self, blade: str) -> Maintenance | None: ...

    @abstractmethod
    async def clear_maintenance(self, blade: str) -> None: ...

    @abstractmethod
    async def maintenance(self) -> builtins.list[Maintenance]: ...

    @abstractmethod
    async def remember_homes(self, placement: dict[int, str], op_id: int) -> None:
        """Remember where VMs live before a drain moves them; a VM's first remembered home is kept
        (draining the blade it was moved to does not make that its home)."""

    @abstractmethod
    async def homes(self) -> dict[int, tuple[str, int]]:
        """vmid -> (home blade, the operation that moved it away), for VMs not yet back home."""

    @abstractmethod
    async def forget_homes(self, vmids: builtins.list[int]) -> None:
        """The VMs are home again."""

    @abstractmethod
    async def put_confirmation(self, confirmation: Confirmation) -> None: ...

    @abstractmethod
    async def get_confirmation(self, confirmation_id: str) -> Confirmation | None: ...

    @abstractmethod
    async def settle_confirmation(self, confirmation_id: str, state: str) -> bool:
        """pending -> state, atomically; False when it was not pending (used, cancelled, unknown)."""

    @abstractmethod
    async def put_incident(self, incident: Incident) -> None: ...

    @abstractmethod
    async def incidents(self) -> builtins.list[Incident]:
        """Every incident, oldest first."""

    @abstractmethod
    async def audit(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    async def audit_log(self, limit: int = 50, op_id: int | None = None) -> builtins.list[AuditEntry]:
        """Newest first; with `op_id`, only what concerns that operation."""

    @abstractmethod
    async def set_paused(self, paused: Paused | None) -> None:
        """Pause automatic remediation (a Paused) or resume it (None)."""

    @abstractmethod
    async def paused(self) -> Paused | None: ...

    async def refuse(self, kind: str, target: str, params: dict[str, Any], reason: str,
                     now: float) -> OperationStatus:
        """Journal an operation held back before it changed anything, with the reason."""
        op = await self.create(kind, target, params, [], [], now)
        await self.set_phase(op.id, "Refused", now, error=reason)
        refused = await self.get(op.id)
        assert refused is not None
        return refused

    async def unfinished(self) -> builtins.list[OperationStatus]:
        return [op for op in await self.list(limit=1000) if op.phase not in FINISHED]

    @abstractmethod
    async def since(self, when: float) -> builtins.list[OperationStatus]:
        """Operations created at `when` or later, newest first, however many (a cooldown's window)."""
