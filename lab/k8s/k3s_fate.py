"""What becomes of a K3s install: whether its server answers and its token is the cluster's, as
K3s' clientaccess checks them, and when the unit is ready and its Node appears.

A join that failed only because its server did not answer tries again (an agent every 2 s
before READY=1, a server at each restart by systemd): `retry_joins` lets it go on once the
server answers; a wrong token or a bad flag is for good.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lab.k8s import k3s_cli
from lab.k8s.controllers.node_object import vm_ip
from lab.k8s.join import K3sJoin

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster
    from lab.pve.objects import Vm

SERVER_START = 20.0  # etcd (new or joined), the apiserver, then READY=1
AGENT_START = 2.0  # the token checks out: READY=1
REGISTER = 6.0  # from READY to the kubelet's Node
CNI = 12.0  # flannel up and the kubelet reporting NetworkReady


def cluster_token(secret: str) -> str:
    return f"K10{hashlib.sha256(secret.encode()).hexdigest()}::server:{secret}"


def token_problem(cluster: K8sCluster, token: str | None) -> tuple[str, str] | None:
    """("ca", message) when K3s' token validation fails, ("auth", message) when the server refuses
    the secret (401), None when it is the cluster's (clientaccess.parseToken's rules)."""
    assert cluster.k3s_token is not None
    ca_hash, _, secret = cluster.k3s_token[3:].partition("::server:")
    if not token:
        return "ca", "token must not be empty"
    given_hash, creds = "", token if not token.startswith("K10") else token[3:]
    if token.startswith("K10") and "::" in creds:
        given_hash, creds = creds.split("::", 1)
    elif not token.startswith("K10"):
        creds = ":" + token
    if given_hash and len(given_hash) != 64:
        return "ca", "invalid token CA hash length"
    _user, colon, password = creds.partition(":")
    if not colon or not password:
        return "ca", "invalid token format"
    if given_hash and given_hash != ca_hash:
        return (
            "ca",
            f"token CA hash does not match the Cluster CA certificate hash: {given_hash} != {ca_hash}",
        )
    return None if password == secret else ("auth", "401 Unauthorized")


def dial_error(cluster: K8sCluster, vm: Vm, url: str, now: float) -> str | None:
    """Why the server at `url` does not answer, as Go's net/http says it; None when it does."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 6443
    target = f"{host}:{port}"
    if not cluster.pve.reachable(vm.node, now):  # its own blade is cut off: nothing answers
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    server = next((v for v in cluster.pve.vms.values() if v.running() and vm_ip(v) == host), None)
    if (
        server is not None
        and cluster.vm_alive(server, now)
        and cluster.joins[server.name].role == "server"
        and port == 6443
    ):
        return None
    if server is not None:
        return f"dial tcp {target}: connect: connection refused"
    try:
        local = ipaddress.ip_address(host) in ipaddress.ip_network(f"{vm_ip(vm)}/24", strict=False)
    except ValueError:
        return f"dial tcp: lookup {host} on 127.0.0.53:53: server misbehaving"
    if local:
        return f"dial tcp {target}: connect: no route to host"
    return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


def decide(cluster: K8sCluster, vm: Vm, join: K3sJoin, start: float) -> None:
    """When the unit is ready and the Node appears, or what it fails with (starting at `start`)."""
    url = join.server_url
    join.failure, join.fatal, join.retry, join.ready_at = None, False, False, -math.inf
    if join.role == "agent" and not url:
        join.failure, join.fatal = "Error: --server is required", True
    elif url is None:  # a new cluster; a second one beside the lab's is not modelled: it joins nothing
        if cluster.k3s_token is None:
            cluster.k3s_manifests = join  # its packaged components, once it is up
            cluster.k3s_token = cluster_token(join.token or hashlib.sha256(vm.name.encode()).hexdigest()[:32])
        elif token_problem(cluster, join.token or cluster.k3s_token) is not None:
            join.failure, join.fatal = "Error: a new cluster beside the lab's is not modelled", True
    elif (dial := dial_error(cluster, vm, url, start)) is not None:
        join.retry = True
        cacerts = f'failed to get CA certs: Get "{url.rstrip("/")}/cacerts": {dial}'
        join.failure, join.fatal = (
            (
                _server_error(f"failed to validate token: {cacerts}")
                if join.role == "server"
                else _agent_error(url, cacerts)
            ),
            join.role == "server",
        )
    elif (problem := token_problem(cluster, join.token)) is not None:
        kind, message = problem
        if join.role == "server":
            text = (
                f"failed to validate token: {message}"
                if kind == "ca"
                else f"{url.rstrip('/')}/v1-k3s/server-bootstrap: {message}"
            )
            join.failure, join.fatal = _server_error(text), True
        elif kind == "ca":
            join.failure = _agent_error(url, message)
        else:
            join.failure = (
                "Waiting to retrieve agent configuration; server is not ready: failed to retrieve "
                f"configuration from server: https://127.0.0.1:6444/v1-k3s/config: {message}"
            )
            join.ready_at = start + AGENT_START
    if join.failure is None:
        join.ready_at = start + (SERVER_START if join.role == "server" else AGENT_START)
        join.registers_at = join.ready_at + REGISTER
        join.cni_at = join.registers_at + CNI
    elif join.fatal or join.ready_at < start:
        join.ready_at = math.inf


def _server_error(text: str) -> str:
    return (
        f"Error: preparing server: failed to bootstrap cluster data: failed to check if bootstrap data "
        f"has been initialized: {text}"
    )


def _agent_error(url: str, message: str) -> str:
    return f"Failed to validate connection to cluster at {url}: {message}"


def retry_joins(cluster: K8sCluster, now: float) -> None:
    """Joins waiting for a server that did not answer go on once it does (or meet their next error)."""
    for vm in cluster.pve.vms.values():
        join = cluster.joins.get(vm.name)
        if join is None or not join.retry or join.failure is None or now < join.started_at:
            continue
        failure, fatal = join.failure, join.fatal
        decide(cluster, vm, join, now)
        if join.failure != failure:
            join.past_failure, join.past_fatal, join.failed_until = failure, fatal, now
            vm.k3s_role = join.role if join.failure is None else None
            if join.failure is None and join.role == "server" and cluster.k3s_token:
                k3s_cli.write_server_files(cluster.pve.guest(vm), cluster)


def deploy_manifests(cluster: K8sCluster, now: float) -> None:
    """A new cluster's first server, once up, applies K3s' packaged manifests (less `--disable`)."""
    join = cluster.k3s_manifests
    if join is None or join.failure is not None or now < join.ready_at:
        return
    from lab.k8s.workloads import apply_manifests, k3s_packaged

    cluster.k3s_manifests = None
    apply_manifests(cluster, k3s_packaged(frozenset(join.disable)))
