"""The Kubernetes journal: the same records as SQLite's, kept as ConfigMaps in one namespace, so a
second replica (the next leader) reads what the first wrote.

- `drewburr-journal`: the index (next operation id, locks by key, VMs' homes, blades in
  maintenance, the automation pause);
- `drewburr-op-<id>`: one operation with its steps, labelled `drewburr.io/finished`;
- `drewburr-confirm-<hash of id>`, `drewburr-incident-<hash of fact>`: one confirmation, one incident;
- `drewburr-audit-<microseconds>-<random>`: one audit entry, labelled with its operation.

Every change is a read, a change and a PUT at the resourceVersion read: a 409 means another
replica wrote first, so read again and retry. Taking locks is one such write of the index, so
it is atomic across keys. docs/ha.md says why ConfigMaps.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import json
import random
import secrets
from collections.abc import Callable
from typing import Any

from infra.errors import Conflict, GatewayError
from infra.gateways.k8s import K8sGateway
from infra.journal import (
    FINISHED,
    AuditEntry,
    Confirmation,
    Incident,
    Journal,
    JournalError,
    Locked,
    Maintenance,
    OperationStatus,
    Paused,
    Phase,
    StepRecord,
)

INDEX = "drewburr-journal"
MANAGED = {"app.kubernetes.io/managed-by": "drewburr"}
RECORD = "drewburr.io/record"
ATTEMPTS, BACKOFF = 20, 0.05  # a conflicting write is retried (client-go's RetryOnConflict stops at 5)
Data = dict[str, str]


class KubernetesJournal(Journal):
    def __init__(self, k8s: K8sGateway, namespace: str) -> None:
        self.k8s, self.namespace = k8s, namespace

    # -- plumbing: every gateway error is a JournalError naming the namespace
    async def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return await fn()
        except GatewayError as exc:
            raise JournalError(f"journal (Kubernetes namespace {self.namespace}): {what}: {exc}") from exc

    async def _modify(self, name: str, change: Callable[[Data], Data | None],
                      labels: Data | None = None) -> bool:
        """Apply `change` to the ConfigMap's data at the resourceVersion it was read at, again on a 409.
        `change` returns None to leave it as it is (then False). A missing index is created empty."""
        for _ in range(ATTEMPTS):
            current = await self._call(f"read {name}", lambda: self.k8s.get_configmap(self.namespace, name))
            if current is None and name != INDEX:
                return False
            meta = (current or {}).get("metadata", {"name": name, "labels": {**MANAGED, RECORD: "index"}})
            changed = change(dict((current or {}).get("data") or {}))
            if changed is None:
                return False
            body = {"metadata": {**meta, "labels": {**meta.get("labels", {}), **(labels or {})}},
                    "data": changed}
            write = self.k8s.replace_configmap if current else self.k8s.create_configmap
            try:
                await self._call(f"write {name}", functools.partial(write, self.namespace, body))
                return True
            except JournalError as exc:
                if not isinstance(exc.__cause__, Conflict):
                    raise
            await asyncio.sleep(random.uniform(0, BACKOFF))  # racing writers spread out, as client-go's do
        raise JournalError(f"journal (Kubernetes namespace {self.namespace}): {name} kept changing "
                           f"under {ATTEMPTS} attempts to write it")

    async def _index(self) -> Data:
        found = await self._call("read the index", lambda: self.k8s.get_configmap(self.namespace, INDEX))
        return dict((found or {}).get("data") or {})

    async def _records(self, selector: str) -> builtins.list[Data]:
        items = await self._call(f"list {selector}", lambda: self.k8s.list_configmaps(
            self.namespace, selector))
        return [item.get("data") or {} for item in items]

    # -- operations
    async def create(self, kind: str, target: str, params: dict[str, Any], steps: builtins.list[str],
                     keys: builtins.list[str], now: float) -> OperationStatus:
        op_id = 0

        def allocate(index: Data) -> Data:
            nonlocal op_id
            op_id = int(index.get("next-id", "1"))
            return {**index, "next-id": str(op_id + 1)}
        await self._modify(INDEX, allocate)
        op = OperationStatus(id=op_id, kind=kind, target=target, params=params, created=now,
                             last_transition=now, steps=[StepRecord(name=s) for s in steps])
        body = {"metadata": {"name": _op_name(op_id), "labels": _op_labels(op)},
                "data": {"status": op.model_dump_json()}}
        await self._call("create an operation", lambda: self.k8s.create_configmap(self.namespace, body))
        try:
            await self.take_locks(op_id, keys)
        except Locked:  # a refused operation leaves nothing behind (its id stays unused)
            await self._call("delete a refused operation", lambda: self.k8s.delete_configmap(
                self.namespace, _op_name(op_id)))
            raise
        return op

    async def get(self, op_id: int) -> OperationStatus | None:
        found = await self._call(f"read operation {op_id}", lambda: self.k8s.get_configmap(
            self.namespace, _op_name(op_id)))
        return OperationStatus.model_validate_json(found["data"]["status"]) if found else None

    async def list(self, limit: int = 20) -> builtins.list[OperationStatus]:
        return (await self._operations(f"{RECORD}=operation"))[:limit]

    async def unfinished(self) -> builtins.list[OperationStatus]:
        return sorted(await self._operations(f"{RECORD}=operation,drewburr.io/finished=false"),
                      key=lambda op: op.id)

    async def since(self, when: float) -> builtins.list[OperationStatus]:
        return [op for op in await self._operations(f"{RECORD}=operation") if op.created >= when]

    async def _operations(self, selector: str) -> builtins.list[OperationStatus]:
        ops = [OperationStatus.model_validate_json(d["status"]) for d in await self._records(selector)]
        return sorted(ops, key=lambda op: op.id, reverse=True)

    async def _update(self, op_id: int, change: Callable[[OperationStatus], OperationStatus | None]) -> bool:
        new_labels: Data = {}

        def apply(data: Data) -> Data | None:
            changed = change(OperationStatus.model_validate_json(data["status"]))
            if changed is None:
                return None
            new_labels.update(_op_labels(changed))
            return {"status": changed.model_dump_json()}
        return await self._modify(_op_name(op_id), apply, new_labels)

    async def set_phase(self, op_id: int, phase: Phase, now: float, error: str | None = None,
                        owner: str | None = None) -> None:
        def change(op: OperationStatus) -> OperationStatus:
            update: dict[str, Any] = {"phase": phase, "last_transition": now}
            if error is not None:
                update["last_error"] = error
            if owner is not None:
                update |= {"owner": owner, "heartbeat": now}
            return op.model_copy(update=update)
        await self._update(op_id, change)
        if phase in FINISHED:
            def release(index: Data) -> Data | None:
                held = _map(index, "locks")
                kept = {key: holder for key, holder in held.items() if holder != op_id}
                return None if kept == held else _with(index, "locks", kept)
            await self._modify(INDEX, release)

    async def beat(self, op_id: int, now: float) -> None:
        await self._update(op_id, lambda op: op.model_copy(update={"heartbeat": now}))

    async def note_error(self, op_id: int, now: float, error: str) -> bool:
        return await self._update(op_id, lambda op: None if op.phase in FINISHED else op.model_copy(
            update={"last_error": error, "last_transition": now}))

    async def update_params(self, op_id: int, params: dict[str, Any]) -> None:
        await self._update(op_id, lambda op: op.model_copy(update={"params": {**op.params, **params}}))

    async def record_step(self, op_id: int, step: StepRecord) -> None:
        await self._update(op_id, lambda op: op.model_copy(update={
            "steps": [step if s.name == step.name else s for s in op.steps]}))

    async def request_cancel(self, op_id: int) -> None:
        await self._update(op_id, lambda op: op.model_copy(update={"cancel_requested": True}))

    # -- locks: one write of the index takes them all, or none
    async def take_locks(self, op_id: int, keys: builtins.list[str]) -> None:
        for _ in range(ATTEMPTS):
            index = await self._index()
            held = _map(index, "locks")
            for key in keys:
                holder = held.get(key)
                if holder is not None and holder != op_id:
                    other = await self.get(holder)
                    if other is not None and other.phase not in FINISHED:
                        raise Locked(key, holder, other.kind)
            if all(held.get(key) == op_id for key in keys):
                return

            def take(current: Data, seen: Data = index) -> Data:
                if current != seen:  # changed since the holders were checked: check again
                    raise _Again
                return _with(current, "locks", {**_map(current, "locks"), **dict.fromkeys(keys, op_id)})
            try:
                await self._modify(INDEX, take)
                return
            except _Again:
                continue
        raise JournalError(f"journal (Kubernetes namespace {self.namespace}): the locks kept changing")

    async def locks(self) -> dict[str, int]:
        return _map(await self._index(), "locks")

    # -- maintenance and homes, in the index
    async def put_maintenance(self, record: Maintenance) -> None:
        await self._modify(INDEX, lambda index: _with(index, "maintenance", {
            **_map(index, "maintenance"), record.blade: record.model_dump(mode="json")}))

    async def get_maintenance(self, blade: str) -> Maintenance | None:
        found = _map(await self._index(), "maintenance").get(blade)
        return Maintenance.model_validate(found) if found else None

    async def clear_maintenance(self, blade: str) -> None:
        await self._modify(INDEX, lambda index: _with(index, "maintenance", {
            b: m for b, m in _map(index, "maintenance").items() if b != blade}))

    async def maintenance(self) -> builtins.list[Maintenance]:
        records = _map(await self._index(), "maintenance")
        return [Maintenance.model_validate(records[b]) for b in sorted(records)]

    async def remember_homes(self, placement: dict[int, str], op_id: int) -> None:
        await self._modify(INDEX, lambda index: _with(index, "homes", {
            **{str(vmid): [blade, op_id] for vmid, blade in placement.items()}, **_map(index, "homes")}))

    async def homes(self) -> dict[int, tuple[str, int]]:
        homes = _map(await self._index(), "homes")
        return {int(vmid): (blade, op_id) for vmid, (blade, op_id) in homes.items()}

    async def forget_homes(self, vmids: builtins.list[int]) -> None:
        gone = {str(v) for v in vmids}
        await self._modify(INDEX, lambda index: _with(index, "homes", {
            vmid: home for vmid, home in _map(index, "homes").items() if vmid not in gone}))

    # -- incidents: one ConfigMap each, named after its fact
    async def put_incident(self, incident: Incident) -> None:
        await self._put("incident", incident.fact, incident.model_dump_json())

    async def incidents(self) -> builtins.list[Incident]:
        found = [Incident.model_validate_json(d["record"]) for d in await self._records(f"{RECORD}=incident")]
        return sorted(found, key=lambda incident: (incident.opened, incident.fact))

    # -- the automation pause, in the index
    async def set_paused(self, paused: Paused | None) -> None:
        def change(index: Data) -> Data:
            rest = {key: value for key, value in index.items() if key != "paused"}
            return rest if paused is None else {**rest, "paused": paused.model_dump_json()}
        await self._modify(INDEX, change)

    async def paused(self) -> Paused | None:
        found = (await self._index()).get("paused")
        return Paused.model_validate_json(found) if found else None

    # -- confirmations: one ConfigMap each; settling is a conditional write from pending
    async def _put(self, kind: str, key: str, record: str) -> None:
        """Write (or replace) the record of `kind` named after `key`."""
        name, data = _record_name(kind, key), {"record": record}
        if not await self._modify(name, lambda _: data):
            await self._call(f"create a {kind}", lambda: self.k8s.create_configmap(self.namespace, {
                "metadata": {"name": name, "labels": {**MANAGED, RECORD: kind}}, "data": data}))

    async def put_confirmation(self, confirmation: Confirmation) -> None:
        await self._put("confirm", confirmation.id, confirmation.model_dump_json())

    async def get_confirmation(self, confirmation_id: str) -> Confirmation | None:
        found = await self._call("read a confirmation", lambda: self.k8s.get_configmap(
            self.namespace, _record_name("confirm", confirmation_id)))
        return Confirmation.model_validate_json(found["data"]["record"]) if found else None

    async def settle_confirmation(self, confirmation_id: str, state: str) -> bool:
        def settle(data: Data) -> Data | None:
            found = Confirmation.model_validate_json(data["record"])
            if found.state != "pending":
                return None
            return {"record": found.model_copy(update={"state": state}).model_dump_json()}
        return await self._modify(_record_name("confirm", confirmation_id), settle)

    # -- audit: one ConfigMap per entry, named so that names sort by time
    async def audit(self, entry: AuditEntry) -> None:
        name = f"drewburr-audit-{int(entry.at * 1e6):020d}-{secrets.token_hex(3)}"
        labels = {**MANAGED, RECORD: "audit", "drewburr.io/op": str(entry.op_id or "none")}
        await self._call("write the audit", lambda: self.k8s.create_configmap(self.namespace, {
            "metadata": {"name": name, "labels": labels}, "data": {"record": entry.model_dump_json()}}))

    async def audit_log(self, limit: int = 50, op_id: int | None = None) -> builtins.list[AuditEntry]:
        selector = f"{RECORD}=audit" + (f",drewburr.io/op={op_id}" if op_id is not None else "")
        items = await self._call("read the audit", lambda: self.k8s.list_configmaps(self.namespace, selector))
        items.sort(key=lambda item: item["metadata"]["name"], reverse=True)
        return [AuditEntry.model_validate_json(item["data"]["record"]) for item in items[:limit]]


class _Again(Exception):
    """The index changed between checking the lock holders and writing: check them again."""


def _op_name(op_id: int) -> str:
    return f"drewburr-op-{op_id}"


def _op_labels(op: OperationStatus) -> Data:
    return {**MANAGED, RECORD: "operation", "drewburr.io/finished": str(op.phase in FINISHED).lower()}


def _record_name(kind: str, key: str) -> str:
    """Keys (confirmation ids are URL-safe tokens, with upper case and `_`) are not valid object names."""
    return f"drewburr-{kind}-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _map(index: Data, key: str) -> dict[str, Any]:
    return json.loads(index.get(key) or "{}")


def _with(index: Data, key: str, value: dict[str, Any]) -> Data:
    return {**index, key: json.dumps(value, sort_keys=True)}
