"""`/nodes/{node}/qemu/...` routes: one guest's status, power, config, clone, resize,
migrate (the guest agent's are in `routes_agent`)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lab.pve.handlers import Call, answers

table = web.RouteTableDef()
QEMU = "/api2/json/nodes/{node}/qemu"
VM = QEMU + "/{vmid}"


@table.get(QEMU)
@answers
def qemu_list(c: Call) -> object:
    return c.pve.qemu_list(c.node, c.now, bool(c.flag("full")))


@table.post(QEMU)
@answers
def qemu_create(c: Call) -> object:
    return c.pve.qemu_create(c.node, c.vmid, c.body(), c.now, user=c.user)


@table.delete(VM)
@answers
def qemu_destroy(c: Call) -> object:
    return c.pve.qemu_destroy(c.node, c.vmid, c.now, bool(c.flag("purge")), c.user)


@table.get(f"{VM}/status/current")
@answers
def qemu_status_current(c: Call) -> object:
    return c.pve.qemu_status_current(c.node, c.vmid, c.now)


def _status_command(command: str) -> Callable[[Call], object]:
    def qemu_status_command(c: Call) -> object:
        return c.pve.qemu_status_command(c.node, c.vmid, command, c.now, c.user)

    return qemu_status_command


for _command in ("start", "stop", "shutdown", "reboot"):  # one schema path each
    table.post(f"{VM}/status/{_command}")(answers(_status_command(_command)))


@table.get(f"{VM}/config")
@answers
def qemu_config(c: Call) -> object:
    return c.pve.qemu_config(c.node, c.vmid, c.now, bool(c.flag("current")))


@table.post(f"{VM}/config")
@answers
def qemu_config_async(c: Call) -> object:
    return c.pve.qemu_config_update(c.node, c.vmid, c.body(), c.now, is_async=True, user=c.user)


@table.put(f"{VM}/config")
@answers
def qemu_config_sync(c: Call) -> object:
    return c.pve.qemu_config_update(c.node, c.vmid, c.body(), c.now, is_async=False, user=c.user)


@table.get(f"{VM}/pending")
@answers
def qemu_pending(c: Call) -> object:
    return c.pve.qemu_pending(c.node, c.vmid, c.now)


@table.post(f"{VM}/clone")
@answers
def qemu_clone(c: Call) -> object:
    return c.pve.qemu_clone(c.node, c.vmid, c.integer("newid") or 0, c.now, name=c.text("name"),
                            full=c.flag("full"), target=c.text("target"), storage=c.text("storage"),
                            user=c.user, description=c.text("description"), snapname=c.text("snapname"),
                            disk_format=c.text("format"))


@table.post(f"{VM}/template")
@answers
def qemu_template(c: Call) -> object:
    return c.pve.qemu_template(c.node, c.vmid, c.now, c.text("disk"), user=c.user)


@table.get(f"{VM}/cloudinit")
@answers
def qemu_cloudinit_pending(c: Call) -> object:
    return c.pve.qemu_cloudinit_pending(c.node, c.vmid, c.now)


@table.put(f"{VM}/cloudinit")
@answers
def qemu_cloudinit_update(c: Call) -> object:
    return c.pve.qemu_cloudinit_update(c.node, c.vmid, c.now)


@table.get(f"{VM}/cloudinit/dump")
@answers
def qemu_cloudinit_dump(c: Call) -> object:
    return c.pve.qemu_cloudinit_dump(c.node, c.vmid, c.text("type") or "", c.now, c.user)


@table.put(f"{VM}/resize")
@answers
def qemu_resize(c: Call) -> object:
    return c.pve.qemu_resize(c.node, c.vmid, c.text("disk") or "", c.text("size") or "", c.now,
                             user=c.user)


@table.get(f"{VM}/migrate")
@answers
def qemu_migrate_precondition(c: Call) -> object:
    return c.pve.qemu_migrate_precondition(c.node, c.vmid, c.now, c.text("target"))


@table.post(f"{VM}/migrate")
@answers
def qemu_migrate(c: Call) -> object:
    return c.pve.qemu_migrate(c.node, c.vmid, c.text("target") or "", c.now,
                              online=bool(c.flag("online")), user=c.user, bwlimit=c.integer("bwlimit"),
                              with_local_disks=bool(c.flag("with-local-disks")))
