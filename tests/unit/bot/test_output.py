"""Progress off a terminal: one line per transition; an error repeated by retries is said once."""

from __future__ import annotations

import asyncio

from bot.output import Progress
from infra.journal import OperationStatus, StepRecord

ERROR = "PVE at https://pve1:8006: GET cluster/resources: no answer (Connection refused); check proxmox.url"


def test_a_retried_step_says_its_error_once_then_counts(capsys):
    progress = Progress()
    op = OperationStatus(id=1, kind="drain", target="blade3", created=0, last_transition=0,
                         steps=[StepRecord(name="migrate")])
    for attempt in (1, 2, 3):
        step = StepRecord(name="migrate", outcome="retrying", attempts=attempt, message=ERROR)
        asyncio.run(progress(op, step))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and sum(ERROR in line for line in lines) == 1
    assert lines[1].endswith("migrate: retrying - attempt 2, same error")
    assert lines[2].endswith("attempt 3, same error")
