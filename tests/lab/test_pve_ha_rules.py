"""PVE 9 HA rules through proxmoxer: where dead blades' services restart, what keeps guests
apart, the groups PVE 9 no longer has, and the CRM's manager status."""

from __future__ import annotations

from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import fault, proxmox, vm_resource, wait_for, wait_task


@pytest.fixture
def api(fast_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(fast_lab)


def _placed(api: ProxmoxAPI, vmid: int, state: str = "started") -> str | None:
    vm = vm_resource(api, vmid)
    return vm["node"] if vm.get("hastate") == state and vm["status"] == "running" else None


def _crm_rounds(lab: RunningLab, seconds: float = 30) -> None:
    """Let a few CRM rounds (and a migration they would start) pass in lab time."""
    later = lab.call(lambda: lab.lab.advance()) + seconds
    wait_for(lambda: lab.call(lambda: lab.lab.advance()) > later, 10, f"{seconds} lab seconds")


def _error(call: Any) -> ResourceException:
    with pytest.raises(ResourceException) as exc:
        call()
    return exc.value


def test_pve9_has_no_ha_groups_left_to_manage(api: ProxmoxAPI) -> None:
    groups = api.cluster.ha.groups
    calls = ((groups.get, "index groups"), (lambda: groups.post(group="grp", nodes="blade1"), "create group"),
             (groups("grp").get, "read group"), (lambda: groups("grp").put(comment="x"), "update group"),
             (groups("grp").delete, "delete group"))
    for call, verb in calls:
        error = _error(call)
        assert error.status_code == 500
        assert f"cannot {verb}: ha groups have been migrated to rules" in str(error)


def test_a_node_affinity_rule_decides_where_a_dead_blades_vm_restarts(
        fast_lab: RunningLab, api: ProxmoxAPI) -> None:
    # without a rule kube04 would restart where most memory is free (blade1); the rule says blade2
    api.cluster.ha.rules.post(rule="kube04-home", type="node-affinity", resources="vm:104",
                              nodes="blade4:2,blade2:1")
    rule = api.cluster.ha.rules("kube04-home").get()
    assert (rule["nodes"], rule["resources"], rule["order"]) == ("blade2:1,blade4:2", "vm:104", 1)
    assert "strict" not in rule and len(rule["digest"]) == 40
    fault(fast_lab, "power-off", "blade4")
    assert wait_for(lambda: _placed(api, 104), 20, "kube04 recovered") == "blade2"


def test_a_strict_rule_leaves_the_vm_stopped_until_its_node_is_back(
        fast_lab: RunningLab, api: ProxmoxAPI) -> None:
    api.cluster.ha.rules.post(rule="pinned", type="node-affinity", resources="vm:104", nodes="blade4",
                              strict=1)
    fault(fast_lab, "power-off", "blade4")
    wait_for(lambda: vm_resource(api, 104).get("hastate") == "recovery", 20, "fenced, then recovery")
    status = api.cluster.ha.status.manager_status.get()["manager_status"]
    assert status["service_status"]["vm:104"]["state"] == "recovery"
    assert status["node_status"]["blade4"] in ("unknown", "fence")
    fault(fast_lab, "power-on", "blade4")
    assert wait_for(lambda: _placed(api, 104), 20, "kube04 back on blade4") == "blade4"


def test_a_negative_resource_affinity_rule_keeps_two_vms_apart(fast_lab: RunningLab, api: ProxmoxAPI) -> None:
    api.cluster.ha.rules.post(rule="apart", type="resource-affinity", resources="vm:101,vm:102",
                              affinity="negative")
    pre = api.nodes("blade1").qemu(101).migrate.get()
    assert pre["not_allowed_nodes"] == {"blade2": {"blocking-ha-resources": [
        {"sid": "vm:102", "cause": "resource-affinity"}]}}
    assert "blade2" not in pre["allowed_nodes"]
    answer = api.cluster.ha.resources("vm:101").migrate.post(node="blade2")
    assert answer["blocking-resources"] == [{"sid": "vm:102", "cause": "resource-affinity"}]
    upid = api.nodes("blade1").qemu(101).migrate.post(target="blade2", online=1)
    status = wait_task(api, upid)  # `ha-manager migrate` says why and fails; the CRM drops the command
    assert status["exitstatus"] == "command 'ha-manager migrate vm:101 blade2' failed: exit code 255"
    log = [line["t"] for line in api.nodes("blade1").tasks(upid).log.get()]
    assert "- resource 'vm:102' on target node 'blade2' in negative affinity with resource 'vm:101'" in log
    _crm_rounds(fast_lab)
    assert vm_resource(api, 101)["node"] == "blade1"
    # and when blade1 dies kube01 restarts anywhere but beside kube02 (blade2 has the most room)
    fault(fast_lab, "power-off", "blade1")
    assert wait_for(lambda: _placed(api, 101), 20, "kube01 recovered") == "blade4"


def test_with_failback_a_rule_pulls_a_running_vm_to_its_preferred_node(
        fast_lab: RunningLab, api: ProxmoxAPI) -> None:
    api.cluster.ha.resources("vm:101").put(failback=0)
    assert api.cluster.ha.resources("vm:101").get()["failback"] == 0
    api.cluster.ha.rules.post(rule="prefer2", type="node-affinity", resources="vm:101", nodes="blade2")
    _crm_rounds(fast_lab)
    assert vm_resource(api, 101)["node"] == "blade1"  # still allowed there: it stays
    api.cluster.ha.resources("vm:101").put(failback=1)
    wait_for(lambda: vm_resource(api, 101)["node"] == "blade2", 10, "kube01 moved to blade2")


def test_a_positive_resource_affinity_rule_brings_two_vms_together_and_moves_them_together(
        api: ProxmoxAPI) -> None:
    api.cluster.ha.rules.post(rule="together", type="resource-affinity", resources="vm:102,vm:103",
                              affinity="positive")
    wait_for(lambda: vm_resource(api, 102)["node"] == vm_resource(api, 103)["node"]
             and "lock" not in vm_resource(api, 103), 20, "one CRM round and a migration")
    source = vm_resource(api, 102)["node"]
    upid = api.nodes(source).qemu(102).migrate.post(target="blade4", online=1)
    assert wait_task(api, upid)["exitstatus"] == "OK"
    log = [line["t"] for line in api.nodes(source).tasks(upid).log.get()]
    assert ("also migrate resource 'vm:103' in positive affinity with resource 'vm:102' "
            "to target node 'blade4'") in log
    wait_for(lambda: {vm_resource(api, v)["node"] for v in (102, 103)} == {"blade4"}, 20, "both on blade4")


def test_rules_are_listed_updated_and_deleted_as_pve_keeps_them(api: ProxmoxAPI) -> None:
    rules = api.cluster.ha.rules
    rules.post(rule="alpha", type="node-affinity", resources="vm:101", nodes="blade1")
    rules.post(rule="beta", type="resource-affinity", resources="vm:102,vm:103", affinity="negative",
               comment="spread")
    assert [r["rule"] for r in rules.get()] == ["alpha", "beta"]
    assert [r["rule"] for r in rules.get(type="resource-affinity")] == ["beta"]
    assert [r["rule"] for r in rules.get(resource="vm:101")] == ["alpha"]
    digest = rules("alpha").get()["digest"]
    rules("alpha").put(type="node-affinity", strict=1, nodes="blade1,blade3", digest=digest)
    assert (rules("alpha").get()["strict"], rules("alpha").get()["nodes"]) == (1, "blade1,blade3")
    stale = _error(lambda: rules("alpha").put(type="node-affinity", comment="x", digest=digest))
    assert "detected modified configuration - file changed by other user? Try again." in str(stale)
    wrong_type = _error(lambda: rules("alpha").put(type="resource-affinity", comment="x"))
    assert "error with cfs lock 'domain-ha': unexpected property 'type'" in str(wrong_type)
    rules("alpha").put(type="node-affinity", delete="strict")
    assert "strict" not in rules("alpha").get()
    rules("alpha").delete()
    assert [r["rule"] for r in rules.get()] == ["beta"]
    assert "no such ha rule 'alpha'" in str(_error(rules("alpha").get))


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"resources": "vm:105", "nodes": "blade1"}, 500,
     "create ha rule failed: error with cfs lock 'domain-ha': cannot use unmanaged resource(s) vm:105."),
    ({"resources": "vm:101", "nodes": "blade9"}, 500, "cannot use non-existent node(s) blade9."),
    ({"resources": "vm:101"}, 500, "missing value for required option 'nodes'"),
    ({"resources": "vm:101", "nodes": "blade1", "affinity": "negative"}, 500,
     "unexpected property 'affinity'"),
    ({"resources": "vm:101", "nodes": "blade1:high"}, 400, "value does not look like a valid ha node"),
    ({"resources": "101", "nodes": "blade1"}, 400, "value does not look like a valid ha resource id"),
])
def test_bad_rules_get_pve_errors(api: ProxmoxAPI, params: dict[str, str], status: int, message: str) -> None:
    error = _error(lambda: api.cluster.ha.rules.post(rule="bad", type="node-affinity", **params))
    assert error.status_code == status and message in str(error) + str(error.errors)


def test_an_infeasible_rule_is_refused_with_its_reason(api: ProxmoxAPI) -> None:
    api.cluster.ha.rules.post(rule="one", type="node-affinity", resources="vm:101", nodes="blade1")
    error = _error(lambda: api.cluster.ha.rules.post(rule="two", type="node-affinity",
                                                      resources="vm:101", nodes="blade3"))
    assert "create ha rule failed: 400 Rule 'two' is invalid." in str(error)
    duplicate = _error(lambda: api.cluster.ha.rules.post(rule="one", type="node-affinity",
                                                          resources="vm:102", nodes="blade3"))
    assert "HA rule 'one' already defined" in str(duplicate)
    assert [r["rule"] for r in api.cluster.ha.rules.get()] == ["one"]


def test_manager_status_is_the_crm_masters_view(api: ProxmoxAPI) -> None:
    status = api.cluster.ha.status.manager_status.get()
    manager = status["manager_status"]
    assert manager["master_node"] == "blade1" and status["quorum"] == {"node": "blade1", "quorate": 1}
    assert manager["node_status"] == dict.fromkeys(["blade1", "blade2", "blade3", "blade4"], "online")
    assert set(manager["service_status"]) == {"vm:101", "vm:102", "vm:103", "vm:104"}
    assert manager["service_status"]["vm:104"]["node"] == "blade4"
    assert manager["service_status"]["vm:104"]["state"] == "started"
    assert status["lrm_status"]["blade4"]["state"] == "active"
    assert status["lrm_status"]["blade1"]["mode"] == "active"
