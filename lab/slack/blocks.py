"""Block Kit's limits, checked as Slack checks a message's `blocks` (`invalid_blocks` with pointers)."""

from __future__ import annotations

import json
from typing import Any

from lab.slack.errors import SlackError

MAX_BLOCKS = 50
TEXT_LIMITS = {"section": 3000, "header": 150, "context": 2000}
KNOWN = {"section", "actions", "context", "divider", "header", "image", "rich_text", "input", "file", "video"}
MAX_ELEMENTS = {"actions": 25, "context": 10}
BUTTON_TEXT, ACTION_ID, BUTTON_VALUE = 75, 255, 2000


def _parse(raw: Any) -> list[Any]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):  # form-encoded calls send blocks as a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_blocks_format") from None
    if not isinstance(raw, list):
        raise SlackError("invalid_blocks_format")
    return raw


def _too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _text_errors(obj: Any, limit: int, pointer: str) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or \
            obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"[ERROR] must provide an object with a type and a text string [json-pointer:{pointer}]"]
    if len(obj["text"]) > limit:
        return [_too_long(limit, f"{pointer}/text")]
    if not obj["text"]:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    return []


def _element_errors(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] must provide an object [json-pointer:{pointer}]"]
    errors = []
    if element["type"] == "button":
        errors += _text_errors(element.get("text"), BUTTON_TEXT, f"{pointer}/text")
        if len(str(element.get("value", ""))) > BUTTON_VALUE:
            errors.append(_too_long(BUTTON_VALUE, f"{pointer}/value"))
    if len(str(element.get("action_id", ""))) > ACTION_ID:
        errors.append(_too_long(ACTION_ID, f"{pointer}/action_id"))
    return errors


def _block_errors(block: Any, i: int) -> list[str]:
    pointer = f"/blocks/{i}"
    if not isinstance(block, dict) or block.get("type") not in KNOWN:
        return [f"[ERROR] unsupported type: {block.get('type') if isinstance(block, dict) else block!r} "
                f"[json-pointer:{pointer}/type]"]
    kind, errors = block["type"], []
    if kind in ("section", "header") and ("text" in block or kind == "header"):
        errors += _text_errors(block.get("text"), TEXT_LIMITS[kind], f"{pointer}/text")
    if kind in MAX_ELEMENTS:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"[ERROR] must provide an array with at least 1 item [json-pointer:{pointer}/elements]"]
        if len(elements) > MAX_ELEMENTS[kind]:
            errors.append(f"[ERROR] must provide at most {MAX_ELEMENTS[kind]} items "
                          f"[json-pointer:{pointer}/elements]")
        for j, element in enumerate(elements):
            if kind == "context":
                if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                    errors += _text_errors(element, TEXT_LIMITS["context"], f"{pointer}/elements/{j}")
            else:
                errors += _element_errors(element, f"{pointer}/elements/{j}")
    return errors


def check(raw: Any) -> list[dict[str, Any]]:
    """The blocks of a call, or `invalid_blocks` naming each fault by its JSON pointer."""
    blocks = _parse(raw)
    errors = [] if len(blocks) <= MAX_BLOCKS else [
        f"[ERROR] must provide at most {MAX_BLOCKS} items [json-pointer:/blocks]"]
    for i, block in enumerate(blocks):
        errors += _block_errors(block, i)
    if errors:
        raise SlackError("invalid_blocks", errors)
    return blocks
