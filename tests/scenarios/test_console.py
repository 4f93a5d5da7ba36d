"""The console as a person in the lab's Slack: `drewburr lab` runs the lab, the real bot (`serve`
in Socket Mode against the Slack twin) and a console that types /drewburr and presses buttons."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.cli import app
from bot.console import run_line
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for

SCRIPT = """\
status
as rita
drain blade3
as oscar
drain blade3
1
wait `drain blade3` done in
2
lab fault power-off blade4
exit
status
"""


def test_drewburr_lab_drives_the_real_bot_through_slack_from_piped_lines(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    done = subprocess.run([sys.executable, "-m", "bot", "lab", "--dir", str(workdir), "--port-base", "0",
                           "--time-scale", "50"], input=SCRIPT, capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "@alice: `status`" in out and "kube03" in out  # the bot's answer, posted in the channel
    assert "(only you) @rita may not run `drain`: it needs the operate permission" in out
    assert "@oscar asked: `drain blade3`" in out and "[1] Confirm" in out and "[2] Cancel" in out
    assert "Confirmed by @oscar: `drain blade3` running" in out  # the message, edited
    assert "↳ ✅ evict: done" in out and "↳ ✅ mark: done" in out  # each step in its thread
    assert "`drain blade3` done in" in out and "(confirmed by @oscar)" in out
    # 2 (Cancel) after the end: the message has no buttons any more, so Slack has none to press
    assert "(Slack: the button failed with action_not_found)" in done.stderr
    assert "blade4 powered off" in out  # `lab fault` knows its own lab's folder
    assert out.count("PVE: quorate") == 1  # nothing after exit ran
    drains = asyncio.run(SqliteJournal(workdir / "journal.sqlite").list(10))
    assert [(op.kind, op.phase) for op in drains] == [("drain", "Succeeded")]
    assert "stopped" in (workdir / "serve.log").read_text()  # serve was stopped, not left behind
    assert "Traceback" not in done.stderr + (workdir / "serve.log").read_text()


def test_ctrl_c_at_the_prompt_clears_the_line_and_the_lab_and_its_bot_go_on(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "lab", "--dir", str(workdir), "--port-base", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(lambda: proc.stdout.read(1), "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: "".join(out).endswith("drewburr> ") or proc.poll() is not None, timeout=120,
                 what="the console's prompt")
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "".join(out).endswith("drewburr> \ndrewburr> ") or proc.poll() is not None,
                 timeout=30, what="a fresh prompt")
        proc.stdin.write("status\nexit\n")
        proc.stdin.close()
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    said = "".join(out)
    assert proc.returncode == 0, proc.stderr.read()
    assert "drewburr> status\n@alice: `status`" in said and "PVE: quorate" in said  # the bot answered
    assert "stopped" in (workdir / "serve.log").read_text()


def test_console_lines_for_the_lab_itself_report_bad_lines_and_keep_going(
        running_lab: RunningLab, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_line(app, running_lab.config_file, "plan blade9") == 2
    assert run_line(app, running_lab.config_file, 'plan "blade3') == 2  # unbalanced quote
    assert run_line(app, running_lab.config_file, "frobnicate") == 2
    assert run_line(app, running_lab.config_file, "   ") is None
    err = capsys.readouterr().err
    assert "valid blades: blade1, blade2, blade3, blade4" in err
    assert "No closing quotation" in err
    assert "frobnicate" in err
