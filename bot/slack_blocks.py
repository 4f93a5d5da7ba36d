"""Block Kit messages within Slack's limits: 3,000 characters a section, 50 blocks a message.

Long output is cut into code-block sections at line ends; past the block limit it is cut
with a note saying how much was left out (and where the rest is: `fits` tells the Slack front
when to upload it as a file).
"""

from __future__ import annotations

import shlex
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from alert_handlers.alert import Alert

SECTION = 2900  # under 3,000 with the code fences
MAX_BLOCKS = 50


def _chunks(text: str) -> list[str]:
    chunks, current = [], ""
    for line in text.splitlines():
        while len(line) > SECTION:  # one huge line: hard cut
            chunks.append(current + line[: SECTION - len(current)])
            line, current = line[SECTION - len(current):], ""
        if len(current) + len(line) + 1 > SECTION:
            chunks.append(current)
            current = ""
        current += line + "\n"
    return [*chunks, current] if current.strip() else chunks


def fits(text: str, room: int = MAX_BLOCKS - 1) -> bool:
    """Whether `text` fits in `room` sections of a message."""
    return len(_chunks(text)) <= room


def _body(text: str, room: int, rest: str = "the CLI (`drewburr`) prints it all") -> list[Block]:
    chunks = _chunks(text) or ["(no output)"]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"```{c.rstrip()}```"))
                           for c in chunks[:room]]
    if len(chunks) > room:
        left = sum(len(c) for c in chunks[room:])
        blocks[-1] = ContextBlock(elements=[MarkdownTextObject(
            text=f"… {left} more characters not shown; {rest}")])
    return blocks


def text_blocks(title: str, text: str | None = None, rest: str | None = None) -> list[dict[str, Any]]:
    """A title and `text` in code blocks; `rest` says where what did not fit is."""
    head: list[Block] = [SectionBlock(text=MarkdownTextObject(text=title[:SECTION]))]
    body = [] if text is None else _body(text, MAX_BLOCKS - 1, rest) if rest else _body(text, MAX_BLOCKS - 1)
    return [b.to_dict() for b in head + body]


def _buttons(confirmation_id: str) -> ActionsBlock:
    return ActionsBlock(block_id="drewburr_confirmation", elements=[
        ButtonElement(text="Confirm", action_id="drewburr_confirm", value=confirmation_id, style="primary"),
        ButtonElement(text="Cancel", action_id="drewburr_cancel", value=confirmation_id)])


def plan_blocks(title: str, plan: str, confirmation_id: str) -> list[dict[str, Any]]:
    head: list[Block] = [SectionBlock(text=MarkdownTextObject(text=title[:SECTION]))]
    return [b.to_dict() for b in [*head, *_body(plan, MAX_BLOCKS - 2), _buttons(confirmation_id)]]


def question_blocks(text: str, confirmation_id: str) -> list[dict[str, Any]]:
    """A question in plain words (remediation's approval request) with Confirm/Cancel."""
    return [b.to_dict() for b in [SectionBlock(text=MarkdownTextObject(text=text[:SECTION])),
                                  _buttons(confirmation_id)]]


SILENCE_FOR = "2h"


def silence_command(alert: Alert) -> str:
    """What the Silence button runs: Alertmanager's alerts by fingerprint (exactly that alert), others by
    name (Grafana's fingerprints are not Alertmanager's)."""
    target = alert.fingerprint if alert.source == "alertmanager" else alert.name
    return shlex.join(["silence", target, SILENCE_FOR])


def alert_blocks(text: str, alert: Alert) -> list[dict[str, Any]]:
    """A notice about an alert, with a Silence button (2 h; `silence` typed in full for more)."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text[:SECTION]))]
    command = silence_command(alert)
    if len(command) <= 2000:  # a button's value is at most 2,000 characters
        blocks.append(ActionsBlock(block_id="drewburr_alert", elements=[ButtonElement(
            text=f"Silence {SILENCE_FOR}", action_id="drewburr_silence", value=command)]))
    return [b.to_dict() for b in blocks]
