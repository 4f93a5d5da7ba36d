"""Faults the lab can inject, by name, from Python, `POST /lab/fault` and `drewburr lab fault`.

Each fault validates its target and calls the model that owns the state (PVE blades, quorum,
locks and tasks; Ceph OSDs), or the API fault settings that slow down or break PVE answers.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from lab.pve.errors import pve_error_response
from lab.pve.schema import Handler, Middleware

if TYPE_CHECKING:
    from lab.world import Lab

# PVE's `lock` enum (qemu-server config).
LOCKS = ("backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete",
         "suspending", "suspended")
FLAKY_STATUSES = {500: "got timeout", 595: "Connection timed out"}


class FaultError(ValueError):
    """Bad fault input; the message names the valid choices."""


@dataclass
class ApiFaults:
    """Slow or flaky PVE answers: `delay` real seconds each, `fail_fraction` of them fail."""

    delay: float = 0.0
    fail_fraction: float = 0.0
    fail_status: int = 500
    rng: random.Random = field(default_factory=lambda: random.Random(2))

    def clear(self) -> None:
        self.delay, self.fail_fraction, self.fail_status = 0.0, 0.0, 500


def api_faults_middleware(faults: ApiFaults) -> Middleware:
    @web.middleware
    async def api_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults.delay > 0:
            await asyncio.sleep(faults.delay)
        if faults.fail_fraction > 0 and faults.rng.random() < faults.fail_fraction:
            return pve_error_response(faults.fail_status, FLAKY_STATUSES[faults.fail_status])
        return await handler(request)

    return api_faults


def _digits(text: str) -> int | None:
    """ASCII digits as a number; str.isdigit alone also passes '²', which int() refuses."""
    return int(text) if text.isascii() and text.isdigit() else None


def _unknown(what: str, target: str | None) -> str:
    return f"unknown {what} {target!r}" if target else f"no {what} given"


def _blade(lab: Lab, target: str | None) -> str:
    names = sorted(lab.pve.blades)
    if target not in lab.pve.blades:
        raise FaultError(f"{_unknown('blade', target)}; blades: {', '.join(names)}")
    return target  # type: ignore[return-value]


def _osd(lab: Lab, target: str | None) -> int:
    """An OSD by id (`2`, `osd.2`) or by the blade that hosts it."""
    by_host = {osd.host: osd.id for osd in lab.ceph.osds.values()}
    text = (target or "").removeprefix("osd.")
    if (osd := _digits(text)) is not None and osd in lab.ceph.osds:
        return osd
    if target in by_host:
        return by_host[target]
    choices = [f"osd.{i}" for i in sorted(lab.ceph.osds)] + sorted(by_host)
    raise FaultError(f"{_unknown('OSD', target)}; OSDs: {', '.join(choices)}")


def _vm_and_arg(lab: Lab, target: str | None, form: str) -> tuple[int, str | None]:
    vmid_text, _, arg = (target or "").partition(":")
    vmid = _digits(vmid_text)
    if vmid is None or vmid not in lab.pve.vms:
        vmids = ", ".join(str(v) for v in sorted(lab.pve.vms))
        raise FaultError(f"{_unknown('VM', vmid_text)}; VMs: {vmids} (target {form})")
    return vmid, arg or None


def _number(target: str | None, what: str, low: float, high: float) -> float:
    try:
        value = float(target or "")
    except ValueError:
        raise FaultError(f"{what} must be a number from {low:g} to {high:g}, got {target!r}") from None
    if not low <= value <= high:
        raise FaultError(f"{what} must be a number from {low:g} to {high:g}, got {target!r}")
    return value


def _hold_lock(lab: Lab, target: str | None, now: float) -> str:
    vmid, lock = _vm_and_arg(lab, target, "VMID[:LOCK]")
    lock = lock or "backup"  # as a running vzdump holds it
    if lock not in LOCKS:
        raise FaultError(f"unknown lock {lock!r}; locks: {', '.join(LOCKS)}")
    lab.pve.hold_lock(vmid, lock)
    return f"VM {vmid} config locked ({lock})"


def _release_lock(lab: Lab, target: str | None, now: float) -> str:
    vmid, _ = _vm_and_arg(lab, target, "VMID")
    lab.pve.release_lock(vmid)
    return f"VM {vmid} config lock released"


def _fail_next_task(lab: Lab, target: str | None, now: float) -> str:
    kind, _, message = (target or "").partition(":")
    if not kind:
        raise FaultError("fail-next-task needs a task type, e.g. qmigrate, qmstart, hamigrate "
                         "(target KIND[:MESSAGE])")
    lab.pve.fail_next_task(kind, message or f"simulated failure of {kind}")
    return f"the next {kind} task fails"


def _slow_api(lab: Lab, target: str | None, now: float) -> str:
    lab.api_faults.delay = _number(target, "slow-api SECONDS", 0, 60)
    return f"PVE answers take {lab.api_faults.delay:g} s more"


def _flaky_api(lab: Lab, target: str | None, now: float) -> str:
    fraction, _, status = (target or "").partition(":")
    code = _digits(status) or 0 if status else 500
    if code not in FLAKY_STATUSES:
        raise FaultError(f"flaky-api status must be one of {', '.join(map(str, FLAKY_STATUSES))}")
    lab.api_faults.fail_fraction = _number(fraction, "flaky-api FRACTION", 0, 1)
    lab.api_faults.fail_status = code
    return f"{lab.api_faults.fail_fraction:.0%} of PVE answers fail with {code}"


def _api_ok(lab: Lab, target: str | None, now: float) -> str:
    lab.api_faults.clear()
    return "PVE answers are fast and reliable again"


def _power_off(lab: Lab, target: str | None, now: float) -> str:
    lab.pve.power_off(blade := _blade(lab, target), now)
    return f"{blade} powered off"


def _power_on(lab: Lab, target: str | None, now: float) -> str:
    lab.pve.power_on(blade := _blade(lab, target), now)
    return f"{blade} powered on (online after the boot time)"


def _osd_down(lab: Lab, target: str | None, now: float) -> str:
    lab.ceph.osd_down(osd := _osd(lab, target), now)
    return f"osd.{osd} stopped"


def _osd_up(lab: Lab, target: str | None, now: float) -> str:
    lab.ceph.osd_up(osd := _osd(lab, target), now)
    return f"osd.{osd} started"


def _partitioned_blade(lab: Lab, target: str | None) -> str | None:
    """The blade to cut off or rejoin; None (no target, or `all`) for the whole cluster."""
    return None if target in (None, "", "all") else _blade(lab, target)


def _lose_quorum(lab: Lab, target: str | None, now: float) -> str:
    blade = _partitioned_blade(lab, target)
    lab.pve.lose_quorum(now, blade)
    if blade is None:
        return "PVE cluster lost quorum"
    state = "quorate" if lab.pve.quorate(now) else "not quorate"
    return f"{blade} cut off from the cluster (the rest is {state})"


def _regain_quorum(lab: Lab, target: str | None, now: float) -> str:
    blade = _partitioned_blade(lab, target)
    lab.pve.regain_quorum(now, blade)
    return "PVE cluster quorate again" if blade is None else f"{blade} rejoined the cluster"


# name -> (what the target is, how to apply); the help text of `drewburr lab fault` comes from here
FAULTS: dict[str, tuple[str, Callable[[Lab, str | None, float], str]]] = {
    "power-off": ("BLADE", _power_off),
    "power-on": ("BLADE", _power_on),
    "osd-down": ("BLADE|osd.N", _osd_down),
    "osd-up": ("BLADE|osd.N", _osd_up),
    "lose-quorum": ("[BLADE|all]", _lose_quorum),  # BLADE: a partition cuts it off
    "regain-quorum": ("[BLADE|all]", _regain_quorum),
    "hold-lock": ("VMID[:LOCK]", _hold_lock),
    "release-lock": ("VMID", _release_lock),
    "fail-next-task": ("KIND[:MESSAGE]", _fail_next_task),
    "slow-api": ("SECONDS", _slow_api),
    "flaky-api": ("FRACTION[:500|595]", _flaky_api),
    "api-ok": ("-", _api_ok),
}


def check_fault(fault: str) -> None:
    """FaultError naming the faults, unless `fault` is one."""
    if fault not in FAULTS:
        raise FaultError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")


def apply_fault(lab: Lab, fault: str, target: str | None, now: float) -> str:
    """Inject one fault; returns what happened, or raises FaultError naming the valid choices."""
    check_fault(fault)
    return FAULTS[fault][1](lab, target, now)
