"""`automation pause|resume|status`: the switch lives in the journal (a restart, a second process
sees it), says who paused, why and since when, and lists what the gates held back meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.cli import app
from infra.journal_sqlite import SqliteJournal
from tests.tools import offline_config


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={"COLUMNS": "200"})


def test_pause_status_and_resume_from_the_command_line(tmp_path: Path) -> None:
    config = offline_config(tmp_path / "drewburr.yaml")
    assert cli(config, "automation").output.startswith("Automation is running.")
    would = cli(config, "automation", "pause", "--dry-run", "just", "looking")
    assert would.exit_code == 0 and would.output.startswith("Would pause automation (just looking)")
    assert cli(config, "automation").output.startswith("Automation is running.")
    paused = cli(config, "automation", "pause", "firmware", "upgrade", "on", "blade2")
    assert paused.exit_code == 0 and "Automation paused by cli:" in paused.output
    journal = SqliteJournal(tmp_path / "journal.sqlite")  # what another process (serve) reads
    seen = asyncio.run(journal.paused())
    assert seen is not None and seen.reason == "firmware upgrade on blade2" and seen.by.startswith("cli:")

    async def held_while_paused() -> int:
        op = await journal.refuse("evacuate", "blade3", {"gate": "paused", "alert": "KubeNodeNotReady"},
                                  "paused: automation is paused", seen.since + 5)
        return op.id
    op_id = asyncio.run(held_while_paused())
    status = cli(config, "automation", "status")
    assert status.exit_code == 0
    assert "Automation is PAUSED by cli:" in status.output and "firmware upgrade on blade2" in status.output
    assert "Held back since the pause: 1" in status.output
    assert f"op {op_id}  evacuate blade3" in status.output
    again = cli(config, "automation", "pause")
    assert again.exit_code == 2 and "already paused" in again.output
    assert cli(config, "automation", "resume", "--dry-run").output.startswith("Would resume automation")
    assert asyncio.run(journal.paused()) is not None
    resumed = cli(config, "automation", "resume")
    assert resumed.exit_code == 0 and "Automation resumed by cli:" in resumed.output
    assert asyncio.run(journal.paused()) is None
    twice = cli(config, "automation", "resume")
    assert twice.exit_code == 2 and "not paused" in twice.output


def test_a_bad_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    wrong = cli(offline_config(tmp_path / "drewburr.yaml"), "automation", "stop")
    assert wrong.exit_code == 2
    assert "unknown automation subcommand 'stop'; choose status, pause, resume" in wrong.output
