"""How an operation's end and its steps read in Slack (pure parts of bot.slack_progress)."""

from __future__ import annotations

from bot.slack_progress import ending, step_line
from commands.result import DONE, FAILED, Result
from infra.journal import OperationStatus, StepRecord


def _op(phase: str, error: str | None = None) -> OperationStatus:
    steps = [StepRecord(name="plan", outcome="done"), StepRecord(name="noout", outcome="done"),
             StepRecord(name="evict", outcome="failed", message="PDB"), StepRecord(name="migrate")]
    return OperationStatus(id=4, kind="drain", target="blade3", phase=phase, created=0, last_transition=0,
                           last_error=error, steps=steps)  # type: ignore[arg-type]


def test_a_success_says_the_outcome_and_the_duration() -> None:
    summary, title = ending("drain blade3", "U0OPER", 72.4, Result(DONE, "ok", operation=_op("Succeeded")))
    assert summary == "done in 72 s" and title == "`drain blade3` done in 72 s (confirmed by <@U0OPER>)"


def test_a_failure_says_why_and_what_was_left_as_is() -> None:
    failed = _op("Failed", "timed out after 600s waiting for the pods to leave kube03")
    summary, title = ending("drain blade3", "U0OPER", 601, Result(FAILED, "", operation=failed))
    assert summary == "failed in 601 s"
    assert "*Why:* timed out after 600s waiting for the pods to leave kube03" in title
    assert "*Left as is:* done: plan, noout; not done: evict, migrate (`/drewburr ops show 4`)" in title


def test_a_step_line_says_attempts_while_retrying_and_the_time_once_done() -> None:
    assert step_line(StepRecord(name="evict", outcome="retrying", attempts=3, message="PDB")) == \
        "🔁 evict: retrying (attempt 3) - PDB"
    assert step_line(StepRecord(name="evict", outcome="done", started=10, finished=25, attempts=3)) == \
        "✅ evict: done in 15 s"
