"""Events, as the components write them (`kubectl describe` and event watches read them).

A repeat of the same event on the same object bumps its count and lastTimestamp, as the
client-go recorder does; events expire after an hour (the API server's --event-ttl).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import Obj, timestamp
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

EVENT = BY_KIND["Event"]
TTL = 3600.0


class Recorder:
    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self._seen: dict[tuple[str, str, str, str], str] = {}  # (uid, reason, message, component) -> event
        self._pruned = float("-inf")

    def record(
        self,
        obj: Obj,
        kind: str,
        reason: str,
        message: str,
        component: str,
        now: float,
        host: str | None = None,
    ) -> None:
        store, meta = self.cluster.store, obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message, component)
        self._prune(now)
        existing = store.find(EVENT, namespace, self._seen.get(key, ""))
        if existing is not None:
            store.mutate(
                EVENT,
                namespace,
                existing["metadata"]["name"],
                lambda e: e.update(count=int(e.get("count", 1)) + 1, lastTimestamp=timestamp(now)),
            )
            return
        name = f"{meta['name']}.{int(now * 1e9) + len(self._seen):x}"
        source = {"component": component, **({"host": host} if host else {})}
        involved = {
            "kind": obj.get("kind", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        store.create(
            EVENT,
            {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "source": source,
                "type": kind,
                "firstTimestamp": timestamp(now),
                "lastTimestamp": timestamp(now),
                "count": 1,
                "eventTime": None,
                "reportingComponent": component,
                "reportingInstance": host or "",
            },
        )
        self._seen[key] = name

    def _prune(self, now: float) -> None:
        if now < self._pruned + 60:
            return
        self._pruned = now
        store = self.cluster.store
        cutoff = timestamp(now - TTL)
        for event in store.list(EVENT):
            if max(str(event.get("lastTimestamp") or ""), event["metadata"]["creationTimestamp"]) < cutoff:
                store.remove(EVENT, event["metadata"]["namespace"], event["metadata"]["name"])
        live = {e["metadata"]["name"] for e in store.iter(EVENT)}
        self._seen = {k: v for k, v in self._seen.items() if v in live}
