"""What `provision` checks before anything is created, and the VM it resolves to.

Each refusal names what was wrong: a name that is not a DNS label or is taken (as a VM or a
node), an address outside the subnet or in use, more memory or cores than any blade has, no
template, no blade with room, nothing to join.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass

from infra.errors import Fatal
from infra.operations.context import Context
from infra.operations.provision import find_template
from infra.operations.provision_spec import ProvisionOptions, Role, VmRequest
from infra.placement import choose_blade
from infra.topology import GIB, Snapshot

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_STATIC_IP = re.compile(r"(?:^|,)ip=(\d+\.\d+\.\d+\.\d+)/")


class Refusal(ValueError):
    """Refused before anything was created; the message says why."""


@dataclass(frozen=True)
class Ask:
    """What a person asked for (flags not given are None: the config's defaults apply)."""
    name: str | None = None
    role: Role = "agent"
    blade: str | None = None
    cores: int | None = None
    memory_mib: int | None = None
    disk_gib: int | None = None
    ip: str | None = None  # CIDR
    gw: str | None = None
    dhcp: bool = False


def check_name(name: str) -> None:
    if not DNS_LABEL.match(name):
        raise Refusal(f"name {name!r} is not a DNS label (lowercase letters, digits and '-', at most 63, "
                      "starting and ending with a letter or digit)")


def next_name(pattern: str, taken: set[str]) -> str:
    """The first `pattern` name (`kube{n:02d}`) after the highest one taken."""
    used = [n for n in range(1, 1000) if pattern.format(n=n) in taken]
    return pattern.format(n=max(used, default=0) + 1)


def ipconfig(ask: Ask, opts: ProvisionOptions, in_use: dict[str, str]) -> str:
    """`ip=dhcp` or `ip=CIDR,gw=IP`, checked against the subnet and the addresses in use."""
    if ask.dhcp and (ask.ip or ask.gw):
        raise Refusal("--dhcp and --ip/--gw exclude each other")
    if ask.ip is None:
        if ask.gw:
            raise Refusal("--gw goes with --ip")
        return "ip=dhcp"
    try:
        iface = ipaddress.IPv4Interface(ask.ip)
        gateway = ipaddress.IPv4Address(ask.gw or opts.gateway or "")
    except ValueError as exc:
        raise Refusal(f"--ip must be an IPv4 address with its prefix (192.168.1.126/24) and --gw an "
                      f"address (or provision.gateway set): {exc}") from None
    if "/" not in ask.ip:
        raise Refusal(f"--ip {ask.ip} needs its prefix, e.g. {ask.ip}/24")
    if opts.subnet and iface.ip not in ipaddress.IPv4Network(opts.subnet):
        raise Refusal(f"--ip {iface.ip} is outside provision.subnet {opts.subnet}")
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise Refusal(f"--ip {iface.ip} is the network or broadcast address of {iface.network}")
    if gateway not in iface.network or gateway == iface.ip:
        raise Refusal(f"gateway {gateway} is not another address of {iface.network}")
    if str(iface.ip) in in_use:
        raise Refusal(f"--ip {iface.ip} is in use ({in_use[str(iface.ip)]})")
    return f"ip={iface.with_prefixlen},gw={gateway}"


async def addresses_in_use(ctx: Context, snap: Snapshot) -> dict[str, str]:
    """Address -> who has it: static ipconfig0 of every guest, K8s nodes' addresses, the gateway."""
    used: dict[str, str] = {}
    guests = [g for g in await ctx.guests.guests() if not g.template]
    configs = await asyncio.gather(*(ctx.guests.config(g.node, g.vmid) for g in guests))
    for guest, config in zip(guests, configs, strict=True):
        for ip in _STATIC_IP.findall(str(config.get("ipconfig0", ""))):
            used[ip] = f"VM {guest.vmid} {guest.name}"
    if ctx.k8s is not None:
        for node in await ctx.k8s.list_nodes():
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == "InternalIP":
                    used.setdefault(address["address"], f"node {node['metadata']['name']}")
    if ctx.provision and ctx.provision.gateway:
        used.setdefault(ctx.provision.gateway, "the gateway")
    return used


def check_size(snap: Snapshot, cores: int, memory_mib: int, headroom_gib: float) -> None:
    blades = list(snap.blades.values())
    most = max((b.maxmem for b in blades), default=0) - int(headroom_gib * GIB)
    if memory_mib * 1024**2 > most:
        raise Refusal(f"--memory {memory_mib} MiB is more than any blade can hold "
                      f"(the most is {max(most, 0) // 1024**2} MiB beside {headroom_gib:g} GiB headroom)")
    cpus = max((b.maxcpu for b in blades), default=0)
    if cpus and cores > cpus:
        raise Refusal(f"--cores {cores} is more than any blade has ({cpus})")


async def resolve(ctx: Context, ask: Ask) -> VmRequest:
    """The VM to make, every input checked; Refusal before anything is created."""
    try:
        opts = ctx.provisioning()
        await find_template(ctx, opts.template)
    except Fatal as exc:
        raise Refusal(str(exc)) from None
    if not opts.k3s.url:
        raise Refusal("provision.k3s.url is not set: no cluster to join (bootstrap makes a new one)")
    snap = await ctx.snapshot()
    names = {vm.name: f"a VM (VMID {vm.vmid})" for vm in snap.vms.values()}
    names.update({n: "a Kubernetes node" for n in snap.nodes if n not in names})
    name = ask.name or next_name(opts.name_pattern, {*names, *snap.nodes})
    check_name(name)
    node = ctx.options.node_pattern.format(vm=name)
    for taken in dict.fromkeys((name, node)):
        if taken in names:
            raise Refusal(f"{taken} is taken: there is {names[taken]} of that name")
    cores, memory = ask.cores or opts.cores, ask.memory_mib or opts.memory_mib
    check_size(snap, cores, memory, ctx.options.headroom_gib)
    ip = ipconfig(ask, opts, await addresses_in_use(ctx, snap) if ask.ip else {})
    rule = None
    if opts.ha and opts.ha_rule:
        rule = next((r for r in await ctx.guests.ha_rules() if r.get("rule") == opts.ha_rule), None)
        if rule is None:
            raise Refusal(f"no HA rule {opts.ha_rule!r} (provision.ha_rule)")
    placed = choose_blade(snap, memory * 1024**2, ask.role == "server", ctx.options.headroom_gib, ask.blade,
                          rule)
    if placed.blade is None:
        raise Refusal(f"no blade for {name}: {placed.reason}")
    return VmRequest(name=name, role=ask.role, blade=placed.blade, cores=cores, memory_mib=memory,
                     disk_gib=ask.disk_gib or opts.disk_gib, ipconfig0=ip, ha=opts.ha,
                     server_url=opts.k3s.url)
