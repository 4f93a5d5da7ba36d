"""Taints and tolerations, matched as the scheduler and the taint manager match them."""

from __future__ import annotations

from typing import Any

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

Taint = dict[str, Any]
Toleration = dict[str, Any]


def tolerates(tol: Toleration, taint: Taint) -> bool:
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol["key"] == taint.get("key")
    return tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or "")


def untolerated(taints: list[Taint], tolerations: list[Toleration], effects: tuple[str, ...]) -> Taint | None:
    """The first taint with one of `effects` that no toleration matches."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def node_taints(node: dict[str, Any]) -> list[Taint]:
    return list(node.get("spec", {}).get("taints") or [])


def describe(taint: Taint) -> str:
    """How the scheduler names a taint in its messages: `{key: value}`."""
    return f"{{{taint.get('key', '')}: {taint.get('value', '')}}}"
