"""Ctrl-C during an operation: exit 1, the operation journaled as interrupted and left resumable."""

from __future__ import annotations

import asyncio
import signal

import typer
import yaml
from typer.testing import CliRunner

from bot.cli_ops import execute
from infra import owner
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context

from .test_cli_config_errors import with_files


async def ctrl_c_mid_operation(context: Context, _progress: object) -> None:
    op = await context.journal.create("drain", "blade3", {}, ["plan"], ["blade3"], now=1)
    await context.journal.set_phase(op.id, "Running", now=2, owner=owner.me())
    signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends
    await asyncio.sleep(30)


def test_ctrl_c_journals_the_operation_as_interrupted_and_says_how_to_resume(tmp_path):
    app = typer.Typer()

    @app.command()
    def drain(ctx: typer.Context) -> None:
        execute(ctx, ctrl_c_mid_operation)

    config = tmp_path / "drewburr.yaml"
    config.write_text(yaml.safe_dump(with_files(tmp_path)))
    result = CliRunner().invoke(app, [], env={"DREWBURR_CONFIG": str(config)})
    assert result.exit_code == 1, result.output
    assert "Interrupted." in result.output and "drewburr ops resume" in result.output
    (op,) = asyncio.run(SqliteJournal(tmp_path / "j.sqlite").list())
    assert (op.phase, op.last_error) == ("Running", "interrupted (Ctrl-C)")  # resumable, and why it stopped
