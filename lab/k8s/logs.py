"""Container logs as the kubelet serves them: `kubectl logs` gets plausible start-up lines.

The lab runs no processes, so each container's log is made from its image and the times its
status records: what the real program prints when it starts, stamped at its `startedAt`
(and at the previous run's, for `previous=true`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import NODE, POD
from lab.k8s.controllers.programs import program
from lab.k8s.errors import BadRequest, Invalid, K8sError
from lab.k8s.store import timestamp

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

Obj = dict[str, Any]
Line = tuple[float, str]

# what the program prints as it starts, by a word of its image; {t} is the time in its own format
_BANNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("whoami", ("{go} Starting up on port 80",)),
    ("traefik", ('time="{iso}" level=info msg="Traefik version 2.11.10 built on 2024-09-19T13:11:19Z"',
                 'time="{iso}" level=info msg="Starting provider aggregator aggregator.ProviderAggregator"',
                 'time="{iso}" level=info msg="Starting provider *crd.Provider"',
                 'time="{iso}" level=info msg="Starting provider *ingress.Provider"')),
    ("postgres", ("{pg} UTC [1] LOG:  starting PostgreSQL 16.4 on x86_64-pc-linux-gnu",
                  '{pg} UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432',
                  "{pg} UTC [1] LOG:  database system is ready to accept connections")),
    ("alertmanager", ('ts={iso} caller=main.go:181 level=info msg="Starting Alertmanager" version=0.27.0',
                      'ts={iso} caller=tls_config.go:313 level=info msg="Listening on" address=[::]:9093')),
    ("prometheus-operator", ('level=info ts={iso} caller=main.go:213 msg="Starting Prometheus Operator" '
                             'version=0.77.1',)),
    ("prometheus", ('ts={iso} caller=main.go:601 level=info msg="Starting Prometheus Server" mode=server '
                    'version=2.54.1',
                    'ts={iso} caller=main.go:1335 level=info '
                    'msg="Server is ready to receive web requests."')),
    ("grafana", ('logger=settings t={iso} level=info msg="Starting Grafana" version=11.2.2',
                 'logger=http.server t={iso} level=info msg="HTTP Server Listen" address=[::]:3000 '
                 'protocol=http')),
    ("node-exporter", ('ts={iso} caller=node_exporter.go:193 level=info msg="Starting node_exporter" '
                       'version=1.8.2',
                       'ts={iso} caller=tls_config.go:313 level=info msg="Listening on" address=[::]:9100')),
    ("kube-state-metrics", ('I{klog}       1 server.go:199] "Starting kube-state-metrics"',)),
    ("metallb", ('{{"caller":"main.go:165","level":"info","msg":"MetalLB starting","ts":"{iso}"}}',)),
    ("cert-manager", ('I{klog}       1 start.go:124] "starting cert-manager" logger="cert-manager"',)),
)
_GENERIC = ("{iso} starting {name}",)


def _formats(t: float) -> dict[str, str]:
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    return {"iso": timestamp(t), "go": d.strftime("%Y/%m/%d %H:%M:%S"),
            "pg": d.strftime("%Y-%m-%d %H:%M:%S.000"), "klog": d.strftime("%m%d %H:%M:%S.000000")}


def banner(image: str, name: str, started: float) -> list[Line]:
    lines = next((b for word, b in _BANNERS if word in image), _GENERIC)
    fields = {**_formats(started), "name": name}
    return [(started, line.format(**fields)) for line in lines]


def _since(query: Any, now: float) -> float:
    seconds, since_time = query.get("sinceSeconds"), query.get("sinceTime")
    if seconds is not None and since_time is not None:
        raise Invalid("PodLogOptions is invalid: sinceSeconds: Forbidden: at most one of `sinceTime` or "
                      "`sinceSeconds` may be specified")
    if since_time is not None:
        try:
            return dt.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise BadRequest(f'parsing time "{since_time}" as "2006-01-02T15:04:05Z07:00": '
                             'cannot parse') from None
    if seconds is None:
        return float("-inf")
    value = _integer(query, "sinceSeconds")
    if value < 1:
        raise Invalid(f"PodLogOptions is invalid: sinceSeconds: Invalid value: {value}: "
                      "must be greater than 0")
    return now - value


def _integer(query: Any, name: str) -> int:
    text = query.get(name)
    try:
        return int(text)
    except (TypeError, ValueError):
        raise BadRequest(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _non_negative(query: Any, name: str) -> int | None:
    if query.get(name) is None:
        return None
    value = _integer(query, name)
    if value < 0 or (name == "limitBytes" and value == 0):
        bound = "greater than 0" if name == "limitBytes" else "greater than or equal to 0"
        raise Invalid(f"PodLogOptions is invalid: {name}: Invalid value: {value}: must be {bound}")
    return value


def render(lines: list[Line], query: Any, now: float) -> str:
    """The log text for the options of a PodLogOptions query (since, tail, timestamps, limit)."""
    since = _since(query, now)
    tail = _non_negative(query, "tailLines")
    limit = _non_negative(query, "limitBytes")
    chosen = [(t, text) for t, text in lines if t >= since]
    if tail is not None:
        chosen = chosen[len(chosen) - tail:] if tail else []
    stamps = query.get("timestamps") == "true"
    body = "".join(f"{_stamp(t)} {text}\n" if stamps else f"{text}\n" for t, text in chosen)
    return body.encode()[:limit].decode(errors="ignore") if limit is not None else body


def _stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def container_of(pod: Obj, query: Any) -> str:
    """The container a log request names, or the pod's only one (the API server's rules)."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    names = [c.get("name", "") for c in spec.get("containers") or []]
    inits = [c.get("name", "") for c in spec.get("initContainers") or []]
    wanted = query.get("container")
    if not wanted:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise BadRequest(message)
    if wanted not in names + inits:
        raise BadRequest(f"container {wanted} is not valid for pod {name}")
    return wanted


def started_lines(pod: Obj, container: str, previous: bool, spec: Obj) -> list[Line]:
    """The lines of the container's current (or previous) run, from its status: what its program
    prints (a command the lab models, lab/k8s/controllers/programs.py), else a server's start-up."""
    name = pod["metadata"]["name"]
    status = next((cs for cs in (pod.get("status") or {}).get("containerStatuses") or []
                   if cs.get("name") == container), None)
    state = ((status or {}).get("lastState") if previous else (status or {}).get("state")) or {}
    run = state.get("running") or state.get("terminated")
    if not run and not previous:  # crash-looping: the kubelet serves the dead container's log
        run = ((status or {}).get("lastState") or {}).get("terminated")
    if previous and not run:
        raise BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
    if not run:
        reason = (state.get("waiting") or {}).get("reason", "PodInitializing")
        raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    started = _parse(run.get("startedAt"))
    if started is None:
        return []
    ran = program(spec)
    if ran.seconds is None and not ran.log:
        return banner(spec.get("image", ""), container, started)
    return [(started + at, text) for at, text in ran.log]


def _parse(text: str | None) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None



def kubelet_url(node: Obj | None, path: str) -> str:
    address = next((a.get("address", "") for a in ((node or {}).get("status") or {}).get("addresses") or []
                    if a.get("type") == "InternalIP"), "")
    return f"https://{address}:10250/{path}"


def unreachable(node: Obj | None, path: str) -> K8sError:
    """What the API server says when the pod's kubelet does not answer (its VM is down or cut off)."""
    url = kubelet_url(node, path)
    host = url.split("/")[2]
    return K8sError(f'Get "{url}": dial tcp {host}: connect: no route to host')


def no_streaming(node: str, sub: str) -> K8sError:
    """The lab's kubelets run no processes: a stream request is refused with what to do instead."""
    what = {"portforward": "port-forward"}.get(sub, sub)
    return BadRequest(f"error dialing backend: the lab's kubelet on node {node} runs no containers, "
                      f"so {what} is not available; read the pod with `kubectl logs` or `kubectl describe`")


def read_namespaced_pod_log(cluster: K8sCluster, namespace: str, name: str, query: Mapping[str, str]) -> str:
    """The kubelet's containerLogs, reached through the API server (errors in their words)."""
    pod, now = cluster.store.get(POD, namespace, name), cluster.clock()
    container = container_of(pod, query)
    spec = pod.get("spec") or {}
    node_name = spec.get("nodeName")
    if not node_name:
        raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    if node_name not in cluster.live_nodes(now):
        raise unreachable(cluster.store.find(NODE, "", node_name),
                          f"containerLogs/{namespace}/{name}/{container}")
    declared = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    spec = next((c for c in declared if c.get("name") == container), {})
    lines = started_lines(pod, container, query.get("previous") == "true", spec)
    return render([(t, text) for t, text in lines if t <= now], query, now)


def connect_namespaced_pod(cluster: K8sCluster, namespace: str, name: str, sub: str) -> None:
    """exec, attach, port-forward: refused by the pod's kubelet, after the API server's own checks."""
    pod = cluster.store.get(POD, namespace, name)
    node_name = (pod.get("spec") or {}).get("nodeName") or ""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot {sub} into a container in a completed pod; current phase is {phase}")
    if node_name not in cluster.live_nodes(cluster.clock()):
        raise unreachable(cluster.store.find(NODE, "", node_name), f"{sub}/{namespace}/{name}")
    raise no_streaming(node_name, sub)
