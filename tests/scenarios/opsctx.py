"""Helpers for the verb scenarios: a Context built from the lab's own drewburr.yaml."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.cli_ops import build_context
from bot.config import load_settings
from infra.operations.context import Context

# Lab time runs 50x: these keep each scenario to a few real seconds.
FAST = {"poll_seconds": 0.1, "eviction_retry_seconds": 0.3, "drain_timeout_seconds": 20,
        "migration_timeout_seconds": 30, "boot_timeout_seconds": 60}


def lab_context(running_lab: Any, **options: Any) -> Context:
    ctx = build_context(load_settings(running_lab.workdir / "drewburr.yaml"))
    ctx.options = dataclasses.replace(ctx.options, **{**FAST, **options})
    return ctx


def fault(running_lab: Any, name: str, target: str | None = None) -> str:
    from lab.faults import apply_fault

    lab = running_lab.lab
    return running_lab.call(lambda: apply_fault(lab, name, target, lab.clock.now()))
