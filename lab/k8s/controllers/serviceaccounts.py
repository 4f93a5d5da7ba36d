"""The ServiceAccount controller (a `default` ServiceAccount in every namespace) and the legacy token
controller (a `kubernetes.io/service-account-token` Secret gets its token, CA and namespace)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from lab.k8s import tokens
from lab.k8s.controllers.base import NAMESPACE, SECRET, deleting, update_if_changed
from lab.k8s.resources import BY_KIND
from lab.k8s.store import Obj

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

SERVICE_ACCOUNT = BY_KIND["ServiceAccount"]
TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME, SA_UID = "kubernetes.io/service-account.name", "kubernetes.io/service-account.uid"


class ServiceAccountsController:
    watches = frozenset({"Namespace", "ServiceAccount"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        for ns in store.list(NAMESPACE):
            name = ns["metadata"]["name"]
            if not deleting(ns) and store.find(SERVICE_ACCOUNT, name, "default") is None:
                store.create(SERVICE_ACCOUNT, {"metadata": {"name": "default", "namespace": name}})
        return None


def _b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


class TokensController:
    watches = frozenset({"Secret", "ServiceAccount"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        for secret in store.list(SECRET):
            if secret.get("type") != TOKEN_TYPE or deleting(secret):
                continue
            meta = secret["metadata"]
            annotations = meta.get("annotations") or {}
            sa = store.find(SERVICE_ACCOUNT, meta["namespace"], annotations.get(SA_NAME, ""))
            wanted_uid = annotations.get(SA_UID)
            if sa is None or (wanted_uid and wanted_uid != sa["metadata"]["uid"]):
                # its ServiceAccount is gone (or was replaced): the token controller deletes the Secret
                store.remove(SECRET, meta["namespace"], meta["name"])
                continue
            if not (secret.get("data") or {}).get("token"):
                update_if_changed(store, SECRET, secret, lambda s, sa=sa: fill_token(self.cluster, s, sa))
        return None


def fill_token(cluster: K8sCluster, secret: Obj, sa: Obj) -> None:
    """What the token controller writes into a token Secret, in place."""
    secret["metadata"].setdefault("annotations", {})[SA_UID] = sa["metadata"]["uid"]
    data = secret.setdefault("data", {})
    data["token"] = _b64(tokens.legacy_token(cluster.token_key, sa, secret["metadata"]["name"]))
    data["namespace"] = _b64(sa["metadata"]["namespace"])
    data["ca.crt"] = _b64(cluster.ca_pem)
