"""`provision [NAME] [--role server|agent] [--blade B] [--cores N] [--memory MIB] [--disk GIB]
[--ip CIDR --gw IP | --dhcp] [--dry-run] [--yes]`: a VM cloned from the cloud-init template,
joined to K3s, Ready. Everything is checked before anything is created."""

from __future__ import annotations

from rich.console import Group, RenderableType

from commands.operate import confirmed_start, held_lock, privilege_refusal, refuse
from commands.render import line
from commands.result import Confirm, Result, refused
from infra import locks, preflight
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.operations.provision import find_template
from infra.operations.provision_check import Ask, Refusal, resolve
from infra.operations.provision_k3s import ZONE
from infra.operations.provision_spec import ProvisionOptions, VmRequest

PERMISSION = "admin"  # who may run it: read | operate | admin (design.md, permissions)


def _number(flags: dict[str, str | bool], name: str) -> int | None:
    value = flags.get(name)
    if value is None:
        return None
    if not str(value).isdigit() or int(str(value)) < 1:
        raise ValueError(f"{name} takes a whole number above 0, not {value!r}")
    return int(str(value))


def ask_from(args: list[str], flags: dict[str, str | bool]) -> Ask:
    """The grammar's words as an Ask; ValueError names a flag whose value is not a number."""
    text = {k: str(v) for k, v in flags.items() if isinstance(v, str)}
    return Ask(name=args[0] if args else None, role="server" if text.get("--role") == "server" else "agent",
               blade=text.get("--blade"), cores=_number(flags, "--cores"),
               memory_mib=_number(flags, "--memory"), disk_gib=_number(flags, "--disk"),
               ip=text.get("--ip"), gw=text.get("--gw"), dhcp=bool(flags.get("--dhcp")))


def render_request(req: VmRequest, opts: ProvisionOptions) -> RenderableType:
    """Exactly what will be created."""
    keys = len([k for k in opts.sshkeys.splitlines() if k.strip()])
    ha = "no" if not req.ha else f"yes{f', in rule {opts.ha_rule}' if opts.ha_rule else ''}"
    join = f"joining {req.server_url}" if req.server_url else "a new cluster (--cluster-init)"
    token = ("the configured token" if opts.k3s.token else
             f"the token read from {opts.k3s.token_from or 'a server'} through its guest agent")
    via = "the guest agent" if opts.install == "agent" else f"SSH as {opts.ssh.user or opts.ciuser}"
    extra = f"; nameserver {opts.nameserver}" if opts.nameserver else ""
    extra += f"; searchdomain {opts.searchdomain}" if opts.searchdomain else ""
    return Group(
        line(f"Provision {req.name} (K3s {req.role}) on {req.blade}", style="bold"),
        line(f"full clone of {opts.template} onto {opts.storage} with the next free VMID", 2),
        line(f"{req.cores} cores, {req.memory_mib} MiB, {opts.disk} grown to {req.disk_gib} GiB", 2),
        line(f"cloud-init: ciuser {opts.ciuser}, {keys} SSH key(s), ipconfig0 {req.ipconfig0}{extra}", 2),
        line(f"HA resource: {ha}", 2),
        line(f"K3s {req.role} {join} with {token}, installed through {via}", 2),
        line(f"Node labelled {ZONE}={req.blade}, then waited on until Ready", 2))


async def provision(ctx: Context, ask: Ask, dry_run: bool = False, yes: bool = False,
                    confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    try:
        req = await resolve(ctx, ask)
    except Refusal as exc:
        if dry_run:
            return refused(str(exc))
        return await refuse(ctx, "provision", ask.name or "(next name)", str(exc))
    keys = [locks.vm(req.name), locks.blade(str(req.blade))]
    refusal = None
    if not dry_run:
        opts, template = ctx.provisioning(), await find_template(ctx, ctx.provisioning().template)
        needs = preflight.provision_needs(template.vmid, opts.storage, req.ha)
        refusal = (await held_lock(ctx, keys)
                   or privilege_refusal(await preflight.lacking(ctx, needs, preflight.K8S_PROVISION)))
    return await confirmed_start(ctx, "provision", req.name, {"request": req.model_dump()},
                                 render_request(req, ctx.provisioning()), dry_run=dry_run, yes=yes,
                                 confirm=confirm, listener=listener, refusal=refusal)
