"""The guest's shell and programs run on a guest of their own (no PVE, no HTTP)."""

from __future__ import annotations

import math

import pytest

from lab.guest.interp import NotExecutable, run_argv, run_script
from lab.guest.models import Ctx, new_guest
from lab.guest.programs import ubuntu
from lab.pve.objects import Vm


def _ctx(stdin: bytes = b"") -> Ctx:
    vm = Vm(
        vmid=101,
        name="kube01",
        node="blade1",
        cores=2,
        memory=2**31,
        disks=[],
        status="running",
        config={"ide2": "local:vm-101-cloudinit,media=cdrom"},
        cloudinit_booted={"name": "kube01"},  # it booted with a cloud-init drive
    )
    software = ubuntu()
    return Ctx(new_guest(vm, software), vm, software, 1000.0, {"PATH": "/usr/bin:/bin"}, stdin)


def _sh(script: str, stdin: bytes = b"") -> tuple[int, str, str]:
    result = run_argv(_ctx(stdin), ["sh", "-c", script])
    return result.code, result.out.decode(), result.err.decode()


def test_exit_status_is_the_last_commands_and_and_or_lists_short_circuit():
    assert _sh("true && echo yes || echo no") == (0, "yes\n", "")
    assert _sh("false && echo yes || echo no") == (0, "no\n", "")
    assert _sh("false; echo $?") == (0, "1\n", "")
    assert _sh("echo a | false") == (1, "", "")
    assert _sh("exit 7; echo never") == (7, "", "")


def test_set_e_stops_at_the_first_failure():
    assert _sh("set -e; echo one; false; echo two") == (1, "one\n", "")


def test_variables_assignments_and_command_substitution():
    assert _sh('X=1; export Y=2; echo "$X $Y ${X}x"') == (0, "1 2 1x\n", "")
    assert _sh("echo host=$(hostname)") == (0, "host=kube01\n", "")
    assert _sh("sh -c 'echo $0 $1 $#' name a") == (0, "name a 1\n", "")


def test_redirections_write_files_and_merge_streams():
    ctx = _ctx()
    run_argv(
        ctx, ["sh", "-c", "echo hi > /tmp/f; echo more >> /tmp/f; cat /nope 2>/dev/null; cat /nope 2>&1"]
    )
    assert ctx.guest.files["/tmp/f"] == b"hi\nmore\n"
    assert _sh("cat /nope 2>&1") == (1, "cat: /nope: No such file or directory\n", "")
    assert _sh("echo err >&2") == (0, "", "err\n")


def test_stdin_reaches_the_first_command_that_reads_it():
    assert _sh("cat | grep b", b"a\nb\nc\n") == (0, "b\n", "")
    assert run_argv(_ctx(b"echo from stdin\n"), ["sh"]).out == b"from stdin\n"  # a script on stdin


def test_unknown_commands_exit_127_in_dash_and_bash_words():
    assert _sh("nope") == (127, "", "sh: 1: nope: not found\n")
    assert _sh("echo ok\n/opt/nope") == (127, "ok\n", "sh: 2: /opt/nope: not found\n")
    bash = run_argv(_ctx(), ["bash", "-c", "nope"])
    assert (bash.code, bash.err) == (127, b"bash: line 1: nope: command not found\n")


def test_syntax_errors_exit_2():
    assert _sh('echo "open') == (2, "", "sh: 1: Syntax error: Unterminated quoted string\n")


def test_executables_need_their_mode():
    ctx = _ctx()
    ctx.guest.write("/root/run.sh", b"#!/bin/sh\necho ran\n")
    with pytest.raises(NotExecutable, match="Permission denied"):
        run_argv(ctx, ["/root/run.sh"])
    run_argv(ctx, ["chmod", "+x", "/root/run.sh"])
    assert run_argv(ctx, ["/root/run.sh"]).out == b"ran\n"
    with pytest.raises(NotExecutable, match="No such file or directory"):
        run_argv(ctx, ["k3s"])


def test_commands_take_lab_time_and_sleep_inf_never_ends():
    assert run_argv(_ctx(), ["sh", "-c", "sleep 5; sleep 2.5"]).duration == 7.5
    assert math.isinf(run_argv(_ctx(), ["sh", "-c", "sleep inf"]).duration)
    assert run_script(_ctx(), "echo $@", "sh", ["a", "b"]).out == b"a b\n"


def test_cloud_init_reports_running_then_done():
    ctx = _ctx()
    ctx.vm.agent_ready_at = ctx.now - 5
    ctx.guest.first_boot = ctx.vm.started_at
    assert run_argv(ctx, ["cloud-init", "status"]).out == b"status: running\n"
    waited = run_argv(ctx, ["cloud-init", "status", "--wait"])
    assert waited.duration == 20 and waited.out == b"." * 80 + b"\nstatus: done\n"
    assert run_argv(ctx.later(30), ["cloud-init", "status"]).out == b"status: done\n"


def test_test_env_and_printf_as_scripts_use_them():
    ctx = _ctx()
    ctx.guest.write("/etc/rancher/k3s/k3s.yaml", b"x")
    assert run_argv(ctx, ["sh", "-c", "[ -f /etc/rancher/k3s/k3s.yaml ] && echo server"]).out == b"server\n"
    assert run_argv(ctx, ["sh", "-c", "test -d /nope || echo none"]).out == b"none\n"
    assert run_argv(ctx, ["sh", "-c", '[ "$X" = "" ] && printf "%s-%s\\n" a b']).out == b"a-b\n"
    assert run_argv(ctx, ["env", "GREETING=hi", "sh", "-c", "echo $GREETING"]).out == b"hi\n"
    assert run_argv(ctx, ["sh", "-c", "[ -f x"]).code == 2
