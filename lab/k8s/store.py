"""The API server's object store: objects as JSON dicts, one resourceVersion counter, watch history.

Controllers and routes both go through it, so every change bumps resourceVersion and
reaches watchers, as etcd + the API server do.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lab.k8s.errors import AlreadyExists, Conflict, Gone, NotFound
from lab.k8s.resources import Resource

Obj = dict[str, Any]
HISTORY = 10_000  # watch events kept; older resourceVersions get 410 Gone


def timestamp(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: Resource
    obj: Obj
    old: Obj | None = None  # the object before a MODIFIED event (watch selectors need it)


class Store:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._rv = 1000
        self._history: deque[WatchEvent] = deque(maxlen=HISTORY)
        self._watchers: set[asyncio.Queue[WatchEvent]] = set()
        self.revisions: dict[str, int] = {}  # resource key -> resourceVersion of its last change

    # reads

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, res: Resource, namespace: str, name: str) -> Obj:
        try:
            return self._objects.get(res.key, {})[(namespace if res.namespaced else "", name)]
        except KeyError:
            raise NotFound.of(res.plural, name, res.group) from None

    def find(self, res: Resource, namespace: str, name: str) -> Obj | None:
        return self._objects.get(res.key, {}).get((namespace if res.namespaced else "", name))

    def list(self, res: Resource, namespace: str | None = None) -> list[Obj]:
        """Objects of a kind, in one namespace or all, sorted by namespace then name."""
        items = self._objects.get(res.key, {})
        keys = sorted(k for k in items if namespace is None or k[0] == namespace)
        return [items[k] for k in keys]

    def iter(self, res: Resource) -> Iterator[Obj]:
        yield from self._objects.get(res.key, {}).values()

    # writes: each stores a new dict (callers' copies stay theirs) and emits one watch event

    def create(self, res: Resource, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta["name"]
        bucket = self._objects.setdefault(res.key, {})
        if (ns, name) in bucket:
            raise AlreadyExists.of(res.plural, name, res.group)
        if not res.stored_as:  # (a converted object arrives in its storage version already)
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())  # the API server's, when it needed it earlier
        meta["creationTimestamp"] = timestamp(self._clock())
        meta.setdefault("generation", 1)
        bucket[(ns, name)] = obj
        self._emit("ADDED", res, obj)
        return obj

    def update(self, res: Resource, obj: Obj, *, check_rv: bool = True) -> Obj:
        """Replace an object; a stale `metadata.resourceVersion` raises Conflict (409)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if res.namespaced else ""
        current = self.get(res, ns, meta.get("name", ""))
        sent_rv = meta.get("resourceVersion")
        if check_rv and sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise Conflict.stale(res.plural, meta["name"], res.group)
        for key in ("uid", "creationTimestamp"):
            meta[key] = current["metadata"][key]
        if "deletionTimestamp" in current["metadata"]:
            meta["deletionTimestamp"] = current["metadata"]["deletionTimestamp"]
        if obj.get("spec") != current.get("spec"):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        else:
            meta["generation"] = current["metadata"].get("generation", 1)
        if not res.stored_as:
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.namespaced:
            meta["namespace"] = ns
        self._objects[res.key][(ns, meta["name"])] = obj
        if "deletionTimestamp" in meta and not meta.get("finalizers"):
            return self.remove(res, ns, meta["name"])
        self._emit("MODIFIED", res, obj, current)
        return obj

    def mutate(self, res: Resource, namespace: str, name: str, fn: Callable[[Obj], None]) -> Obj:
        """Read-modify-write for controllers: `fn` edits a copy in place; no conflict check."""
        obj = copy.deepcopy(self.get(res, namespace, name))
        fn(obj)
        return self.update(res, obj, check_rv=False)

    def mark_deleting(self, res: Resource, namespace: str, name: str, grace_seconds: int) -> Obj:
        """Graceful deletion: set deletionTimestamp; the object stays until its owner finishes."""
        current = self.get(res, namespace, name)
        if "deletionTimestamp" in current["metadata"]:
            return current
        obj = copy.deepcopy(current)
        obj["metadata"]["deletionTimestamp"] = timestamp(self._clock() + grace_seconds)
        obj["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
        self._objects[res.key][(obj["metadata"].get("namespace", ""), name)] = obj
        self._emit("MODIFIED", res, obj, current)
        return obj

    def remove(self, res: Resource, namespace: str, name: str) -> Obj:
        """Delete now (what the API server does once grace and finalizers are done)."""
        ns = namespace if res.namespaced else ""
        obj = self._objects.get(res.key, {}).pop((ns, name), None)
        if obj is None:
            raise NotFound.of(res.plural, name, res.group)
        # a fresh metadata dict: the DELETED event gets its own resourceVersion, and the
        # object of the previous event in the history keeps its own
        obj = {**obj, "metadata": dict(obj["metadata"])}
        self._emit("DELETED", res, obj)
        return obj

    # watch

    def _emit(self, kind: str, res: Resource, obj: Obj, old: Obj | None = None) -> None:
        self._rv += 1
        self.revisions[res.key] = self._rv
        obj["metadata"]["resourceVersion"] = str(self._rv)
        event = WatchEvent(self._rv, kind, res, obj, old)
        self._history.append(event)
        for queue in self._watchers:
            queue.put_nowait(event)

    def events_since(self, rv: int, res: Resource) -> list[WatchEvent]:
        """History after `rv` for one kind; 410 Gone when `rv` is older than what is kept."""
        if self._history and rv < self._history[0].rv - 1 and rv < self._rv:
            raise Gone(f"too old resource version: {rv} ({self._history[0].rv - 1})")
        return [e for e in self._history if e.rv > rv and e.resource.key == res.key]

    def subscribe(self) -> asyncio.Queue[WatchEvent]:
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self._watchers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent]) -> None:
        self._watchers.discard(queue)
