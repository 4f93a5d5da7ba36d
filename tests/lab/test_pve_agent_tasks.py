"""The guest agent and the task API through proxmoxer."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import (
    agent_up,
    assert_shaped_like,
    eth0_address,
    proxmox,
    reference,
    wait_for,
    wait_task,
)


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def test_agent_ping_answers_for_a_booted_vm(api: ProxmoxAPI) -> None:
    assert api.nodes("blade1").qemu(101).agent.ping.post() == {"result": {}}


def test_network_interfaces_show_the_cloud_init_address_from_the_last_boot(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    vm.config.put(ipconfig0="ip=192.168.1.55/24,gw=192.168.1.1")
    assert eth0_address(vm) == "192.168.1.125"
    wait_task(api, vm.status.reboot.post(), 10)
    wait_for(lambda: agent_up(vm), 10, "the agent after the reboot")
    assert eth0_address(vm) == "192.168.1.55"


def test_the_agent_of_a_stopped_or_booting_vm_does_not_answer(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    wait_task(api, vm.status.stop.post())
    with pytest.raises(ResourceException) as exc:
        vm.agent.ping.post()
    assert "VM 105 is not running" in str(exc.value)
    wait_task(api, vm.status.start.post())
    with pytest.raises(ResourceException) as exc:
        vm.agent.ping.post()
    assert exc.value.status_code == 500 and "QEMU guest agent is not running" in str(exc.value)
    wait_for(lambda: agent_up(api.nodes("blade3").qemu(105)), 5, "guest booted")




def test_task_status_is_shaped_like_pve_while_running_and_after(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade3").qemu(105).status.shutdown.post()
    running = api.nodes("blade3").tasks(upid).status.get()
    assert running["status"] == "running" and "exitstatus" not in running
    assert_shaped_like(running, reference("task-status-running.json"))
    done = wait_task(api, upid)
    assert_shaped_like(done, reference("task-status-ok.json"))
    assert (done["upid"], done["type"], done["id"], done["node"]) == (upid, "qmshutdown", "105", "blade3")
    assert done["user"] == "root@pam!drewburr"


def test_task_log_pages_with_start_and_limit(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
    wait_task(api, upid)
    log = api.nodes("blade3").tasks(upid).log.get()
    assert [line["n"] for line in log] == list(range(1, len(log) + 1))
    assert api.nodes("blade3").tasks(upid).log.get(start=1, limit=2) == log[1:3]


def test_tasks_list_shows_finished_tasks_of_the_node(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade3").qemu(105).status.shutdown.post()
    wait_task(api, upid)
    tasks = api.nodes("blade3").tasks.get(vmid=105)
    assert tasks[0]["upid"] == upid and tasks[0]["status"] == "OK"
    assert api.nodes("blade3").tasks.get(typefilter="qmstart") == []


def test_an_unknown_upid_is_a_parameter_error(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").tasks("UPID:blade1:00000001:00000001:00000001:qmstart:101:root@pam:").status.get()
    assert exc.value.status_code == 400 and exc.value.errors == {"upid": "no such task"}
