"""The ClusterRole aggregation controller: a ClusterRole with an aggregationRule gets, as its rules,
the rules of every ClusterRole its selectors match (how `view`, `edit` and `admin` grow)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import update_if_changed
from lab.k8s.resources import BY_KIND
from lab.k8s.selectors import selector_matches
from lab.k8s.store import Obj

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

CLUSTERROLE = BY_KIND["ClusterRole"]


def _matches(selectors: list[Obj], role: Obj) -> bool:
    labels = role["metadata"].get("labels") or {}
    for selector in selectors:
        try:
            if isinstance(selector, dict) and selector_matches(selector, labels):
                return True
        except (KeyError, TypeError, AttributeError):  # a selector validation let through: matches nothing
            continue
    return False


class ClusterRoleAggregation:
    watches = frozenset({"ClusterRole"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        roles = store.list(CLUSTERROLE)
        for role in roles:
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors")
            if not isinstance(selectors, list):
                continue
            rules: list[Obj] = []
            for other in roles:
                if other is not role and _matches(selectors, other):
                    rules += [r for r in other.get("rules") or [] if r not in rules]
            update_if_changed(store, CLUSTERROLE, role, lambda r, rules=rules: r.__setitem__("rules", rules))
        return None
