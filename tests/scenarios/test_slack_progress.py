"""An operation's progress in Slack (bot.slack_progress) against the lab's Slack twin: edits
coalesced inside chat.update's rate tier, the last state always written, every finished step in
the thread in order, and 429s waited out rather than dropped."""

from __future__ import annotations

from bot.slack_blocks import text_blocks
from bot.slack_client import SlackClient
from bot.slack_progress import LiveMessage, blocks_or_file
from infra.journal import OperationStatus, StepRecord
from tests.lab.slack_client import Twin

OPS = "C0OPS"
STEPS = ["plan", "noout", "cordon", "evict", "migrate", "mark"]


def transitions() -> list[tuple[OperationStatus, StepRecord]]:
    """Each step running, retried a few times, then done: 6 x 6 transitions."""
    op = OperationStatus(id=7, kind="drain", target="blade3", created=0, last_transition=0,
                         steps=[StepRecord(name=n) for n in STEPS])
    out = []
    for step in op.steps:
        for attempt in range(1, 6):
            step.outcome, step.attempts, step.started = "running", attempt, 1.0
            out.append((op.model_copy(deep=True), step.model_copy()))
        step.outcome, step.finished, step.message = "done", 2.0, f"{step.name} ok"
        out.append((op.model_copy(deep=True), step.model_copy()))
    return out


async def _live(twin: Twin) -> tuple[LiveMessage, str]:
    client = SlackClient(token=twin.twin.workspace.bot_token, base_url=twin.api)
    posted = await client.chat_postMessage(channel=OPS, text="Plan: drain blade3")
    return LiveMessage(client, OPS, posted["ts"], "`drain blade3` running"), posted["ts"]


async def test_a_burst_of_steps_is_coalesced_into_few_edits_and_the_end_is_written(twin: Twin) -> None:
    live, ts = await _live(twin)
    for op, step in transitions():
        await live(op, step)
    await live.close(text_blocks("`drain blade3` done in 3 s"), "`drain blade3` done in 3 s")
    updates = twin.twin.count("chat.update")
    assert 2 <= updates <= 4 < len(transitions())  # inside Tier 3, not one edit per transition
    message = twin.twin.workspace.channels[OPS].messages[ts]
    assert message.text == "`drain blade3` done in 3 s"
    replies = [twin.twin.workspace.channels[OPS].messages[r].text for r in message.replies]
    assert [r.split(":")[0] for r in replies] == [f"✅ {n}" for n in STEPS]
    assert all(f"{n} ok" in r for n, r in zip(STEPS, replies, strict=True))


async def test_429s_on_edits_and_thread_replies_are_waited_out_not_dropped(twin: Twin) -> None:
    live, ts = await _live(twin)
    for method in ("chat.update", "chat.postMessage"):
        await twin.lab("fault", {"fault": "ratelimit", "method": method, "count": 2, "retry_after": 1})
    for op, step in transitions()[:12]:  # plan and noout done
        await live(op, step)
    await live.close(text_blocks("`drain blade3` failed"), "`drain blade3` failed")
    message = twin.twin.workspace.channels[OPS].messages[ts]
    assert message.text == "`drain blade3` failed"
    assert len(message.replies) == 2  # both finished steps, though Slack said 429 twice
    assert twin.twin.limits.forced["chat.update"][0] == 0  # the 429s were answered, and retried


async def test_output_too_long_for_a_message_goes_to_its_thread_as_a_file(twin: Twin) -> None:
    client = SlackClient(token=twin.twin.workspace.bot_token, base_url=twin.api)
    posted = await client.chat_postMessage(channel=OPS, text="ops list")
    text = "\n".join(f"operation {i}: drain blade{i % 4 + 1} Succeeded, 6/6 steps" for i in range(5000))
    blocks = await blocks_or_file(client, OPS, posted["ts"], "`ops list`", text)
    assert len(blocks) == 50 and "in the thread, as a file" in blocks[-1]["elements"][0]["text"]
    await client.chat_update(channel=OPS, ts=posted["ts"], text="`ops list`", blocks=blocks)  # Slack takes it
    thread = (await client.conversations_replies(channel=OPS, ts=posted["ts"]))["messages"]
    shared = thread[1]["files"][0]
    assert twin.twin.workspace.files.files[shared["id"]].content == text.encode()
    short = await blocks_or_file(client, OPS, posted["ts"], "`status`", "blade1 online")
    assert len(short) == 2 and twin.twin.count("files.completeUploadExternal") == 1
