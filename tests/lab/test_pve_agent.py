"""The guest agent through proxmoxer: exec round trips, exec-status, files, guest info, and the
errors PVE and qemu-ga give; fakepve as a second opinion on the parameters."""

from __future__ import annotations

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import agent_up, proxmox, wait_for, wait_task

TOKEN, SECRET = "root@pam!drewburr", "s3cret"


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def _message(exc: ResourceException) -> str:
    """The error as pveproxy sent it: its reason phrase is UTF-8 that http.client reads as Latin-1."""
    return str(exc).encode("latin-1").decode("utf-8")


def _run(agent, command: list[str] | str, **kw: str) -> dict:  # type: ignore[no-untyped-def]
    pid = agent.exec.post(command=command, **kw)["pid"]
    return wait_for(lambda: (r := agent("exec-status").get(pid=pid))["exited"] and r, 10, "exec")


def test_exec_round_trip_with_input_data_and_real_exit_codes(api: ProxmoxAPI) -> None:
    agent = api.nodes("blade1").qemu(101).agent
    assert _run(agent, ["cat"], **{"input-data": "hello from PVE\n"}) == {
        "exited": 1,
        "exitcode": 0,
        "out-data": "hello from PVE\n",
    }
    assert _run(agent, ["false"]) == {"exited": 1, "exitcode": 1}
    assert _run(agent, ["sh", "-c", "echo out; echo err >&2; exit 3"]) == {
        "exited": 1,
        "exitcode": 3,
        "out-data": "out\n",
        "err-data": "err\n",
    }
    assert (
        _run(agent, ["sh", "-c", "hostname && cat /etc/hostname | grep kube"])["out-data"]
        == "kube01\nkube01\n"
    )
    assert _run(agent, ["sh", "-c", "foo --bar"]) == {
        "exited": 1,
        "exitcode": 127,
        "err-data": "sh: 1: foo: not found\n",
    }
    assert _run(agent, ["bash", "-c", "foo"])["err-data"] == "bash: line 1: foo: command not found\n"


def test_a_program_that_does_not_exist_is_the_agents_error(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as caught:
        api.nodes("blade1").qemu(101).agent.exec.post(command=["/nonexistent"])
    assert caught.value.status_code == 500
    assert (
        "Agent error: Guest agent command failed, error was 'Failed to execute child process "
        "\u201c/nonexistent\u201d (No such file or directory)'"
    ) in _message(caught.value)


def test_a_command_line_in_one_form_value_is_one_argv_element_not_a_shell_line(
    running_lab: RunningLab,
) -> None:
    # proxmoxer splits a string `command` itself (its issue #89), so send the form as other clients do
    answer = requests.post(
        f"{running_lab.pve_url}/api2/json/nodes/blade1/qemu/101/agent/exec",
        data={"command": "echo hi there"},
        headers={"Authorization": f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}"},
        verify=running_lab.ca_file,
        timeout=10,
    )
    assert answer.status_code == 500
    assert "Failed to execute child process \u201cecho hi there\u201d" in answer.json()["message"]


def test_exec_status_says_running_until_the_command_has_taken_its_time_then_forgets_it(
    api: ProxmoxAPI,
) -> None:
    agent = api.nodes("blade1").qemu(101).agent
    pid = agent.exec.post(command=["sleep", "100"])["pid"]
    assert agent("exec-status").get(pid=pid) == {"exited": 0}
    wait_for(lambda: agent("exec-status").get(pid=pid)["exited"], 10, "sleep to end")
    with pytest.raises(ResourceException) as caught:  # qemu-ga frees a process once its exit was read
        agent("exec-status").get(pid=pid)
    assert "Agent error: Invalid parameter 'pid'" in str(caught.value)


def test_file_write_then_file_read_and_run_the_written_script(api: ProxmoxAPI) -> None:
    agent = api.nodes("blade2").qemu(102).agent
    script = '#!/bin/sh\nset -e\necho "args: $@"\ncat /etc/os-release | grep VERSION_ID\n'
    assert agent("file-write").post(file="/root/setup.sh", content=script) is None
    read = agent("file-read").get(file="/root/setup.sh")
    assert read == {"content": script, "bytes-read": len(script)}
    assert _run(agent, ["sh", "/root/setup.sh", "a", "b"])["out-data"] == 'args: a b\nVERSION_ID="24.04"\n'
    with pytest.raises(ResourceException) as caught:  # written 0644: not executable until chmod
        agent.exec.post(command=["/root/setup.sh"])
    assert "(Permission denied)" in str(caught.value)
    assert agent("file-read").get(file="/root/setup.sh", count=5) == {
        "content": "#!/bi",
        "bytes-read": 5,
        "truncated": 1,
    }
    agent("file-write").post(file="/tmp/b64", content="aGk=", encode=0)
    assert agent("file-read").get(file="/tmp/b64")["content"] == "hi"


def test_a_script_that_runs_itself_never_ends(api: ProxmoxAPI) -> None:
    agent = api.nodes("blade2").qemu(102).agent
    agent("file-write").post(file="/root/loop.sh", content="sh /root/loop.sh\n")
    pid = agent.exec.post(command=["sh", "/root/loop.sh"])["pid"]
    _run(agent, ["sleep", "30"])  # lab time passes
    assert agent("exec-status").get(pid=pid) == {"exited": 0}


def test_file_errors_are_qemu_gas(api: ProxmoxAPI) -> None:
    agent = api.nodes("blade2").qemu(102).agent
    with pytest.raises(ResourceException) as caught:
        agent("file-read").get(file="/etc/nothing")
    assert "Agent error: failed to open file '/etc/nothing' (mode: 'r'): No such file or directory" in str(
        caught.value
    )
    with pytest.raises(ResourceException) as caught:
        agent("file-write").post(file="/no/such/dir/x", content="x")
    assert "failed to open file '/no/such/dir/x' (mode: 'wb'): No such file or directory" in str(caught.value)
    with pytest.raises(ResourceException) as caught:
        agent("file-write").post(file="/tmp/x", content="x", bogus=1)
    assert caught.value.status_code == 400


def test_guest_info_comes_from_the_guest(api: ProxmoxAPI) -> None:
    agent = api.nodes("blade3").qemu(103).agent
    osinfo = agent("get-osinfo").get()["result"]
    assert (osinfo["id"], osinfo["version-id"], osinfo["pretty-name"]) == (
        "ubuntu",
        "24.04",
        "Ubuntu 24.04.1 LTS",
    )
    assert {"kernel-release", "kernel-version", "machine", "name", "version"} <= set(osinfo)
    info = agent.info.get()["result"]
    assert info["version"] and {"guest-exec", "guest-file-write"} <= {
        c["name"] for c in info["supported_commands"]
    }
    assert agent("get-host-name").get() == {"result": {"host-name": "kube03"}}


def test_cloud_init_status_waits_until_the_guest_has_booted(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    wait_task(api, vm.status.stop.post())
    with pytest.raises(ResourceException) as caught:
        vm.agent.exec.post(command=["true"])
    assert "VM 105 is not running" in str(caught.value)
    wait_task(api, vm.status.start.post())
    wait_for(lambda: agent_up(vm), 10, "agent up")
    pid = vm.agent.exec.post(command=["cloud-init", "status", "--wait"])["pid"]
    assert vm.agent("exec-status").get(pid=pid) == {"exited": 0}
    done = wait_for(lambda: (r := vm.agent("exec-status").get(pid=pid))["exited"] and r, 10, "cloud-init")
    assert (
        done["exitcode"] == 0
        and done["out-data"].startswith(".")
        and done["out-data"].endswith("\nstatus: done\n")
    )
    assert _run(vm.agent, ["cloud-init", "status"])["out-data"] == "status: done\n"




@pytest.fixture
def fake_vm(fakepve):  # type: ignore[no-untyped-def]
    """kube01 with a running agent in fakepve, an independent fake with PVE's schema checks."""
    fakepve.apitokens[TOKEN] = SECRET
    vm = fakepve.add_vm(101, "kube01", node="blade1", status="running")
    vm.agent = {}
    return vm


@pytest.fixture
def fake_agent(fakepve, fakepve_cafile, fake_vm):  # type: ignore[no-untyped-def]
    host, port = fakepve.url.removeprefix("https://").split(":")
    api = ProxmoxAPI(
        host,
        port=int(port),
        user="root@pam",
        token_name="drewburr",
        token_value=SECRET,
        verify_ssl=fakepve_cafile,
    )
    return api.nodes("blade1").qemu(101).agent


def test_fakepve_takes_the_same_agent_calls(fake_agent, fake_vm) -> None:  # type: ignore[no-untyped-def]
    assert set(fake_agent.exec.post(command=["cat"], **{"input-data": "x"})) == {"pid"}
    assert fake_agent("file-write").post(file="/root/x", content="x") is None
    assert "content" in fake_agent("file-read").get(file="/root/x")
    assert [c for c, _ in fake_vm.agent_requests] == ["exec", "file-write", "file-read"]


def test_the_guis_read_only_queries_answer_from_the_guest(api: ProxmoxAPI, running_lab: RunningLab) -> None:
    vm = api.nodes("blade4").qemu(104)
    agent = vm.agent
    assert {"exec", "file-read", "get-osinfo", "ping"} <= {c["name"] for c in agent.get()}
    assert len(agent("get-vcpus").get()["result"]) == vm.config.get()["cores"]
    lab_now = running_lab.call(running_lab.lab.clock.now)
    assert abs(agent("get-time").get()["result"] / 1e9 - lab_now) < 60
    root = next(fs for fs in agent("get-fsinfo").get()["result"] if fs["mountpoint"] == "/")
    assert root["type"] == "ext4" and 0 < root["used-bytes"] < root["total-bytes"] < 64 * 1024**3
    assert agent("get-timezone").get() == {"result": {"zone": "UTC", "offset": 0}}
    assert agent("fsfreeze-status").post() == {"result": "thawed"}
    assert agent("get-memory-block-info").get() == {"result": {"size": 128 * 1024**2}}


def _keys(answer: dict) -> set[str]:
    result = answer["result"]
    return set(result[0] if isinstance(result, list) else result)


def test_our_agent_answers_have_the_keys_fakepve_gives(api: ProxmoxAPI, fake_agent) -> None:  # type: ignore[no-untyped-def]
    ours = api.nodes("blade1").qemu(101).agent
    for query in ("get-osinfo", "get-vcpus", "get-fsinfo", "info", "get-timezone", "get-host-name"):
        assert _keys(fake_agent(query).get()) <= _keys(ours(query).get()), query
