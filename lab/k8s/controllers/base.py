"""What every controller shares: the kinds it touches, time stamps, conditions, quantities, names."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any

from lab.k8s.crds import known
from lab.k8s.resources import BY_KIND
from lab.k8s.selectors import selector_matches
from lab.k8s.store import Obj, Store, timestamp

NODE, POD, NAMESPACE, LEASE = BY_KIND["Node"], BY_KIND["Pod"], BY_KIND["Namespace"], BY_KIND["Lease"]
DEPLOYMENT, REPLICASET = BY_KIND["Deployment"], BY_KIND["ReplicaSet"]
STATEFULSET, DAEMONSET = BY_KIND["StatefulSet"], BY_KIND["DaemonSet"]
PDB, PVC, PV = BY_KIND["PodDisruptionBudget"], BY_KIND["PersistentVolumeClaim"], BY_KIND["PersistentVolume"]
VOLUMEATTACHMENT, SERVICE, SECRET = BY_KIND["VolumeAttachment"], BY_KIND["Service"], BY_KIND["Secret"]
HELMCHART, HELMCHARTCONFIG = known("HelmChart"), known("HelmChartConfig")
JOB, CONFIGMAP = BY_KIND["Job"], BY_KIND["ConfigMap"]

# rand.SafeEncodeString's alphabet: no vowels, no look-alike digits (names like web-7d9f8b6c5d-x2kq4)
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

# what a subresource POST (eviction, binding) answers with
STATUS_SUCCESS: dict[str, Any] = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Success",
    "code": 201,
}

__all__ = ["Obj", "Store", "timestamp"]


def micro_timestamp(now: float) -> str:
    """MicroTime, as Leases and Events carry it."""
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def safe_encode(text: str, length: int | None = None) -> str:
    out = "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in text.encode())
    return out[:length] if length else out


def template_hash(template: Any) -> str:
    """Like ComputeHash: a uint32 of the template, its decimal digits safe-encoded ("7d9f8b6c5d")."""
    digest = hashlib.sha256(repr(_canonical(template)).encode()).digest()
    return safe_encode(str(int.from_bytes(digest[:4], "big")))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_canonical(v) for v in value)
    return value


class Names:
    """Deterministic random-looking suffixes (a counter hashed), so runs repeat exactly."""

    def __init__(self) -> None:
        self._n = 0

    def suffix(self, seed: str, length: int = 5) -> str:
        self._n += 1
        digest = hashlib.sha256(f"{seed}:{self._n}".encode()).digest()
        return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in digest[:length])

    def uid_like(self, seed: str) -> str:
        self._n += 1
        h = hashlib.sha256(f"{seed}:{self._n}".encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def ensure_namespace(store: Store, name: str) -> None:
    if store.find(NAMESPACE, "", name) is None:
        store.create(
            NAMESPACE,
            {
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )


def update_if_changed(store: Store, res: Any, obj: Obj, fn: Callable[[Obj], None]) -> Obj:
    """Apply `fn` to a copy and write it only when something changed (every write wakes watchers)."""
    new = copy.deepcopy(obj)
    fn(new)
    if new == obj:
        return obj
    return store.update(res, new, check_rv=False)


def spec_of(obj: Obj) -> dict[str, Any]:
    """An object's spec to read; one created without any reads as empty."""
    return obj.get("spec") or {}


def replicas(obj: Obj, default: int = 1) -> int:
    """spec.replicas as a count; an unreadable one counts as the default."""
    value = spec_of(obj).get("replicas")
    try:
        return max(0, int(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


def selects(selector: Any, labels: dict[str, str] | None) -> bool:
    """A LabelSelector match; one the API server would have refused selects nothing."""
    try:
        return selector_matches(selector, labels)
    except (KeyError, TypeError, AttributeError):
        return False


def condition(obj: Obj, kind: str) -> dict[str, Any] | None:
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == kind), None)


def set_condition(
    conditions: list[dict[str, Any]],
    kind: str,
    status: str,
    now: float,
    reason: str | None = None,
    message: str | None = None,
    heartbeat: bool = False,
    probe: bool = False,
    update: bool = False,
) -> None:
    """Set one condition in place; lastTransitionTime moves only when the status changes.

    `update` keeps a Deployment-style lastUpdateTime, moved whenever anything changes.
    """
    cond = next((c for c in conditions if c.get("type") == kind), None)
    if cond is None:
        cond = {"type": kind}
        conditions.append(cond)
    if update and (cond.get("status"), cond.get("reason"), cond.get("message")) != (status, reason, message):
        cond["lastUpdateTime"] = timestamp(now)
    if cond.get("status") != status or "lastTransitionTime" not in cond:
        cond["lastTransitionTime"] = timestamp(now)
    cond["status"] = status
    if heartbeat:
        cond["lastHeartbeatTime"] = timestamp(now)
    if probe:
        cond["lastProbeTime"] = None
    for key, value in (("reason", reason), ("message", message)):
        if value is None:
            cond.pop(key, None)
        else:
            cond[key] = value


def owner_ref(owner: Obj, controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == owner["metadata"]["uid"]


def deleting(obj: Obj) -> bool:
    return "deletionTimestamp" in obj["metadata"]


def pod_active(pod: Obj) -> bool:
    """Counts towards a controller's replicas: not terminating and not finished."""
    return not deleting(pod) and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def condition_true(obj: Obj, kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def pod_ready(pod: Obj) -> bool:
    return condition_true(pod, "Ready")


def pod_restarts(pod: Obj) -> int:
    """The restarts of all its containers, as `kubectl get pods` counts them."""
    return sum(int(cs.get("restartCount", 0)) for cs in pod.get("status", {}).get("containerStatuses") or [])


def node_ready(node: Obj) -> bool:
    return condition_true(node, "Ready")


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return int(-(-exact // 1)) if round_up else int(exact)
    return int(value or 0)


_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(text: Any) -> float:
    """A resource.Quantity ("250m", "1.5Gi", 2) in base units; unreadable ones count as 0."""
    m = _QUANTITY.match(str(text).strip()) if text is not None else None
    if not m or m.group(2) not in _SUFFIX:
        return 0.0
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def pod_requests(pod: Obj) -> tuple[float, float]:
    """Summed container requests (cpu cores, memory bytes)."""
    cpu = mem = 0.0
    for c in pod.get("spec", {}).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += quantity(req.get("cpu", 0))
        mem += quantity(req.get("memory", 0))
    return cpu, mem


def pvc_names(pod: Obj) -> list[str]:
    return [
        v["persistentVolumeClaim"]["claimName"]
        for v in spec_of(pod).get("volumes") or []
        if isinstance(v, dict)
        and isinstance(v.get("persistentVolumeClaim"), dict)
        and v["persistentVolumeClaim"].get("claimName")
    ]


def earliest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None
