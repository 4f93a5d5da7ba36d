"""Server-side printing: the `Table` kubectl asks for (`Accept: ...;as=Table;g=meta.k8s.io;v=v1`).

Columns follow the API server's printers for the kinds an operator looks at (nodes, pods,
deployments); every other kind gets Name and Age, as a CRD without printer columns does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lab.k8s import conversion
from lab.k8s.controllers.base import condition, condition_true, parse_time, pod_restarts
from lab.k8s.resources import Resource

Obj = dict[str, Any]
ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                "ReadWriteOncePod": "RWOP"}
Column = tuple[str, str, int, Callable[[Obj, float], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: 42s, 5m10s, 3h20m, 2d4h, 400d."""
    s = int(seconds)
    if s < 0:
        return "<invalid>" if s < -1 else "0s"
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 2920 and d % 365 else f"{d // 365}y"


def _age(obj: Obj, now: float) -> str:
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(now - created)


def _name(obj: Obj, now: float) -> str:
    return obj["metadata"]["name"]


def _node_status(obj: Obj, now: float) -> str:
    ready = condition(obj, "Ready")
    status = ("Ready" if ready["status"] == "True" else "NotReady") if ready else "Unknown"
    if ready and ready["status"] == "Unknown":
        status = "NotReady"
    return status + (",SchedulingDisabled" if obj.get("spec", {}).get("unschedulable") else "")


def _node_roles(obj: Obj, now: float) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in obj["metadata"].get("labels") or {} if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _node_address(kind: str) -> Callable[[Obj, float], str]:
    def cell(obj: Obj, now: float) -> str:
        return next((a["address"] for a in obj.get("status", {}).get("addresses") or [] if a["type"] == kind),
                    "<none>")
    return cell


def _pod_ready(obj: Obj, now: float) -> str:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    return f"{sum(1 for c in statuses if c.get('ready'))}/{len(obj.get('spec', {}).get('containers') or [])}"


def _pod_status(obj: Obj, now: float) -> str:
    if "deletionTimestamp" in obj["metadata"]:
        return "Terminating"
    status = obj.get("status", {})
    for c in status.get("containerStatuses") or []:
        state = c.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            return waiting["reason"]
        if terminated:  # a finished container: Completed, Error, or its exit code
            return terminated.get("reason") or f"ExitCode:{terminated.get('exitCode', 0)}"
    return status.get("reason") or status.get("phase") or "Unknown"


def _restarts(obj: Obj, now: float) -> int:
    return pod_restarts(obj)


def _path(*keys: str, default: Any = "<none>") -> Callable[[Obj, float], Any]:
    def cell(obj: Obj, now: float) -> Any:
        value: Any = obj
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        return default if value is None else value
    return cell


def _ready_of_desired(obj: Obj, now: float) -> str:
    return f"{obj.get('status', {}).get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 0)}"


def _external_ips(obj: Obj, now: float) -> str:
    ingress = obj.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    return ",".join(i.get("ip", "") for i in ingress) or "<none>"


def _ports(obj: Obj, now: float) -> str:
    ports = obj.get("spec", {}).get("ports") or []
    return ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _endpoints(obj: Obj, now: float) -> str:
    """kubectl's formatEndpoints: the first three ready address:port pairs, then how many more."""
    subsets = obj.get("subsets") or []
    if not subsets:
        return "<none>"
    pairs = [f"{a.get('ip')}:{p.get('port')}" if p else str(a.get("ip"))
             for s in subsets for p in (s.get("ports") or [None]) for a in s.get("addresses") or []]
    return ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")


def _node_selector(obj: Obj, now: float) -> str:
    selector = obj.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
    return ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>"


def _access_modes(obj: Obj, now: float) -> str:
    return ",".join(ACCESS_MODES.get(m, m) for m in obj.get("spec", {}).get("accessModes") or [])


def _claim(obj: Obj, now: float) -> str:
    ref = obj.get("spec", {}).get("claimRef") or {}
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""


def _event_last_seen(obj: Obj, now: float) -> str:
    seen = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    return _age({"metadata": {"creationTimestamp": seen}}, now)


def _event_object(obj: Obj, now: float) -> str:
    ref = obj.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _job_status(obj: Obj, now: float) -> str:
    """The job printer's Status: its terminal condition, else what it is doing."""
    if "deletionTimestamp" in obj["metadata"]:
        return "Terminating"
    kinds = ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget", "Suspended")
    return next((kind for kind in kinds if condition_true(obj, kind)), "Running")


def _job_completions(obj: Obj, now: float) -> str:
    spec, succeeded = obj.get("spec") or {}, (obj.get("status") or {}).get("succeeded", 0)
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 1
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(obj: Obj, now: float) -> str:
    status = obj.get("status") or {}
    start = parse_time(status.get("startTime"))
    if start is None:
        return ""
    return human_duration((parse_time(status.get("completionTime")) or now) - start)


def _containers(field: str) -> Callable[[Obj, float], str]:
    def cell(obj: Obj, now: float) -> str:
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        return ",".join(str(c.get(field, "")) for c in spec.get("containers") or [])
    return cell


def _selector(obj: Obj, now: float) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"


def _ingress_hosts(obj: Obj, now: float) -> str:
    hosts = [r.get("host") for r in (obj.get("spec") or {}).get("rules") or [] if r.get("host")]
    return ",".join(hosts) or "*"


def _ingress_address(obj: Obj, now: float) -> str:
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)


def _ingress_ports(obj: Obj, now: float) -> str:
    return "80, 443" if (obj.get("spec") or {}).get("tls") else "80"


def _storage_class_name(obj: Obj, now: float) -> str:
    annotations = obj["metadata"].get("annotations") or {}
    default = annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
    return obj["metadata"]["name"] + (" (default)" if default else "")


def _slice_ports(obj: Obj, now: float) -> str:
    return ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"


def _slice_endpoints(obj: Obj, now: float) -> str:
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    more = f" + {len(addresses) - 3} more..." if len(addresses) > 3 else ""
    return ",".join(addresses[:3]) + more if addresses else "<unset>"


def _text(title: str, cell: Callable[[Obj, float], Any], priority: int = 0) -> Column:
    return (title, "string", priority, cell)


def _count(title: str, *path: str) -> Column:
    return (title, "integer", 0, _path(*path, default=0))


NAME, AGE = _text("Name", _name), _text("Age", _age)
_DAEMONSET_COUNTS = (("Desired", "desiredNumberScheduled"), ("Current", "currentNumberScheduled"),
                     ("Ready", "numberReady"), ("Up-to-date", "updatedNumberScheduled"),
                     ("Available", "numberAvailable"))
_NODE_INFO = (("OS-Image", "osImage"), ("Kernel-Version", "kernelVersion"),
              ("Container-Runtime", "containerRuntimeVersion"))
CREATED_AT: Column = ("Created At", "date", 0, _path("metadata", "creationTimestamp"))


def _subjects(kind: str) -> Callable[[Obj, float], str]:
    def cell(obj: Obj, now: float) -> str:
        subjects = [s for s in obj.get("subjects") or [] if isinstance(s, dict) and s.get("kind") == kind]
        if kind == "ServiceAccount":  # namespace/name
            return ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects)
        return ", ".join(str(s.get("name", "")) for s in subjects)
    return cell


_BINDING = [NAME, _text("Role", lambda o, n: f"{(o.get('roleRef') or {}).get('kind')}/"
                                             f"{(o.get('roleRef') or {}).get('name')}"), AGE,
            _text("Users", _subjects("User"), 1), _text("Groups", _subjects("Group"), 1),
            _text("ServiceAccounts", _subjects("ServiceAccount"), 1)]
COLUMNS: dict[str, list[Column]] = {
    "Node": [NAME, _text("Status", _node_status), _text("Roles", _node_roles), AGE,
             _text("Version", _path("status", "nodeInfo", "kubeletVersion")),
             _text("Internal-IP", _node_address("InternalIP"), 1),
             _text("External-IP", _node_address("ExternalIP"), 1),
             *(_text(title, _path("status", "nodeInfo", key, default="<unknown>"), 1)
               for title, key in _NODE_INFO)],
    "Pod": [NAME, _text("Ready", _pod_ready), _text("Status", _pod_status), _text("Restarts", _restarts), AGE,
            _text("IP", _path("status", "podIP"), 1), _text("Node", _path("spec", "nodeName"), 1),
            _text("Nominated Node", _path("status", "nominatedNodeName"), 1),
            _text("Readiness Gates", lambda o, n: "<none>", 1)],
    "Deployment": [NAME, _text("Ready", _ready_of_desired), _count("Up-to-date", "status", "updatedReplicas"),
                   _count("Available", "status", "availableReplicas"), AGE],
    "ReplicaSet": [NAME, _count("Desired", "spec", "replicas"), _count("Current", "status", "replicas"),
                   _count("Ready", "status", "readyReplicas"), AGE],
    "StatefulSet": [NAME, _text("Ready", _ready_of_desired), AGE],
    "DaemonSet": [NAME, *(_count(title, "status", key) for title, key in _DAEMONSET_COUNTS),
                  _text("Node Selector", _node_selector), AGE],
    "Namespace": [NAME, _text("Status", _path("status", "phase")), AGE],
    "Service": [NAME, _text("Type", _path("spec", "type")), _text("Cluster-IP", _path("spec", "clusterIP")),
                _text("External-IP", _external_ips), _text("Port(s)", _ports), AGE],
    "PodDisruptionBudget": [NAME, _text("Min Available", _path("spec", "minAvailable", default="N/A")),
                            _text("Max Unavailable", _path("spec", "maxUnavailable", default="N/A")),
                            _count("Allowed Disruptions", "status", "disruptionsAllowed"), AGE],
    "PersistentVolume": [NAME, _text("Capacity", _path("spec", "capacity", "storage", default="")),
                         _text("Access Modes", _access_modes),
                         _text("Reclaim Policy", _path("spec", "persistentVolumeReclaimPolicy", default="")),
                         _text("Status", _path("status", "phase", default="")), _text("Claim", _claim),
                         _text("StorageClass", _path("spec", "storageClassName", default="")),
                         _text("VolumeAttributesClass", _path("spec", "volumeAttributesClassName")),
                         _text("Reason", _path("status", "reason", default="")), AGE],
    "VolumeAttachment": [NAME, _text("Attacher", _path("spec", "attacher", default="")),
                         _text("PV", _path("spec", "source", "persistentVolumeName", default="")),
                         _text("Node", _path("spec", "nodeName", default="")),
                         ("Attached", "boolean", 0, _path("status", "attached", default=False)), AGE],
    "PersistentVolumeClaim": [NAME, _text("Status", _path("status", "phase")),
                              _text("Volume", _path("spec", "volumeName", default="")),
                              _text("Capacity", _path("status", "capacity", "storage", default="")),
                              _text("Access Modes", _access_modes),
                              _text("StorageClass", _path("spec", "storageClassName", default="")), AGE],
    "Event": [_text("Last Seen", _event_last_seen), _text("Type", _path("type", default="")),
              _text("Reason", _path("reason", default="")), _text("Object", _event_object),
              _text("Message", _path("message", default="")),
              ("Count", "integer", 1, _path("count", default=1)), _text("Name", _name, 1)],
    "CustomResourceDefinition": [NAME, CREATED_AT],
    "Endpoints": [NAME, _text("Endpoints", _endpoints), AGE],
    "Lease": [NAME, _text("Holder", _path("spec", "holderIdentity", default="")), AGE],
    "ServiceAccount": [NAME, ("Secrets", "integer", 0, lambda o, n: len(o.get("secrets") or [])), AGE],
    "Role": [NAME, CREATED_AT],
    "ClusterRole": [NAME, CREATED_AT],
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "Job": [NAME, _text("Status", _job_status), _text("Completions", _job_completions),
            _text("Duration", _job_duration), AGE, _text("Containers", _containers("name"), 1),
            _text("Images", _containers("image"), 1), _text("Selector", _selector, 1)],
    "Ingress": [NAME, _text("Class", _path("spec", "ingressClassName")), _text("Hosts", _ingress_hosts),
                _text("Address", _ingress_address), _text("Ports", _ingress_ports), AGE],
    "IngressClass": [NAME, _text("Controller", _path("spec", "controller", default="")),
                     _text("Parameters", lambda o, n: "<none>"), AGE],
    "StorageClass": [("Name", "string", 0, _storage_class_name),
                     _text("Provisioner", _path("provisioner", default="")),
                     _text("ReclaimPolicy", _path("reclaimPolicy", default="Delete")),
                     _text("VolumeBindingMode", _path("volumeBindingMode", default="Immediate")),
                     ("AllowVolumeExpansion", "boolean", 0, _path("allowVolumeExpansion", default=False)),
                     AGE],
    "EndpointSlice": [NAME, _text("AddressType", _path("addressType", default="")),
                      _text("Ports", _slice_ports), _text("Endpoints", _slice_endpoints), AGE],
}
DEFAULT: list[Column] = [NAME, AGE]


def wants_table(accept: str) -> bool:
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def _row_object(res: Resource, obj: Obj, include: str) -> Obj | None:
    """TableOptions.includeObject: kubectl asks for whole objects to sort them (`--sort-by`)."""
    if include == "Object":
        return {"kind": res.kind, "apiVersion": res.api_version, **obj}
    if include == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


_FILTER = re.compile(r'^\[\?\(@\.(\w+)=="([^"]*)"\)\]$')


def _json_path(path: str) -> Callable[[Obj, float], Any]:
    """A printer column's JSONPath: `.a.b` steps, and `[?(@.k=="v")]` picking a list item."""
    steps = re.findall(r'\.([\w-]+)|(\[\?\(@\.\w+=="[^"]*"\)\])', path)

    def cell(obj: Obj, now: float) -> Any:
        value: Any = obj
        for key, match in steps:
            if key:
                value = value.get(key) if isinstance(value, dict) else None
            else:
                k, v = _FILTER.match(match).groups()  # type: ignore[union-attr]
                value = next((i for i in value or () if isinstance(i, dict) and i.get(k) == v), None)
        return value
    return cell


def _date(cell: Callable[[Obj, float], Any]) -> Callable[[Obj, float], Any]:
    def age(obj: Obj, now: float) -> Any:
        value = cell(obj, now)
        since = parse_time(value) if isinstance(value, str) else None
        return None if since is None else human_duration(now - since)
    return age


def printer_columns(crd: Obj | None, version: str) -> list[Column] | None:
    """A custom kind's columns: Name, then its CRD's additionalPrinterColumns (Age alone when it names
    none, as the apiextensions-apiserver defaults them); a `date` column shows an age."""
    versions = ((crd or {}).get("spec") or {}).get("versions") or []
    spec = next((v for v in versions if isinstance(v, dict) and v.get("name") == version), {})
    extra = [c for c in spec.get("additionalPrinterColumns") or [] if isinstance(c, dict)]
    if not extra:
        return None
    return [NAME, *((str(c.get("name", "")), str(c.get("type", "string")), int(c.get("priority") or 0),
                     _date(_json_path(str(c.get("jsonPath", "")))) if c.get("type") == "date"
                     else _json_path(str(c.get("jsonPath", "")))) for c in extra)]


def table(res: Resource, items: list[Obj], list_meta: Obj, now: float, include: str = "Metadata",
          columns: list[Column] | None = None) -> Obj:
    columns = columns or COLUMNS.get(res.kind, DEFAULT)
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": [{"name": name, "type": kind, "format": "name" if name == "Name" else "",
                               "description": "", "priority": priority}
                              for name, kind, priority, _ in columns],
        # the printer reads the stored object (an events.k8s.io Event prints as a core one)
        "rows": [{"cells": [cell(conversion.stored(res, obj), now) for *_, cell in columns],
                  "object": _row_object(res, obj, include)} for obj in items],
    }
