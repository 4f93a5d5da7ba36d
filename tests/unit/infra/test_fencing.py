"""What PVE's HA manager says about a lost blade, read as a fence verdict."""

from __future__ import annotations

import json
from typing import Any

from infra.fencing import fence_state
from infra.gateways.pve_models import HaManager
from tests.conftest import REFERENCE


def _status(node: str, lrm: str, services: dict[str, tuple[str, str]], quorate: int = 1) -> HaManager:
    service_status = {sid: {"node": n, "state": s} for sid, (n, s) in services.items()}
    return HaManager.parse({
        "manager_status": {"node_status": {"blade1": "online", "blade3": node},
                           "service_status": service_status},
        "quorum": {"quorate": quorate},
        "lrm_status": {"blade1": {"state": "active", "mode": "active"}, "blade3": {"state": lrm}}})


def test_a_real_manager_status_parses_and_its_online_node_is_never_fenced() -> None:
    data: dict[str, Any] = json.loads((REFERENCE / "pve" / "ha-manager-status.json").read_text())["data"]
    status = HaManager.parse(data)
    assert status.quorate and status.services["vm:100"].node == "node1"
    assert fence_state(status, "node1").verdict == "online"


def test_a_lost_blade_is_fencing_until_the_crm_got_its_lock_then_fenced() -> None:
    fencing = fence_state(_status("fence", "active", {"vm:103": ("blade3", "fence")}), "blade3")
    assert fencing.verdict == "fencing" and not fencing.off
    assert fence_state(_status("unknown", "active", {"vm:103": ("blade3", "started")}),
                       "blade3").verdict == "fencing"  # the CRM has not acted yet
    fenced = fence_state(_status("unknown", "active", {"vm:103": ("blade3", "recovery")}), "blade3")
    assert fenced.off and fenced.reason.startswith("PVE HA fenced blade3")
    # its services already run elsewhere: its LRM's last status still says it was active
    assert fence_state(_status("unknown", "active", {"vm:103": ("blade1", "started")}), "blade3").off


def test_a_blade_with_an_idle_lrm_is_never_fenced_by_pve() -> None:
    state = fence_state(_status("unknown", "wait_for_agent_lock", {}), "blade3")
    assert state.verdict == "never" and not state.off
    assert "no armed watchdog" in state.reason and "An admin can confirm" in state.reason


def test_without_quorum_nothing_is_known() -> None:
    assert fence_state(_status("fence", "active", {}, quorate=0), "blade3").verdict == "unknown"
    assert fence_state(_status("unknown", "active", {}), "blade9").verdict == "unknown"
