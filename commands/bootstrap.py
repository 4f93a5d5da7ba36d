"""`bootstrap [--servers N] [--agents N] [--dry-run] [--yes]`: a new HA K3s cluster with embedded etcd.

Everything is checked, and every VM resolved (name, blade for servers, address, role), before
anything is created; the plan shows exactly that. The operation is infra/operations/bootstrap.py.
"""

from __future__ import annotations

from rich.console import Group, RenderableType

from commands.operate import confirmed_start, held_lock, privilege_refusal, refuse
from commands.render import line
from commands.result import Confirm, Result, refused
from infra import locks, preflight
from infra.operations.bootstrap import options
from infra.operations.bootstrap_check import resolve
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.operations.provision import find_template
from infra.operations.provision_check import Refusal
from infra.operations.provision_spec import VmRequest

PERMISSION = "admin"  # who may run it: read | operate | admin (design.md, permissions)


def _number(flags: dict[str, str | bool], name: str, default: int) -> int:
    value = flags.get(name)
    if value is None:
        return default
    if not str(value).isdigit():
        raise ValueError(f"{name} takes a whole number, not {value!r}")
    return int(str(value))


def counts_from(ctx: Context, flags: dict[str, str | bool]) -> tuple[int, int]:
    """--servers and --agents from the grammar's flags (the config's counts by default)."""
    opts = options(ctx)
    return _number(flags, "--servers", opts.servers), _number(flags, "--agents", opts.agents)


def render_plan(ctx: Context, requests: list[VmRequest]) -> RenderableType:
    opts, prov = options(ctx), ctx.provisioning()
    args = " ".join((*prov.k3s.server_args, "--tls-san", opts.api_name))
    rows = [line(f"{r.name}: K3s {r.role} on {r.blade or 'the blade with most room'}, {r.ipconfig0}, "
                 + ("--cluster-init" if r.server_url is None else f"joining {r.server_url}"), 2)
            for r in requests]
    servers = sum(r.role == "server" for r in requests)
    return Group(
        line(f"Bootstrap a K3s cluster: {servers} servers (embedded etcd), {len(requests) - servers} agents",
             style="bold"),
        line(f"each a full clone of {prov.template} onto {prov.storage}: {prov.cores} cores, "
             f"{prov.memory_mib} MiB, {prov.disk_gib} GiB, made one after the other", 2),
        *rows,
        line(f"servers run with: {args}", 2),
        line(f"the admin kubeconfig, server {opts.api_url}, stored at {opts.kubeconfig}", 2))


async def bootstrap(ctx: Context, servers: int, agents: int, dry_run: bool = False, yes: bool = False,
                    confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    target = f"{servers} servers, {agents} agents"
    try:
        requests = await resolve(ctx, options(ctx), servers, agents)
    except Refusal as exc:
        return refused(str(exc)) if dry_run else await refuse(ctx, "bootstrap", target, str(exc))
    keys = [locks.CLUSTER, *(locks.blade(r.blade) for r in requests if r.blade)]
    refusal = None
    if not dry_run:  # as each VM's provision would check
        prov = ctx.provisioning()
        template = await find_template(ctx, prov.template)
        needs = preflight.provision_needs(template.vmid, prov.storage, prov.ha)
        refusal = (await held_lock(ctx, keys)
                   or privilege_refusal(await preflight.lacking(ctx, needs, preflight.K8S_PROVISION)))
    return await confirmed_start(ctx, "bootstrap", target, {"requests": [r.model_dump() for r in requests]},
                                 render_plan(ctx, requests), dry_run=dry_run, yes=yes, confirm=confirm,
                                 listener=listener, refusal=refusal)
