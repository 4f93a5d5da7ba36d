"""Is a blade confirmed off? What PVE's HA manager says about it, read as a verdict. Pure.

PVE "offline" is not "off": a partitioned blade keeps running its VMs. A blade is off for sure
once PVE's HA manager has fenced it: the CRM moves a lost node to `fence` and, once it holds the
node's LRM lock (which its watchdog's reset guarantees), to `unknown`, its services to
`recovery`. Only a blade whose LRM was `active` (running HA services) has an armed watchdog; one
whose LRM is idle is never fenced by PVE, and only an admin can say it is off.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from infra.gateways.pve_models import HaManager

Verdict = Literal["online", "fencing", "fenced", "never", "unknown"]
STILL_THERE = frozenset({"started", "migrate", "relocate", "freeze", "request_stop", "stopped"})


class FenceState(BaseModel):
    verdict: Verdict
    reason: str

    @property
    def off(self) -> bool:
        return self.verdict == "fenced"


def fence_state(status: HaManager, blade: str) -> FenceState:
    if not status.quorate:
        return FenceState(verdict="unknown", reason="PVE has no quorum: its HA manager fences nothing")
    node = status.nodes.get(blade)
    if node is None:
        return FenceState(verdict="unknown", reason=f"PVE's HA manager does not know {blade}")
    if node == "online":
        return FenceState(verdict="online", reason=f"PVE's HA manager sees {blade} online")
    here = {sid: s.state for sid, s in status.services.items() if s.node == blade}
    if node == "fence" or "fence" in here.values():
        return FenceState(verdict="fencing", reason=f"PVE HA is fencing {blade}: it waits for the "
                          "blade's watchdog to have reset it before recovering its services")
    lrm = status.lrms.get(blade)
    if lrm is None or lrm.state != "active":
        state = lrm.state if lrm else "unknown"
        return FenceState(verdict="never", reason=(
            f"{blade}'s LRM is idle ({state}: no HA services, so no armed watchdog): PVE HA will never "
            f"fence it, and if it is partitioned rather than off its VMs still run. An admin can confirm "
            f"it is powered off"))
    waiting = sorted(sid for sid, state in here.items() if state in STILL_THERE)
    if waiting:  # the CRM has not acted on the lost node yet
        return FenceState(verdict="fencing", reason=f"PVE HA has not fenced {blade} yet "
                          f"({', '.join(waiting)} still placed there, node {node})")
    return FenceState(verdict="fenced", reason=f"PVE HA fenced {blade} (node {node}, its LRM was active, "
                      "its services recovered): its watchdog reset it")
