"""The Deployment controller: one ReplicaSet per template (named with its pod-template-hash),
rolled with maxSurge / maxUnavailable, or Recreate."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    DEPLOYMENT,
    REPLICASET,
    Obj,
    controller_of,
    deleting,
    int_or_percent,
    owned_by,
    owner_ref,
    replicas,
    set_condition,
    spec_of,
    template_hash,
    update_if_changed,
)
from lab.k8s.controllers.pods import by_owner

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _replicas(rs: Obj) -> int:
    return replicas(rs, 0)


def _available(rs: Obj) -> int:
    return int(rs.get("status", {}).get("availableReplicas", 0))


class DeploymentController:
    watches = frozenset({"Deployment", "ReplicaSet", "Pod"})  # pods: a Recreate waits for the last old one

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        all_rs = store.list(REPLICASET)
        for d in store.list(DEPLOYMENT):
            if deleting(d) or spec_of(d).get("paused"):
                continue
            owned = [rs for rs in all_rs if owned_by(rs, d)]
            h = template_hash(spec_of(d).get("template"))
            new = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get(HASH) == h), None)
            old = sorted(
                (rs for rs in owned if rs is not new),
                key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")),
            )
            want = replicas(d)
            strategy = spec_of(d).get("strategy") or {}
            if strategy.get("type") == "Recreate":
                self._recreate(d, new, old, want, h, owned)
            else:
                rolling = strategy.get("rollingUpdate") or {}
                surge = int_or_percent(rolling.get("maxSurge", "25%"), want, round_up=True)
                unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), want, round_up=False)
                if surge == 0 and unavailable == 0:
                    unavailable = 1
                self._roll(d, new, old, want, surge, unavailable, h, owned)
            owned = [rs for rs in store.list(REPLICASET) if owned_by(rs, d)]
            new = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get(HASH) == h), None)
            update_if_changed(
                store, DEPLOYMENT, d, lambda o, owned=owned, new=new: _status(o, owned, new, now)
            )
        return None

    def _recreate(self, d: Obj, new: Obj | None, old: list[Obj], want: int, h: str, owned: list[Obj]) -> None:
        for rs in old:
            self._scale(rs, 0)
        pods = by_owner(self.cluster)
        if any(
            p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            for rs in old
            for p in pods.get(rs["metadata"]["uid"], [])
        ):
            return  # Recreate waits for every old pod to be gone, terminating ones included
        if new is None:
            self._create(d, h, want, owned)
        else:
            self._scale(new, want)

    def _roll(
        self,
        d: Obj,
        new: Obj | None,
        old: list[Obj],
        want: int,
        surge: int,
        unavailable: int,
        h: str,
        owned: list[Obj],
    ) -> None:
        old = [rs for rs in old if _replicas(rs)]
        if not old:
            if new is None:
                self._create(d, h, want, owned)
            else:
                self._scale(new, want)
            return
        room = max(0, want + surge - sum(_replicas(rs) for rs in old) - (_replicas(new) if new else 0))
        if new is None:
            new = self._create(d, h, min(want, room), owned)
        else:
            new = self._scale(new, min(want, _replicas(new) + room))
        min_available = want - unavailable
        everything = [*old, new]
        # old pods that are not available go first: removing them costs no availability
        cleanup = max(
            0, sum(_replicas(rs) for rs in everything) - min_available - (_replicas(new) - _available(new))
        )
        budget = sum(min(_available(rs), _replicas(rs)) for rs in everything) - min_available
        for rs in old:
            unhealthy = min(max(0, _replicas(rs) - _available(rs)), cleanup)
            take = min(_replicas(rs) - unhealthy, max(0, budget))
            cleanup -= unhealthy
            budget -= take
            if unhealthy + take:
                self._scale(rs, _replicas(rs) - unhealthy - take)

    def _create(self, d: Obj, h: str, replicas: int, owned: list[Obj]) -> Obj:
        template = copy.deepcopy(spec_of(d).get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = h
        selector = copy.deepcopy(spec_of(d).get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH] = h
        revision = 1 + max(
            (int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in owned), default=0
        )
        annotations = {
            REVISION: str(revision),
            "deployment.kubernetes.io/desired-replicas": str(spec_of(d).get("replicas", 1)),
            "deployment.kubernetes.io/max-replicas": str(spec_of(d).get("replicas", 1)),
        }
        self.cluster.recorder.record(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {d['metadata']['name']}-{h} to {replicas}",
            "deployment-controller",
            self.cluster.clock(),
        )
        return self.cluster.store.create(
            REPLICASET,
            {
                "metadata": {
                    "name": f"{d['metadata']['name']}-{h}",
                    "namespace": d["metadata"]["namespace"],
                    "labels": template["metadata"]["labels"],
                    "annotations": annotations,
                    "ownerReferences": [owner_ref(d)],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": selector,
                    "template": template,
                    "minReadySeconds": spec_of(d).get("minReadySeconds", 0),
                },
            },
        )

    def _scale(self, rs: Obj, replicas: int) -> Obj:
        before, after = _replicas(rs), max(0, replicas)
        if after != before:
            owner = self.cluster.store.find(
                DEPLOYMENT, rs["metadata"]["namespace"], (controller_of(rs) or {}).get("name", "")
            )
            if owner is not None:
                self.cluster.recorder.record(
                    owner,
                    "Normal",
                    "ScalingReplicaSet",
                    f"Scaled {'up' if after > before else 'down'} "
                    f"replica set {rs['metadata']['name']} to {after} from {before}",
                    "deployment-controller",
                    self.cluster.clock(),
                )
        return update_if_changed(
            self.cluster.store, REPLICASET, rs, lambda o: o["spec"].update(replicas=after)
        )


def _status(d: Obj, owned: list[Obj], new: Obj | None, now: float) -> None:
    want = replicas(d)
    count = {
        k: sum(int(rs.get("status", {}).get(k, 0)) for rs in owned)
        for k in ("replicas", "readyReplicas", "availableReplicas")
    }
    updated = int(new.get("status", {}).get("replicas", 0)) if new else 0
    status = d.setdefault("status", {})
    status.update(
        observedGeneration=d["metadata"].get("generation", 1),
        replicas=count["replicas"],
        updatedReplicas=updated,
        readyReplicas=count["readyReplicas"],
        availableReplicas=count["availableReplicas"],
        unavailableReplicas=max(0, want - count["availableReplicas"]),
    )
    for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
        if not status[key]:
            del status[key]
    if new is not None:
        d["metadata"].setdefault("annotations", {})[REVISION] = new["metadata"]["annotations"].get(
            REVISION, "1"
        )
    rolling = (spec_of(d).get("strategy") or {}).get("rollingUpdate") or {}
    max_unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), want, round_up=False)
    conditions = status.setdefault("conditions", [])
    if count["availableReplicas"] >= want - max_unavailable:
        set_condition(
            conditions,
            "Available",
            "True",
            now,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            update=True,
        )
    else:
        set_condition(
            conditions,
            "Available",
            "False",
            now,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            update=True,
        )
    name = new["metadata"]["name"] if new else d["metadata"]["name"]
    done = new is not None and updated == want == count["replicas"] and count["availableReplicas"] >= want
    set_condition(
        conditions,
        "Progressing",
        "True",
        now,
        "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
        f'ReplicaSet "{name}" has successfully progressed.'
        if done
        else f'ReplicaSet "{name}" is progressing.',
        update=True,
    )
