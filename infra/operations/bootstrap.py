"""`bootstrap`: a new HA K3s cluster with embedded etcd, from the template, made of provision's steps.

The first server starts the cluster (`--cluster-init`); the other servers and the agents join it at
the first server's address. Every VM is one provision (infra/operations/provision.py `vm_steps`,
its step names prefixed with the VM's name), made one after the other so that each join finds a
Ready server. Servers get `--tls-san` for the API name besides provision.k3s.server_args (the
homelab's `--disable servicelb,traefik,metrics-server --etcd-expose-metrics`). Once the first
server is Ready its admin kubeconfig is read through the guest agent, its server rewritten to
the API name, and stored where `bootstrap.kubeconfig` says.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from infra import locks
from infra.errors import Fatal
from infra.gateways.k8s import K8sGateway
from infra.operations.bootstrap_spec import BootstrapOptions
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.operations.provision import vm_steps
from infra.operations.provision_spec import VmRequest

ADMIN_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"  # what a K3s server writes for its admin


def with_tls_san(ctx: Context, api_name: str) -> Context:
    """The context whose provisioning gives servers `--tls-san API_NAME` too."""
    opts = ctx.provisioning()
    args = opts.k3s.server_args
    if api_name not in args:
        args = (*args, "--tls-san", api_name)
    return dataclasses.replace(ctx, provision=dataclasses.replace(
        opts, k3s=dataclasses.replace(opts.k3s, server_args=args)))


def rewritten(text: str, server: str) -> str:
    """The admin kubeconfig with every cluster's server set to `server` (K3s writes 127.0.0.1)."""
    config = yaml.safe_load(text)
    if not isinstance(config, dict) or not config.get("clusters"):
        raise Fatal(f"{ADMIN_KUBECONFIG} is not a kubeconfig")
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = server
    return yaml.safe_dump(config, sort_keys=False)


def store(path: Path, text: str) -> None:
    """Write the kubeconfig readable by its owner only, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    part.replace(path)


def options(ctx: Context) -> BootstrapOptions:
    return ctx.bootstrap or BootstrapOptions()


def bootstrap_steps(ctx: Context, op_id: int, target: str, params: dict[str, Any]) -> list[Step]:
    requests = [VmRequest.model_validate(r) for r in params["requests"]]
    opts = options(ctx)
    with_san = with_tls_san(ctx, opts.api_name) if ctx.provision is not None else ctx
    # The new cluster's API is reached with its own admin kubeconfig, fetched once the first server
    # runs (there is no API before it; `kubernetes.kubeconfig` may name another cluster, or none).
    stored = opts.kubeconfig.is_file()
    cluster = dataclasses.replace(with_san, k8s=K8sGateway(opts.kubeconfig) if stored else None)
    first = requests[0]

    async def kubeconfig() -> str:
        guest = next((g for g in await ctx.guests.guests() if g.name == first.name and not g.template), None)
        if guest is None:
            raise Fatal(f"the first server {first.name} is gone")
        text = await ctx.guests.agent_file_read(guest.node, guest.vmid, ADMIN_KUBECONFIG)
        store(opts.kubeconfig, rewritten(text, opts.api_url))
        cluster.k8s = K8sGateway(opts.kubeconfig)
        return f"the admin kubeconfig of {first.name} stored at {opts.kubeconfig} (server {opts.api_url})"

    steps: list[Step] = []
    for i, req in enumerate(requests):
        made = vm_steps(cluster, op_id, req, params, prefix=f"{req.name}/")
        if i == 0:  # right after the first server's K3s starts, before anything asks its API
            at = next(n for n, s in enumerate(made) if s.name == f"{req.name}/join")
            made.insert(at, Step("kubeconfig", kubeconfig))
        steps += made
    return steps


def bootstrap_locks(target: str, params: dict[str, Any]) -> list[str]:
    """The cluster, and every VM's name, blade and VMID once taken (as a provision of each holds)."""
    keys = [locks.CLUSTER]
    for raw in params["requests"]:
        req = VmRequest.model_validate(raw)
        state = params.get(f"vm.{req.name}") or {}
        blade = state.get("blade") or req.blade
        keys += [locks.vm(req.name)] + ([locks.blade(blade)] if blade else [])
        keys += [locks.vmid(int(state["vmid"]))] if "vmid" in state else []
    return list(dict.fromkeys(keys))
