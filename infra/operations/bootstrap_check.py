"""What `bootstrap` checks before anything is created, and the VMs it resolves to.

Refused: a cluster that exists already (bootstrap makes a new one; `provision` grows one), fewer
distinct healthy blades with room than servers, no template, addresses outside the subnet or in
use, sizes no blade holds. Servers are placed now, one per blade (most free memory first);
agents are placed when they are made.
"""

from __future__ import annotations

import ipaddress

from infra.errors import Fatal
from infra.operations.bootstrap_spec import BootstrapOptions
from infra.operations.context import Context
from infra.operations.provision import find_template
from infra.operations.provision_check import (
    Ask,
    Refusal,
    addresses_in_use,
    check_name,
    check_size,
    ipconfig,
    next_name,
)
from infra.operations.provision_spec import VmRequest
from infra.placement import free_memory


async def resolve(ctx: Context, opts: BootstrapOptions, servers: int, agents: int) -> list[VmRequest]:
    if servers < 1 or agents < 0:
        raise Refusal(f"--servers must be 1 or more and --agents 0 or more (got {servers} and {agents})")
    try:
        prov = ctx.provisioning()
        await find_template(ctx, prov.template)
    except Fatal as exc:
        raise Refusal(str(exc)) from None
    snap = await ctx.snapshot()
    if snap.nodes:
        raise Refusal(f"a K3s cluster exists already (nodes {', '.join(sorted(snap.nodes))}): bootstrap "
                      "makes a new one; `provision` adds VMs to this one")
    if opts.kubeconfig.is_file():  # with no Kubernetes access configured, the one a bootstrap stored
        raise Refusal(f"a K3s cluster exists already (its admin kubeconfig is {opts.kubeconfig}): bootstrap "
                      "makes a new one; `provision` adds VMs to this one")
    check_size(snap, prov.cores, prov.memory_mib, ctx.options.headroom_gib)
    memory = prov.memory_mib * 1024**2
    free = free_memory(snap, ctx.options.headroom_gib)
    roomy = sorted((b for b, left in free.items() if left >= memory), key=lambda b: (-free[b], b))
    if len(roomy) < servers:
        raise Refusal(f"{servers} K3s servers need {servers} distinct healthy blades with "
                      f"{prov.memory_mib} MiB free; there are {len(roomy)} ({', '.join(roomy) or 'none'})")
    first = ipaddress.IPv4Interface(opts.first_address)
    in_use = await addresses_in_use(ctx, snap)
    taken = {*(vm.name for vm in snap.vms.values()), *snap.nodes}
    requests: list[VmRequest] = []
    for i in range(servers + agents):
        name = next_name(prov.name_pattern, taken)
        check_name(name)
        taken.add(name)
        address = f"{first.ip + i}/{first.network.prefixlen}"
        role = "server" if i < servers else "agent"
        join = None if i == 0 else f"https://{first.ip}:6443"  # the first server's address
        requests.append(VmRequest(
            name=name, role=role, blade=roomy[i] if i < servers else None, cores=prov.cores,
            memory_mib=prov.memory_mib, disk_gib=prov.disk_gib, ha=prov.ha, server_url=join,
            ipconfig0=ipconfig(Ask(ip=address), prov, in_use)))
    return requests
