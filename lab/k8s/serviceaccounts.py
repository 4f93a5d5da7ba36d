"""TokenRequest (`POST .../serviceaccounts/NAME/token`, authentication.k8s.io/v1), and the lab's way
to hand a ServiceAccount's token to a test or a kubeconfig."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.k8s import tokens, validation
from lab.k8s.controllers.serviceaccounts import SA_NAME, SERVICE_ACCOUNT, TOKEN_TYPE, fill_token
from lab.k8s.errors import Conflict
from lab.k8s.http import Target, lab_of, read_object, respond
from lab.k8s.resources import BY_KIND, Resource
from lab.k8s.store import timestamp

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

Obj = dict[str, Any]
TOKEN_REQUEST = Resource("authentication.k8s.io", "v1", "token", "TokenRequest", True)
DEFAULT_SECONDS, MIN_SECONDS, MAX_SECONDS = 3600, 600, 2**32
BOUND_KINDS = {"Pod": BY_KIND["Pod"], "Secret": BY_KIND["Secret"]}


def _spec_causes(spec: Obj) -> list[tuple[str, str, str]]:
    seconds = spec["expirationSeconds"]
    if seconds < MIN_SECONDS:
        return [("spec.expirationSeconds", "FieldValueInvalid",
                 f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")]
    if seconds > MAX_SECONDS:
        return [("spec.expirationSeconds", "FieldValueInvalid",
                 f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds")]
    kind = (spec.get("boundObjectRef") or {}).get("kind")
    if spec.get("boundObjectRef") and kind not in BOUND_KINDS:
        return [("spec.boundObjectRef.kind", "FieldValueNotSupported",
                 f'Unsupported value: {json.dumps(kind or "")}: supported values: "Pod", "Secret"')]
    return []


def _bound(cluster: K8sCluster, namespace: str, ref: Obj | None) -> Obj | None:
    if not ref:
        return None
    res = BOUND_KINDS[ref["kind"]]
    obj = cluster.store.get(res, namespace, ref.get("name") or "")
    uid = obj["metadata"]["uid"]
    if ref.get("uid") and ref["uid"] != uid:
        raise Conflict(f"the UID in the bound object reference ({ref['uid']}) does not match the UID in "
                       "record. The object might have been deleted and then recreated")
    return {"kind": ref["kind"], "name": obj["metadata"]["name"], "uid": uid}


def create_token(cluster: K8sCluster, namespace: str, name: str, body: Obj) -> Obj:
    """create_namespaced_service_account_token: the TokenRequest answered, with its token."""
    sa = cluster.store.get(SERVICE_ACCOUNT, namespace, name)
    request = copy.deepcopy(body)
    spec = request.setdefault("spec", {}) or {}
    request["spec"] = spec
    spec["audiences"] = spec.get("audiences") or list(tokens.API_AUDIENCES)
    spec["expirationSeconds"] = spec.get("expirationSeconds") or DEFAULT_SECONDS
    spec.setdefault("boundObjectRef", None)
    if causes := _spec_causes(spec):
        raise validation.invalid(TOKEN_REQUEST, name, causes)
    now = cluster.clock()
    bound = _bound(cluster, namespace, spec["boundObjectRef"])
    seconds = spec["expirationSeconds"]
    token = tokens.bound_token(cluster.token_key, sa, spec["audiences"], now, seconds, bound)
    request.update(kind="TokenRequest", apiVersion="authentication.k8s.io/v1")
    request["metadata"] = {"name": name, "namespace": namespace, "creationTimestamp": None}
    request["status"] = {"token": token, "expirationTimestamp": timestamp(now + spec["expirationSeconds"])}
    return request


async def token(request: web.Request, t: Target) -> web.Response:
    assert t.name is not None
    body = await read_object(request, TOKEN_REQUEST)
    return respond(create_token(lab_of(request).k8s, t.namespace or "", t.name, body), 201)


def long_lived_token(cluster: K8sCluster, namespace: str, name: str) -> str:
    """A token that does not expire (a `service-account-token` Secret's, named NAME-token), creating the
    namespace and the ServiceAccount when missing: for a kubeconfig that must outlive lab hours."""
    store = cluster.store
    if store.find(BY_KIND["Namespace"], "", namespace) is None:
        cluster.create(BY_KIND["Namespace"], {"metadata": {"name": namespace}})
    sa = store.find(SERVICE_ACCOUNT, namespace, name) or store.create(
        SERVICE_ACCOUNT, {"metadata": {"name": name, "namespace": namespace}})
    secret_res, secret_name = BY_KIND["Secret"], f"{name}-token"
    secret = store.find(secret_res, namespace, secret_name)
    if secret is None:
        secret = {"metadata": {"name": secret_name, "namespace": namespace, "annotations": {SA_NAME: name}},
                  "type": TOKEN_TYPE}
        fill_token(cluster, secret, sa)
        secret = store.create(secret_res, secret)
    return tokens.decode_secret_token(secret)
