"""What a request asks, read from its method and path as the API server's RequestInfoFactory does."""

from __future__ import annotations

from collections.abc import Mapping

from lab.k8s.rbac import Attributes

_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    parts = [p for p in path.strip("/").split("/") if p]
    grouped = bool(parts) and parts[0] == "apis"
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (grouped and len(parts) < 4):
        return Attributes(verb=method.lower(), resource_request=False, path=path)
    group = parts[1] if grouped else ""
    rest = parts[2:] if grouped else parts[1:]
    version, rest = rest[0], rest[1:]
    verb = _METHOD_VERBS.get(method, "")
    if rest[0] in ("watch", "proxy") and len(rest) > 1:  # the legacy /watch/... and /proxy/... forms
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch") in ("1", "true", "True") else "list"
        name = _exact_name(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, namespace=namespace, group=group, version=version, resource=resource,
                      subresource=subresource, name=name, path=path)


def _exact_name(selector: str) -> str:
    """A list or watch of one object by `metadata.name=X` is authorized as that object."""
    terms = selector.split(",") if selector else []
    if len(terms) == 1:
        key, _, value = terms[0].partition("==") if "==" in terms[0] else terms[0].partition("=")
        if key.strip() == "metadata.name" and not key.endswith("!") and value and "/" not in value:
            return value.strip()
    return ""
