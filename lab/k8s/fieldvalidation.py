"""`fieldValidation=Ignore|Warn|Strict`: what the server does with unknown and duplicate fields.

Unknown fields are never saved. Under Warn (the server's default) each one becomes a `Warning:
299 - "unknown field \\"spec.x\\""` response header; under Strict the request fails with 400
`strict decoding error: ...`; under Ignore they go silently. The other write options checked
before a body (dryRun, fieldManager) live here too.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from lab.k8s.errors import BadRequest, Invalid

DIRECTIVES = ("Ignore", "Strict", "Warn")
WARNINGS_KEY = web.RequestKey("k8s_warnings", list)
_OPTIONS = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions",
            "DELETE": "DeleteOptions"}


def options_invalid(request: web.Request, field: str, reason: str, detail: str) -> Invalid:
    """422 on a query option, as the server validates CreateOptions/UpdateOptions/PatchOptions."""
    options = _OPTIONS.get(request.method, "CreateOptions")
    return Invalid(f'{options}.meta.k8s.io "" is invalid: {field}: {detail}', {
        "group": "meta.k8s.io", "kind": options, "causes": [{"reason": reason, "message": detail,
                                                              "field": field}]})


def check_dry_run(request: web.Request) -> None:
    for value in request.query.getall("dryRun", []):
        if value != "All":
            raise options_invalid(request, "dryRun", "FieldValueNotSupported",
                                  f'Unsupported value: {json.dumps(value)}: supported values: "All"')


def check_write_options(request: web.Request) -> None:
    """The options every write validates before its body: dryRun, fieldManager, fieldValidation."""
    check_dry_run(request)
    field_manager(request)
    directive(request)


def directive(request: web.Request) -> str:
    value = request.query.get("fieldValidation", "")
    if value not in ("", *DIRECTIVES):
        supported = ", ".join(json.dumps(v) for v in ("", *DIRECTIVES))
        raise options_invalid(request, "fieldValidation", "FieldValueNotSupported",
                              f"Unsupported value: {json.dumps(value)}: supported values: {supported}")
    return value or "Warn"


def report(request: web.Request, problems: list[str], prefix: str = "") -> None:
    """Unknown or duplicate fields (`unknown field "spec.x"`), as the request's directive wants."""
    how = directive(request)
    if not problems or how == "Ignore":
        return
    if how == "Strict":
        raise BadRequest(prefix + "strict decoding error: " + ", ".join(problems))
    request.setdefault(WARNINGS_KEY, []).extend(problems)  # type: ignore[arg-type]


def unknown(paths: list[str]) -> list[str]:
    return [f"unknown field {json.dumps(p)}" for p in paths]


def add_warnings(request: web.Request, response: web.StreamResponse) -> None:
    for text in request.get(WARNINGS_KEY, []):
        response.headers.add("Warning", "299 - " + json.dumps(text))


def loads(body: bytes | str) -> tuple[Any, list[str]]:
    """JSON as Go's strict decoder reads it: the value, and `duplicate field "spec.replicas"` for each
    key an object repeats (the last one wins, as in Go)."""
    repeated: dict[int, list[str]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                repeated.setdefault(id(out), []).append(k)
            out[k] = v
        return out
    value = json.loads(body, object_pairs_hook=hook)
    return value, (_duplicates(value, "", repeated) if repeated else [])


def _duplicates(obj: Any, where: str, repeated: dict[int, list[str]]) -> list[str]:
    found: list[str] = []
    if isinstance(obj, dict):
        found += [f"duplicate field {json.dumps(f'{where}.{k}' if where else k)}"
                  for k in repeated.get(id(obj), [])]
        for k, v in obj.items():
            found += _duplicates(v, f"{where}.{k}" if where else k, repeated)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _duplicates(v, f"{where}[{i}]", repeated)
    return found


def field_manager(request: web.Request) -> str:
    """The `fieldManager` option, else what the server takes from the User-Agent (up to its first `/`)."""
    sent = request.query.get("fieldManager")
    if sent is not None:
        if len(sent) > 128:
            raise options_invalid(request, "fieldManager", "FieldValueTooLong",
                                  "Too long: may not be more than 128 bytes")
        return sent
    agent = request.headers.get("User-Agent", "").split("/", 1)[0]
    return "".join(ch for ch in agent if ch.isprintable())[:128]
