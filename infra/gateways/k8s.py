"""Kubernetes through the official client: kubeconfig, or the in-cluster service account.

Lists come back as the API's JSON (dicts, camelCase) without the client's model
deserialization, which is slow for tens of thousands of pods; the topology parsers read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from infra.errors import Blocked, Conflict, GatewayError, NotFound, Unavailable, cause
from infra.gateways._calls import Caller
from infra.gateways.k8s_models import NodeInfo, ObjectInfo

SYSTEM = "k8s"
Json = dict[str, Any]
CONFLICT_ATTEMPTS = 8  # read-modify-write again after a 409, as client-go's RetryOnConflict does


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, AttributeError):
        return str(exc.reason)


HINTS = {401: "the credentials in kubernetes.kubeconfig (a token or client certificate it accepts)",
         403: "the RBAC of the identity in kubernetes.kubeconfig"}
UNREACHABLE = "the server in kubernetes.kubeconfig and that the API server is up and reachable"
TLS = "the certificate-authority of kubernetes.kubeconfig"


def translate(exc: Exception) -> GatewayError:
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        kind = {404: NotFound, 409: Conflict, 410: Conflict, 429: Blocked}.get(status)
        if kind is None:
            kind = Unavailable if status >= 500 or status == 0 else GatewayError
        return kind(SYSTEM, _message(exc), status or None, hint=HINTS.get(status))
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
            return GatewayError(SYSTEM, f"TLS verification failed ({cause(reason)})", hint=TLS)
        return Unavailable(SYSTEM, f"no answer ({cause(reason)})", hint=UNREACHABLE)
    return GatewayError(SYSTEM, f"{type(exc).__name__}: {exc}")


def _json(response: Any) -> Json:
    return json.loads(response.data)


def object_path(api_version: str, plural: str, namespace: str | None, name: str | None = None) -> str:
    """`/api/v1/namespaces/NS/pods/NAME`, `/apis/GROUP/VERSION/PLURAL` (cluster-scoped, or a list)."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{where}/{plural}" + (f"/{name}" if name else "")


class K8sGateway:
    def __init__(self, kubeconfig: Path | str | None = None, context: str | None = None) -> None:
        try:
            if kubeconfig:
                api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
            else:
                config.load_incluster_config()
                api = client.ApiClient()
        except Exception as exc:  # the loader also fails with TypeError/KeyError on a malformed file
            raise GatewayError(SYSTEM, f"cannot load the client configuration: {exc}") from exc
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.policy = client.PolicyV1Api(api)
        self.coordination = client.CoordinationV1Api(api)
        self.authorization = client.AuthorizationV1Api(api)
        self.caller = Caller(SYSTEM, translate, url=api.configuration.host)

    @property
    def calls(self) -> int:
        return self.caller.total

    # -- reads (raw JSON lists)
    async def version(self) -> Json:
        """The API server's version: the cheapest call that proves it answers us."""
        return await self.caller.read("version", lambda: _json(
            client.VersionApi(self.api).get_code(_preload_content=False)))

    async def list_nodes(self) -> list[Json]:
        return (await self.caller.read("list nodes", lambda: _json(
            self.core.list_node(_preload_content=False))))["items"]

    async def list_nodes_at(self) -> tuple[list[Json], str]:
        """The nodes and the list's resourceVersion, where a watch starts so that it misses nothing."""
        body = await self.caller.read("list nodes", lambda: _json(
            self.core.list_node(_preload_content=False)))
        return body["items"], str(body["metadata"].get("resourceVersion") or "")

    async def get_node(self, name: str) -> Json:
        return await self.caller.read("get node", lambda: _json(
            self.core.read_node(name, _preload_content=False)))

    async def node_info(self, name: str) -> NodeInfo:
        return NodeInfo.of(await self.get_node(name))

    async def nodes(self) -> list[NodeInfo]:
        return [NodeInfo.of(n) for n in await self.list_nodes()]

    async def list_pods(self, node: str | None = None) -> list[Json]:
        selector = f"spec.nodeName={node}" if node else None
        return (await self.caller.read("list pods", lambda: _json(self.core.list_pod_for_all_namespaces(
            field_selector=selector, _preload_content=False))))["items"]

    async def list_replicasets(self) -> list[Json]:
        return (await self.caller.read("list replicasets", lambda: _json(
            self.apps.list_replica_set_for_all_namespaces(_preload_content=False))))["items"]

    async def list_pdbs(self) -> list[Json]:
        return (await self.caller.read("list pdbs", lambda: _json(
            self.policy.list_pod_disruption_budget_for_all_namespaces(_preload_content=False))))["items"]

    async def can_i(self, verb: str, resource: str, subresource: str = "", group: str = "",
                    namespace: str = "", name: str = "") -> bool | None:
        """A SelfSubjectAccessReview (`kubectl auth can-i`); None when it cannot tell (the server does
        not serve reviews, or this identity may not ask). With a name, a rule limited to resourceNames
        can answer yes."""
        # a plain dict: the client serializes it as is (its stubs ask for the model class)
        body: Any = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                                "subresource": subresource, "namespace": namespace,
                                                "name": name}}}
        try:
            review = await self.caller.write("access review", lambda: _json(
                self.authorization.create_self_subject_access_review(body, _preload_content=False)))
        except GatewayError as exc:
            if isinstance(exc, NotFound) or exc.status == 403:
                return None
            raise
        return bool((review.get("status") or {}).get("allowed"))

    # -- node changes (merge patches: they touch only the fields named)
    async def patch_node(self, name: str, patch: Json) -> None:
        await self.caller.write("patch node", lambda: self.core.patch_node(
            name, patch, _content_type="application/merge-patch+json", _preload_content=False))

    async def cordon(self, name: str, on: bool = True) -> None:
        await self.patch_node(name, {"spec": {"unschedulable": True if on else None}})

    async def set_labels(self, name: str, labels: dict[str, str | None]) -> None:
        """Set labels; a None value removes the label."""
        await self.patch_node(name, {"metadata": {"labels": labels}})

    async def set_annotations(self, name: str, annotations: dict[str, str | None]) -> None:
        await self.patch_node(name, {"metadata": {"annotations": annotations}})

    async def set_taint(self, name: str, key: str, effect: str, value: str | None = None,
                        present: bool = True) -> None:
        """Add (or remove) one taint, keeping the others. The whole list is replaced on write, so
        the write is conditional on the node's resourceVersion, read again after a conflict."""
        async for attempt in AsyncRetrying(retry=retry_if_exception_type(Conflict), reraise=True,
                                           stop=stop_after_attempt(CONFLICT_ATTEMPTS),
                                           wait=wait_random_exponential(multiplier=0.05, max=1)):
            with attempt:
                node = await self.get_node(name)
                taints = [t for t in node.get("spec", {}).get("taints") or [] if t.get("key") != key
                          or t.get("effect") != effect]
                if present:
                    taint: Json = {"key": key, "effect": effect}
                    if value is not None:
                        taint["value"] = value
                    taints.append(taint)
                patch = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                         "spec": {"taints": taints or None}}
                await self.patch_node(name, patch)

    # -- pods
    async def evict(self, namespace: str, name: str) -> None:
        """POST .../pods/NAME/eviction; Blocked (429) while a PDB forbids it, NotFound if gone."""
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))
        await self.caller.write("evict pod", lambda: self.core.create_namespaced_pod_eviction(
            name, namespace, body, _preload_content=False))

    # -- watch: the blocking stream runs in a thread and feeds a queue
    async def watch_nodes(self, resource_version: str | None = None,
                          timeout_seconds: int = 300) -> AsyncIterator[tuple[str, Json]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Json] | BaseException | None] = asyncio.Queue()
        w = watch.Watch()

        def pump() -> None:
            try:
                for event in w.stream(self.core.list_node, resource_version=resource_version,
                                      timeout_seconds=timeout_seconds, _preload_content=False):
                    raw = event.get("raw_object") or {}
                    loop.call_soon_threadsafe(queue.put_nowait, (event["type"], raw))
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except Exception as exc:
                with contextlib.suppress(RuntimeError):  # the loop closed (serve stopping): nobody waits
                    loop.call_soon_threadsafe(queue.put_nowait, translate(exc))

        threading.Thread(target=pump, daemon=True, name="k8s-node-watch").start()
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            w.stop()

    # -- any kind, by its path (custom resources included): server-side apply and reads
    async def apply(self, obj: Json, plural: str, field_manager: str, force: bool = True) -> ObjectInfo:
        """Server-side apply (`kubectl apply --server-side`): `field_manager` owns what `obj` names;
        `force` takes fields another manager set (an installer declares its objects whole)."""
        meta = obj["metadata"]
        path = object_path(obj["apiVersion"], plural, meta.get("namespace"), meta["name"])
        query = [("fieldManager", field_manager), ("force", "true" if force else "false")]
        return ObjectInfo.of(await self.caller.write(f"apply {obj['kind']}", lambda: self._call(
            "PATCH", path, query, json.dumps(obj), "application/apply-patch+yaml")))

    async def get_object(self, api_version: str, plural: str, namespace: str | None,
                         name: str) -> ObjectInfo | None:
        try:
            return ObjectInfo.of(await self.caller.read(f"get {plural}", lambda: self._call(
                "GET", object_path(api_version, plural, namespace, name))))
        except NotFound:
            return None

    async def list_objects(self, api_version: str, plural: str,
                           namespace: str | None = None) -> list[ObjectInfo]:
        """Every object of a kind; an empty list when the kind is not served (its CRD not there yet)."""
        try:
            found = await self.caller.read(f"list {plural}", lambda: self._call(
                "GET", object_path(api_version, plural, namespace)))
        except NotFound:
            return []
        kind = str(found.get("kind", "")).removesuffix("List")  # items of a list carry no kind
        return [ObjectInfo.of({"kind": kind, **item}) for item in found.get("items") or []]

    async def pod_failure(self, namespace: str, selector: str) -> str | None:
        """Why a pod matching `selector` failed (a Job's pod that exited non-zero, or restarted after
        doing so): the last line it printed; None while none has failed."""
        pods = (await self.caller.read("list pods", lambda: _json(self.core.list_namespaced_pod(
            namespace, label_selector=selector, _preload_content=False))))["items"]
        for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "", reverse=True):
            statuses = pod.get("status", {}).get("containerStatuses") or []
            restarted = any(c.get("restartCount") for c in statuses)
            if not restarted and pod.get("status", {}).get("phase") != "Failed":
                continue
            name = pod["metadata"]["name"]
            try:
                text = await self.caller.read("read log", lambda n=name, r=restarted: (  # type: ignore[misc]
                    self.core.read_namespaced_pod_log(n, namespace, tail_lines=1, previous=r)))
            except GatewayError:
                text = ""
            return str(text).strip() or f"pod {name} failed"
        return None

    def _call(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
              body: str | None = None, content_type: str = "application/json") -> Json:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                           body=body, auth_settings=["BearerToken"])
        response = self.api.call_api(*request)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=response.data.decode(), data=None)
        return _json(response)

    # -- ConfigMaps: the `kubernetes` journal's records (raw JSON; writes are conditional on resourceVersion)
    async def get_configmap(self, namespace: str, name: str) -> Json | None:
        try:
            return await self.caller.read("get configmap", lambda: _json(
                self.core.read_namespaced_config_map(name, namespace, _preload_content=False)))
        except NotFound:
            return None

    async def list_configmaps(self, namespace: str, selector: str) -> list[Json]:
        return (await self.caller.read("list configmaps", lambda: _json(self.core.list_namespaced_config_map(
            namespace, label_selector=selector, _preload_content=False))))["items"]

    async def create_configmap(self, namespace: str, body: Any) -> Json:
        """Conflict when the name is taken."""
        return await self.caller.write("create configmap", lambda: _json(
            self.core.create_namespaced_config_map(namespace, body, _preload_content=False)))

    async def replace_configmap(self, namespace: str, body: Any) -> Json:
        """PUT at the body's `metadata.resourceVersion`: Conflict when another writer came first."""
        name = body["metadata"]["name"]
        return await self.caller.write("replace configmap", lambda: _json(
            self.core.replace_namespaced_config_map(name, namespace, body, _preload_content=False)))

    async def delete_configmap(self, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            await self.caller.write("delete configmap", lambda: self.core.delete_namespaced_config_map(
                name, namespace, _preload_content=False))

    # -- Leases (coordination.k8s.io/v1), for leader election: times in the spec as datetimes
    async def get_lease(self, namespace: str, name: str) -> Json | None:
        try:
            return await self.caller.read("get lease", lambda: _json(
                self.coordination.read_namespaced_lease(name, namespace, _preload_content=False)))
        except NotFound:
            return None

    async def create_lease(self, namespace: str, name: str, spec: Json) -> Json:
        """Conflict (409 AlreadyExists) when another replica created it first."""
        body: Any = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": namespace}, "spec": _sendable(spec)}
        return await self.caller.write("create lease", lambda: _json(
            self.coordination.create_namespaced_lease(namespace, body, _preload_content=False)))

    async def replace_lease(self, namespace: str, name: str, spec: Json, resource_version: str) -> Json:
        """Write the Lease at `resource_version`: Conflict when another replica wrote it meanwhile."""
        body: Any = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": namespace, "resourceVersion": resource_version},
                     "spec": _sendable(spec)}
        return await self.caller.write("replace lease", lambda: _json(
            self.coordination.replace_namespaced_lease(name, namespace, body, _preload_content=False)))


def _sendable(spec: Json) -> Json:
    """The client's models (pydantic) parse every MicroTime into a datetime and send `isoformat()`, which
    drops a zero fraction that the API server's RFC3339Micro layout requires: such a time goes one
    microsecond later (a time read back from the server, a string, too)."""
    def sent(key: str, value: Any) -> Any:
        if key in ("acquireTime", "renewTime") and isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        whole = isinstance(value, datetime) and not value.microsecond
        return value.replace(microsecond=1) if whole else value
    return {key: sent(key, value) for key, value in spec.items()}
