"""What the console shows of the lab's Slack channel (pure parts of bot.console_view)."""

from __future__ import annotations

from bot.console_view import View
from bot.slack_blocks import plan_blocks, text_blocks


def _seen(*messages: dict, ephemeral: tuple[str, ...] = ()) -> dict:
    return {"messages": list(messages), "ephemeral": [{"text": t} for t in ephemeral]}


def test_buttons_are_numbered_threads_indented_edits_marked_and_only_changes_shown() -> None:
    view = View(names={"U0OPER": "oscar"})
    blocks = plan_blocks("<@U0OPER> asked: `drain blade3`", "move kube03", "abc")
    plan = {"ts": "1.0", "text": "Plan", "blocks": blocks}
    shown = "@oscar asked: `drain blade3`\nmove kube03\n  [1] Confirm\n  [2] Cancel"
    assert view.update(_seen(plan)) == [shown]
    assert view.buttons[1].action_id == "drewburr_confirm" and view.buttons[2].ts == "1.0"
    assert view.update(_seen(plan)) == [] and view.changes == 1  # nothing new: nothing printed
    edited = {**plan, "thread_ts": "1.0", "blocks": text_blocks("Confirmed by <@U0OPER>: running")}
    reply = {"ts": "2.0", "thread_ts": "1.0", "text": "✅ plan: done"}
    assert view.update(_seen(edited, reply, ephemeral=("<@U0OPER> may not",))) == [
        "~ Confirmed by @oscar: running", "  ↳ ✅ plan: done", "(only you) @oscar may not"]
    assert view.said("plan: done") and not view.said("evict")
