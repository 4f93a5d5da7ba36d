"""Domain errors of the Kubernetes model, each with the `Status` reason and code it becomes."""

from __future__ import annotations

from typing import Any


class K8sError(Exception):
    reason = "InternalError"
    code = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure", "message": self.message,
                                "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def qualified(resource: str, group: str) -> str:
    """`deployments.apps`, as the server names a resource in messages; core ones stand alone."""
    return f"{resource}.{group}" if group else resource


def object_details(resource: str, name: str, group: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        d["group"] = group
    return d


class NotFound(K8sError):
    reason, code = "NotFound", 404

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> NotFound:
        return cls(f'{qualified(resource, group)} "{name}" not found', object_details(resource, name, group))


class AlreadyExists(K8sError):
    reason, code = "AlreadyExists", 409

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> AlreadyExists:
        return cls(f'{qualified(resource, group)} "{name}" already exists',
                   object_details(resource, name, group))


class Conflict(K8sError):
    reason, code = "Conflict", 409

    @classmethod
    def stale(cls, resource: str, name: str, group: str = "") -> Conflict:
        return cls(f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": '
                   "the object has been modified; please apply your changes to the latest version and "
                   "try again",
                   object_details(resource, name, group))

    @classmethod
    def precondition(cls, resource: str, name: str, group: str, field: str, wanted: Any,
                     actual: Any) -> Conflict:
        """A delete whose `preconditions` (UID, ResourceVersion) the object no longer meets."""
        return cls(f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": '
                   f"Precondition failed: {field} in precondition: {wanted}, "
                   f"{field} in object meta: {actual}",
                   object_details(resource, name, group))


class Invalid(K8sError):
    reason, code = "Invalid", 422


class BadRequest(K8sError):
    reason, code = "BadRequest", 400


class Gone(K8sError):
    reason, code = "Expired", 410


class TooManyRequests(K8sError):
    reason, code = "TooManyRequests", 429


class MethodNotAllowed(K8sError):
    reason, code = "MethodNotAllowed", 405


class Unauthorized(K8sError):
    reason, code = "Unauthorized", 401


class Forbidden(K8sError):
    reason, code = "Forbidden", 403


class UnsupportedMediaType(K8sError):
    reason, code = "UnsupportedMediaType", 415


class Timeout(K8sError):
    reason, code = "Timeout", 504


def no_such_resource() -> NotFound:
    """A path the API server does not serve (unknown group, version or resource)."""
    return NotFound("the server could not find the requested resource")
