"""The `k3s` binary inside a guest: `k3s kubectl` (and the `kubectl` symlink) against the lab's
cluster, `k3s --version`. Only servers have a kubeconfig (/etc/rancher/k3s/k3s.yaml)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from lab.guest.models import Ctx, Guest, Result
from lab.k8s import etcd
from lab.k8s.controllers.base import NODE
from lab.k8s.join import K3S_VERSION
from lab.k8s.tables import COLUMNS

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"


def write_server_files(guest: Guest, cluster: K8sCluster) -> None:
    """What a server writes once it runs: the join token and its admin kubeconfig."""
    for name in ("node-token", "token"):
        guest.write(f"/var/lib/rancher/k3s/server/{name}", f"{cluster.k3s_token}\n".encode())
    guest.write(KUBECONFIG, _kubeconfig(cluster.ca_pem, cluster.admin_token).encode())


def _kubeconfig(ca_pem: bytes, token: str) -> str:
    """K3s' admin kubeconfig, for its local API (127.0.0.1:6443), signed by the cluster's CA. K3s
    authenticates the admin with a client certificate; the lab's API takes bearer tokens only, so
    the lab's admin token stands in for it."""
    ca = base64.b64encode(ca_pem).decode()
    return (
        f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n"
        "    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n"
        "    user: default\n  name: default\ncurrent-context: default\nkind: Config\npreferences: {}\n"
        f"users:\n- name: default\n  user:\n    token: {token}\n"
    )


def run(cluster: K8sCluster, ctx: Ctx, argv: list[str]) -> Result:
    args = argv[1:]
    if argv[0].endswith("kubectl"):
        return _kubectl(cluster, ctx, args)
    if args[:1] in (["--version"], ["-v"], ["version"]):
        return Result(out=f"k3s version {K3S_VERSION} (c3b5fa2c)\ngo version go1.22.9\n".encode())
    if args[:1] == ["kubectl"]:
        return _kubectl(cluster, ctx, args[1:])
    if not args:
        return Result(out=b"NAME:\n   k3s - Kubernetes, but small and simple\n")
    return Result(1, err=f'level=fatal msg="Error: unknown command \\"{args[0]}\\" for \\"k3s\\""\n'.encode())


def _output(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in ("-o", "--output") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(("-o", "--output=")) and len(arg) > 2:
            return arg.removeprefix("--output=").removeprefix("-o").lstrip("=")
    return None


def _kubectl(cluster: K8sCluster, ctx: Ctx, args: list[str]) -> Result:
    if KUBECONFIG not in ctx.guest.files:
        return Result(
            1,
            err=b"The connection to the server localhost:8080 was refused - "
            b"did you specify the right host or port?\n",
        )
    words = [
        a
        for i, a in enumerate(args)
        if not a.startswith("-") and args[i - 1 : i] not in (["-o"], ["--output"])
    ]
    if words[:1] != ["get"] or len(words) < 2 or words[1] not in ("nodes", "node", "no"):
        verb = words[0] if words else ""
        if verb in ("get", "describe", "apply", "delete", "create", "patch", "logs", "cordon", "drain"):
            return Result(1, err=b"error: the lab's guest kubectl answers `get nodes` only\n")
        return Result(1, err=f'error: unknown command "{verb}" for "kubectl"\n'.encode())
    if not etcd.quorate(cluster, ctx.now):
        return Result(1, err=f"Error from server: {etcd.TIMED_OUT}\n".encode())
    nodes = cluster.store.list(NODE)
    if len(words) > 2:
        nodes = [n for n in nodes if n["metadata"]["name"] in words[2:]]
        missing = [w for w in words[2:] if w not in {n["metadata"]["name"] for n in nodes}]
        if missing:
            return Result(1, err=f'Error from server (NotFound): nodes "{missing[0]}" not found\n'.encode())
    if not nodes:
        return Result(err=b"No resources found\n")
    output = _output(args)
    if output == "name":
        return Result(out="".join(f"node/{n['metadata']['name']}\n" for n in nodes).encode())
    if output == "json" and len(words) == 3:  # one named object prints as itself
        return Result(
            out=(json.dumps({"apiVersion": "v1", "kind": "Node", **nodes[0]}, indent=4) + "\n").encode()
        )
    if output == "json":
        body = {
            "apiVersion": "v1",
            "items": [{"apiVersion": "v1", "kind": "Node", **n} for n in nodes],
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }
        return Result(out=(json.dumps(body, indent=4) + "\n").encode())
    if output is not None:
        return Result(
            1,
            err=f'error: unable to match a printer suitable for the output format "{output}", '
            "allowed formats are: json,name,wide\n".encode(),
        )
    columns = [c for c in COLUMNS["Node"] if c[2] == 0 or output == "wide"]
    rows = [[name.upper() for name, *_ in columns]]
    rows += [[str(cell(node, ctx.now)) for *_, cell in columns] for node in nodes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    if "--no-headers" in args:
        rows = rows[1:]
    # kubectl's tabwriter: three spaces between columns, the last one unpadded
    text = "".join(
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )
    return Result(out=text.encode())
