"""Nodes and cluster views through proxmoxer, shaped like real PVE captures."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import assert_shaped_like, proxmox, reference, wait_for, wait_task


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def test_nodes_lists_every_blade_like_pve(api: ProxmoxAPI) -> None:
    nodes = api.nodes.get()
    assert sorted(n["node"] for n in nodes) == ["blade1", "blade2", "blade3", "blade4"]
    for node in nodes:
        assert_shaped_like(node, reference("nodes.json")[0])
        assert node["maxmem"] == 16 * 1024**3 and node["maxcpu"] == 6


def test_node_status_reports_cpu_memory_and_uptime(api: ProxmoxAPI) -> None:
    status = api.nodes("blade1").status.get()
    assert status["cpuinfo"]["cpus"] == 6
    assert status["memory"]["total"] == 16 * 1024**3
    assert status["memory"]["used"] + status["memory"]["free"] == status["memory"]["total"]
    assert status["uptime"] > 0 and status["pveversion"].startswith("pve-manager/9")


def test_an_unknown_node_is_a_failed_hostname_lookup(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade9").status.get()
    assert exc.value.status_code == 500
    assert "hostname lookup 'blade9' failed" in str(exc.value)


def test_cluster_status_is_quorate_with_every_node_online(api: ProxmoxAPI) -> None:
    status = api.cluster.status.get()
    cluster = next(e for e in status if e["type"] == "cluster")
    nodes = [e for e in status if e["type"] == "node"]
    real = reference("cluster-status.json")
    assert_shaped_like(cluster, real[0])
    for node in nodes:
        assert_shaped_like(node, real[1])
    assert cluster["quorate"] == 1 and cluster["nodes"] == 4
    assert {n["name"]: n["online"] for n in nodes} == dict.fromkeys(["blade1", "blade2", "blade3",
                                                                     "blade4"], 1)
    assert sum(n["local"] for n in nodes) == 1


def test_cluster_resources_filter_by_type_and_carry_ha_and_template(api: ProxmoxAPI) -> None:
    real = reference("cluster-resources.json")
    vms = api.cluster.resources.get(type="vm")
    assert {v["type"] for v in vms} == {"qemu"}
    by_id = {v["vmid"]: v for v in vms}
    real_running = next(r for r in real if r["type"] == "qemu" and r["status"] == "running")
    assert_shaped_like(by_id[101], real_running)
    assert by_id[101]["id"] == "qemu/101" and by_id[101]["node"] == "blade1"
    assert by_id[101]["hastate"] == "started" and "hastate" not in by_id[105]
    assert by_id[9000]["template"] == 1 and by_id[9000]["status"] == "stopped"
    nodes = api.cluster.resources.get(type="node")
    assert {n["type"] for n in nodes} == {"node"}
    assert_shaped_like(nodes[0], next(r for r in real if r["type"] == "node"))
    storage = api.cluster.resources.get(type="storage")
    assert {s["storage"] for s in storage} == {"ceph-rbd"} and all(s["shared"] == 1 for s in storage)
    assert len(api.cluster.resources.get()) == len(vms) + len(nodes) + len(storage)


def test_a_locked_vm_shows_its_lock_in_cluster_resources(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    running_lab.call(running_lab.lab.pve.hold_lock, 102, "backup")
    assert next(v for v in api.cluster.resources.get(type="vm") if v["vmid"] == 102)["lock"] == "backup"


def test_nextid_gives_a_free_id_and_refuses_a_taken_one(api: ProxmoxAPI) -> None:
    assert int(api.cluster.nextid.get()) == 100
    assert int(api.cluster.nextid.get(vmid=150)) == 150
    with pytest.raises(ResourceException) as exc:
        api.cluster.nextid.get(vmid=101)
    assert exc.value.status_code == 400
    assert exc.value.errors == {"vmid": "VM 101 already exists"}


def test_ha_resources_list_the_ha_managed_vms(api: ProxmoxAPI) -> None:
    assert [r["sid"] for r in api.cluster.ha.resources.get()] == ["vm:101", "vm:102", "vm:103", "vm:104"]
    assert api.cluster.ha.resources("vm:101").get()["state"] == "started"
    with pytest.raises(ResourceException) as exc:
        api.cluster.ha.resources("vm:105").get()
    assert "no such resource 'vm:105'" in str(exc.value)


def test_a_service_id_with_non_ascii_digits_gets_pves_error_not_a_lab_crash(api: ProxmoxAPI) -> None:
    sid = api.cluster.ha.resources("vm:\u00b2")  # '²' passes str.isdigit but not int()
    create = lambda: api.cluster.ha.resources.post(sid="vm:\u00b2")  # noqa: E731
    for request, message in [(sid.get, "no such resource"), (sid.delete, "cannot delete service"),
                             (create, "unable to parse service id"),
                             (lambda: sid.migrate.post(node="blade2"), "is not HA managed")]:
        with pytest.raises(ResourceException) as exc:
            request()
        assert message in str(exc.value) and "internal error" not in str(exc.value)


def test_ha_status_shows_quorum_master_lrms_and_services(api: ProxmoxAPI) -> None:
    status = api.cluster.ha.status.current.get()
    assert status[0] == {**status[0], "id": "quorum", "quorate": 1, "status": "OK"}
    services = {s["sid"]: s for s in status if s["type"] == "service"}
    assert set(services) == {"vm:101", "vm:102", "vm:103", "vm:104"}
    real = reference("ha-status.json")[1]
    assert_shaped_like(services["vm:101"], real, {"type", "node", "state", "request_state"})
    assert services["vm:103"]["node"] == "blade3" and services["vm:103"]["state"] == "started"
    assert {s["node"] for s in status if s["type"] == "lrm"} == {"blade1", "blade2", "blade3", "blade4"}


def test_a_node_reboot_stops_its_guests_and_brings_them_back(running_lab: RunningLab,
                                                            api: ProxmoxAPI) -> None:
    assert api.nodes("blade3").status.post(command="reboot") is None

    def down() -> bool:
        try:
            api.nodes("blade3").status.get()
        except ResourceException as exc:
            return exc.status_code == 595
        return False

    wait_for(down, 5, "blade3 down")
    vms = {v["vmid"]: v for v in api.cluster.resources.get(type="vm")}
    assert vms[103]["status"] == "stopped" and vms[103]["hastate"] == "freeze"
    assert next(n for n in api.cluster.status.get() if n.get("name") == "blade3")["online"] == 0

    def back() -> bool:
        vms = {v["vmid"]: v for v in api.cluster.resources.get(type="vm")}
        return vms[103]["status"] == vms[105]["status"] == "running"

    wait_for(back, 10, "guests of blade3 running again")
    vms = {v["vmid"]: v for v in api.cluster.resources.get(type="vm")}
    assert vms[103]["node"] == vms[105]["node"] == "blade3"  # frozen, not recovered elsewhere


def test_a_vm_put_under_ha_is_started_by_the_crm_and_can_be_removed(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade1").qemu(9000)
    wait_task(api, vm.clone.post(newid=140, name="kube06"))
    assert api.cluster.ha.resources.post(sid="vm:140", state="started") is None
    with pytest.raises(ResourceException) as exc:
        api.cluster.ha.resources.post(sid="vm:140")
    assert "resource ID 'vm:140' already defined" in str(exc.value)
    wait_for(lambda: api.nodes("blade1").qemu(140).status.current.get()["status"] == "running", 5,
             "the CRM starts vm:140")
    assert api.nodes("blade1").qemu(140).status.current.get()["ha"]["managed"] == 1
    api.cluster.ha.resources("vm:140").delete()
    assert "vm:140" not in [r["sid"] for r in api.cluster.ha.resources.get()]
    with pytest.raises(ResourceException) as exc:
        api.cluster.ha.resources.post(sid="vm:999")
    assert "resource 'vm:999' does not exist in cluster" in str(exc.value)
