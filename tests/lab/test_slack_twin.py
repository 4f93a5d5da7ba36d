"""The lab's Slack twin through slack_sdk, unmodified: the Web API, Socket Mode and HTTP mode."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from lab.slack.people import sign
from lab.slack.routes import METHODS
from tests.conftest import REFERENCE, RunningLab
from tests.lab.slack_client import Twin, serve_app

OPS = "C0OPS"


async def test_auth_test_names_the_bot_for_its_token_and_refuses_others(twin: Twin) -> None:
    me = await twin.client().auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("U0BOT", "B0BOT", "T0LAB")
    with pytest.raises(SlackApiError) as bad:
        await twin.client("xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as app_token:
        await twin.client(twin.twin.workspace.app_token).chat_postMessage(channel=OPS, text="hi")
    assert app_token.value.response["error"] == "not_allowed_token_type"


async def test_a_message_its_thread_and_an_edit_read_back_as_posted(twin: Twin) -> None:
    web_client = twin.client()
    top = await web_client.chat_postMessage(channel=OPS, text="drain blade3: planning")
    reply = await web_client.chat_postMessage(channel=OPS, thread_ts=top["ts"], text="noout set")
    await web_client.chat_update(channel=OPS, ts=top["ts"], text="drain blade3: done in 42 s")
    thread = await web_client.conversations_replies(channel=OPS, ts=top["ts"])
    assert [m["text"] for m in thread["messages"]] == ["drain blade3: done in 42 s", "noout set"]
    assert thread["messages"][0]["reply_count"] == 1 and "edited" in thread["messages"][0]
    history = await web_client.conversations_history(channel=OPS)
    assert [m["ts"] for m in history["messages"]] == [top["ts"]]  # replies stay in their thread
    assert reply["message"]["thread_ts"] == top["ts"]


@pytest.mark.parametrize(("call", "error"), [
    ({"text": "hi"}, "invalid_arguments"),  # no channel
    ({"channel": "C404", "text": "hi"}, "channel_not_found"),
    ({"channel": OPS}, "no_text"),
    ({"channel": OPS, "text": "x" * 40_001}, "msg_too_long"),
    ({"channel": OPS, "thread_ts": "1.000001", "text": "hi"}, "thread_not_found"),
    ({"channel": OPS, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
     "invalid_blocks"),
    ({"channel": OPS, "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ({"channel": OPS, "blocks": [{"type": "nonsense"}]}, "invalid_blocks"),
    ({"channel": OPS, "blocks": "not json"}, "invalid_blocks_format"),
])
async def test_post_message_refuses_what_slack_refuses(twin: Twin, call: dict[str, Any], error: str) -> None:
    with pytest.raises(SlackApiError) as refused:
        await twin.client().api_call("chat.postMessage", json=call)
    assert refused.value.response["error"] == error


async def test_invalid_blocks_name_the_faulty_field(twin: Twin) -> None:
    with pytest.raises(SlackApiError) as refused:
        await twin.client().chat_postMessage(channel=OPS, text="long", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert refused.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]


async def test_user_groups_and_ephemeral_messages(twin: Twin) -> None:
    web_client = twin.client()
    assert (await web_client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0OPER"]
    with pytest.raises(SlackApiError) as unknown:
        await web_client.usergroups_users_list(usergroup="S404")
    assert unknown.value.response["error"] == "no_such_subteam"
    await web_client.chat_postEphemeral(channel=OPS, user="U0READ", text="you may not drain")
    async with aiohttp.ClientSession() as s, s.get(f"{twin.url}/lab/slack/messages",
                                                   params={"channel": OPS, "user": "U0READ"}) as r:
        seen = await r.json()
    assert [e["text"] for e in seen["ephemeral"]] == ["you may not drain"] and seen["messages"] == []


async def test_a_429_comes_with_retry_after_and_the_sdk_retries_after_it(twin: Twin) -> None:
    await twin.lab("fault", {"fault": "ratelimit", "method": "chat.update", "count": 1, "retry_after": 1})
    posted = await twin.client().chat_postMessage(channel=OPS, text="v1")
    with pytest.raises(SlackApiError) as limited:
        await twin.client().chat_update(channel=OPS, ts=posted["ts"], text="v2")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    await twin.lab("fault", {"fault": "ratelimit", "method": "chat.update", "count": 1, "retry_after": 1})
    patient = twin.client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    await patient.chat_update(channel=OPS, ts=posted["ts"], text="v2")
    assert time.monotonic() - started >= 1.0  # it waited Retry-After, not dropped the update
    assert twin.twin.count("chat.update") == 3


async def _socket_client(twin: Twin, answer: dict[str, Any] | None = None) -> SocketModeClient:
    client = SocketModeClient(app_token=twin.twin.workspace.app_token, web_client=twin.client(),
                              ping_interval=0.2, auto_reconnect_enabled=True)
    received: list[SocketModeRequest] = []

    async def listener(c: SocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=answer))
    client.socket_mode_request_listeners.append(listener)
    client.received = received  # type: ignore[attr-defined]
    await client.connect()
    return client


async def _wait(check: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_slash_command_reaches_the_app_over_socket_mode_and_its_ack_answers(twin: Twin) -> None:
    client = await _socket_client(twin, {"text": "planning drain of blade3"})
    try:
        await _wait(lambda: twin.twin.socket.live())
        outcome = await twin.lab("command", {"user": "U0OPER", "channel": OPS, "text": "drain blade3"})
        assert outcome["delivered"] and outcome["via"] == "socket"
        assert outcome["response"] == {"text": "planning drain of blade3"}
        request = client.received[0]  # type: ignore[attr-defined]
        assert request.type == "slash_commands"
        assert (request.payload["command"], request.payload["text"], request.payload["user_id"]) == (
            "/drewburr", "drain blade3", "U0OPER")
    finally:
        await client.close()


async def test_a_command_the_app_never_acks_fails_as_slack_says(twin: Twin) -> None:
    client = SocketModeClient(app_token=twin.twin.workspace.app_token, web_client=twin.client())
    await client.connect()  # connected, but no listener acks anything
    try:
        await _wait(lambda: twin.twin.socket.live())
        outcome = await twin.lab("command", {"user": "U0OPER", "channel": OPS, "text": "status"})
        assert (outcome["delivered"], outcome["error"]) == (False, "operation_timeout")
    finally:
        await client.close()


@pytest.mark.parametrize("fault", ["drop", "stall", "refresh"])
async def test_the_sdk_reconnects_after_a_dropped_stalled_or_refreshed_link(twin: Twin, fault: str) -> None:
    client = await _socket_client(twin, {"text": "ok"})
    try:
        await _wait(lambda: twin.twin.socket.live())
        assert (await twin.lab("fault", {"fault": fault}))["links"] == 1
        await _wait(lambda: twin.twin.socket.opened >= 2 and any(
            not link.stalled for link in twin.twin.socket.live()), within=15)
        outcome = await twin.lab("command", {"user": "U0OPER", "channel": OPS, "text": "status"})
        assert outcome["delivered"], outcome
    finally:
        await client.close()


async def test_a_button_press_carries_the_message_and_the_action(twin: Twin) -> None:
    client = await _socket_client(twin)
    try:
        posted = await twin.client().chat_postMessage(channel=OPS, text="Drain blade3?", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Drain blade3?"}},
            {"type": "actions", "block_id": "confirm", "elements": [
                {"type": "button", "action_id": "confirm", "value": "op-1",
                 "text": {"type": "plain_text", "text": "Confirm"}}]}])
        await _wait(lambda: twin.twin.socket.live())
        pressed = await twin.lab("press", {"user": "U0ADMIN", "channel": OPS, "message_ts": posted["ts"],
                                           "action_id": "confirm"})
        assert pressed["delivered"]
        payload = client.received[0].payload  # type: ignore[attr-defined]
        assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ADMIN"
        assert payload["actions"][0]["value"] == "op-1" and payload["container"]["message_ts"] == posted["ts"]
        missing = await twin.lab("press", {"user": "U0ADMIN", "channel": OPS, "message_ts": posted["ts"],
                                           "action_id": "nosuch"})
        assert (missing["status"], missing["error"]) == (400, "action_not_found")
    finally:
        await client.close()


async def test_http_mode_requests_are_signed_as_slack_signs_them(twin: Twin) -> None:
    seen: list[tuple[bool, bytes]] = []
    verifier = SignatureVerifier(twin.twin.workspace.signing_secret)

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((verifier.is_valid_request(body, dict(request.headers)), body))
        return web.json_response({"text": "got it"})
    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner, port = await serve_app(app)
    try:
        await twin.lab("request-url", {"url": f"http://127.0.0.1:{port}/slack/events"})
        outcome = await twin.lab("command", {"user": "U0OPER", "channel": OPS, "text": "status"})
        assert outcome["via"] == "http" and outcome["response"] == {"text": "got it"}
        assert seen[0][0] and b"command=%2Fdrewburr" in seen[0][1]
    finally:
        await runner.cleanup()


def test_the_signature_is_slacks_own_test_vector() -> None:
    vector = json.loads(Path(REFERENCE / "slack" / "signature-test-vector.json").read_text())
    assert sign(vector["signing_secret"], vector["timestamp"], vector["body"].encode()) == \
        vector["expected_signature"]


async def test_bad_input_to_the_twin_gets_a_clear_answer(twin: Twin) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{twin.url}/api/nosuch.method", data={"token": "x"}) as r:
            assert (r.status, (await r.json())["error"]) == (404, "unknown_method")
        async with s.post(f"{twin.url}/api/chat.postMessage", data=b"{not json",
                          headers={"Content-Type": "application/json",
                                   "Authorization": f"Bearer {twin.twin.workspace.bot_token}"}) as r:
            assert (r.status, (await r.json())["error"]) == (200, "invalid_json")
        async with s.post(f"{twin.url}/api/auth.test") as r:
            assert (await r.json())["error"] == "not_authed"
    assert (await twin.lab("command", {"user": "U0OPER"}))["status"] == 400
    assert (await twin.lab("fault", {"fault": "melt"}))["error"].startswith("unknown fault")
    stranger = await twin.lab("command", {"user": "U404", "channel": OPS, "text": "x"})
    assert stranger["error"] == "user_not_found"


def _spec_methods() -> dict[str, tuple[set[str], set[str]]]:
    """method -> (required arguments, error codes) from Slack's published Web API spec and the SDK's."""
    def load(name: str) -> Any:
        return json.loads(gzip.decompress((REFERENCE / "slack" / name).read_bytes()))
    old, new = load("web-api-openapi.json.gz"), load("web-api-openapi-sdk-generated.json.gz")
    schemas = new["components"]["schemas"]
    out: dict[str, tuple[set[str], set[str]]] = {}
    for method in METHODS:
        op = next(iter(old["paths"].get(f"/{method}", {}).values()), {})
        required = {p["name"] for p in op.get("parameters", []) if p.get("required")} - {"token"}
        name = "".join(part[:1].upper() + part[1:] for part in method.split(".")) + "Arguments"
        required |= set(schemas.get(name, {}).get("required") or [])
        errors = op.get("responses", {}).get("default", {}).get("schema", {}).get("properties", {}) \
            .get("error", {}).get("enum") or []
        out[method] = (required, set(errors))
    return out


# codes every method may answer, beyond its own list (Slack documents them once, for all methods)
GENERIC = {"invalid_arguments", "not_allowed_token_type", "ratelimited", "not_authed", "invalid_auth"}


async def test_every_method_requires_what_the_spec_requires_with_a_code_slack_uses(twin: Twin) -> None:
    methods = _spec_methods()
    assert {m for m, (required, _) in methods.items() if required} >= {
        "chat.postMessage", "chat.update", "chat.postEphemeral", "usergroups.users.list", "users.info"}
    for method, (required, errors) in methods.items():
        if not required:
            continue
        with pytest.raises(SlackApiError) as refused:
            await twin.client().api_call(method, json={})
        code = refused.value.response["error"]
        assert code in errors | GENERIC, (method, code)
        messages = refused.value.response.get("response_metadata", {}).get("messages", [])
        assert {m.rsplit(": ", 1)[1] for m in messages} == required, (method, messages)


def test_lab_up_serves_the_twin_and_points_drewburrs_config_at_it(running_lab: RunningLab) -> None:
    config = yaml.safe_load((running_lab.workdir / "drewburr.yaml").read_text())["slack"]
    assert config["api_url"].startswith("http://127.0.0.1:") and config["channel"] == OPS
    client = WebClient(token=config["bot_token"], base_url=config["api_url"])
    assert client.auth_test()["user_id"] == "U0BOT"
    lab_json = json.loads((running_lab.workdir / "lab.json").read_text())
    assert config["api_url"] == f"{lab_json['slack_url']}/api/"
    assert running_lab.call(lambda: running_lab.lab.recorder.count("POST", "/api/auth.test", "slack")) == 1
