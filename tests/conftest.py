"""Shared test fixtures: a lab served from a background thread on free loopback ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.background import BackgroundLab
from lab.scenario import load_scenario

REFERENCE = Path(os.environ.get("DREWBURR_REFERENCE",
                              Path(__file__).resolve().parents[2] / "shared" / "reference"))


pytest_plugins = ["tests.lab.slack_client"]  # the `twin` fixture: the Slack twin alone, in-process

# Tests call the in-process lab a RunningLab.
RunningLab = BackgroundLab


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The default homelab at 50 lab seconds per real second."""
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=50) as lab:
        yield lab


@pytest.fixture
def fast_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The default homelab at 200 lab seconds per real second: backfill or HA recovery in about a second."""
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=200) as lab:
        yield lab
