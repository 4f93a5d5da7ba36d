"""Privileges an operation needs, checked before it changes anything (a refusal, exit 2).

PVE: `GET /access/permissions` for the token, on each path the operation's calls check
(the API schema's `permissions`). Kubernetes: a SelfSubjectAccessReview per verb, as
`kubectl auth can-i` does. A missing privilege found half-way would leave a blade half
drained; found here, nothing has changed.
"""

from __future__ import annotations

import asyncio

from infra.operations.context import Context

CEPH_FLAGS = ("/", "Sys.Modify")  # PUT /cluster/ceph/flags/{flag}
# /cluster/resources hides every VM the token may not audit, without an error: a token short of VM.Audit
# would plan a blade as empty and reboot it with its VMs on it. So both are checked for every kind.
SEES_ALL = (("/", "Sys.Audit"), ("/vms", "VM.Audit"))
VM = ("VM.Audit", "VM.Migrate")  # GET .../qemu/{vmid}/status/current; GET and POST .../migrate
K8S_DRAIN = (("patch", "nodes", ""), ("list", "pods", ""), ("create", "pods", "eviction"))
K8S_PROVISION = (("get", "nodes", ""), ("patch", "nodes", ""))


def pve_needs(kind: str, blades: list[str], vmids: list[int]) -> list[tuple[str, str]]:
    """(path, privilege) pairs: noout, the migrations (and reading the VM's status around each), and for
    a reboot the blades' power."""
    needs = [*SEES_ALL, CEPH_FLAGS,
             *((f"/vms/{vmid}", privilege) for vmid in sorted(set(vmids)) for privilege in VM)]
    if kind in ("reboot", "reboot-all"):
        needs += [(f"/nodes/{blade}", "Sys.PowerMgmt") for blade in blades]
    return needs


def provision_needs(template: int, storage: str, ha: bool) -> list[tuple[str, str]]:
    """Clone the template, then everything done to the new VM: its VMID is not known yet, so on
    `/vms` (ACLs there propagate to every guest)."""
    on_vms = ("VM.Allocate", "VM.Config.Cloudinit", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk",
              "VM.PowerMgmt", "VM.GuestAgent.Unrestricted")
    needs = [(f"/vms/{template}", "VM.Clone"), (f"/storage/{storage}", "Datastore.AllocateSpace"),
             *(("/vms", p) for p in on_vms)]
    return needs + ([("/", "Sys.Console")] if ha else [])  # POST /cluster/ha/resources


async def missing(ctx: Context, kind: str, blades: list[str], vmids: list[int]) -> list[str]:
    """What the configured PVE token and Kubernetes identity lack for `kind` on `blades`."""
    return await lacking(ctx, pve_needs(kind, blades, vmids), K8S_DRAIN)


async def lacking(ctx: Context, needs: list[tuple[str, str]],
                  k8s_needs: tuple[tuple[str, str, str], ...]) -> list[str]:
    """Which of `needs` (path, privilege) and `k8s_needs` (verb, resource, subresource) are lacking."""
    paths = sorted({path for path, _ in needs})
    held = dict(zip(paths, await asyncio.gather(*(ctx.pve.permissions(p) for p in paths)), strict=True))
    absent = [f"PVE {privilege} on {path}" for path, privilege in needs if privilege not in held[path]]
    if ctx.k8s is not None:
        answers = await asyncio.gather(*(ctx.k8s.can_i(verb, res, sub) for verb, res, sub in k8s_needs))
        absent += [f"Kubernetes {verb} {res}{'/' + sub if sub else ''}"
                   for (verb, res, sub), allowed in zip(k8s_needs, answers, strict=True) if allowed is False]
    return absent
