"""The console runs drewburr's verbs against the lab exactly as the command line does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.cli import app
from bot.console import console, run_line
from tests.conftest import RunningLab


def _lines(*lines: str) -> Iterator[str]:
    yield from lines


def _reader(lines: Iterator[str]):  # type: ignore[no-untyped-def]
    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None
    return read


def test_console_lines_run_verbs_until_exit(running_lab: RunningLab,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    console(app, running_lab.config_file,
            read=_reader(_lines("status", "plan blade3", "exit", "status")))
    out = capsys.readouterr().out
    assert "blade3" in out and "Ceph: HEALTH_OK" in out
    assert "Plan: drain blade3" in out
    assert out.count("PVE: quorate") == 1  # nothing after exit ran


def test_console_reports_bad_lines_and_keeps_going(running_lab: RunningLab,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_line(app, running_lab.config_file, "plan blade9") == 2
    assert run_line(app, running_lab.config_file, 'plan "blade3') == 2  # unbalanced quote
    assert run_line(app, running_lab.config_file, "frobnicate") == 2
    assert run_line(app, running_lab.config_file, "   ") is None
    err = capsys.readouterr().err
    assert "valid blades: blade1, blade2, blade3, blade4" in err
    assert "No closing quotation" in err
    assert "frobnicate" in err
