"""Files in the Slack twin, as slack_sdk's files_upload_v2 uploads them: a URL, the bytes, completion."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from tests.lab.slack_client import Twin

OPS = "C0OPS"


async def test_a_file_uploaded_with_files_upload_v2_is_shared_in_the_thread(twin: Twin) -> None:
    client = twin.client()
    parent = await client.chat_postMessage(channel=OPS, text="a long report")
    content = "line\n" * 5000
    shared = await client.files_upload_v2(channel=OPS, thread_ts=parent["ts"], content=content,
                                          filename="report.txt", title="The report")
    assert shared["file"]["title"] == "The report" and shared["file"]["size"] == len(content)
    assert [m for m, _ in twin.twin.calls] == ["chat.postMessage", "files.getUploadURLExternal", "upload",
                                               "files.completeUploadExternal"]
    thread = await client.conversations_replies(channel=OPS, ts=parent["ts"])
    assert [f["name"] for f in thread["messages"][1]["files"]] == ["report.txt"]
    stored = twin.twin.workspace.files.files[shared["file"]["id"]]
    assert stored.content == content.encode()


async def test_uploads_refuse_what_slack_refuses(twin: Twin) -> None:
    client = twin.client()
    with pytest.raises(SlackApiError) as no_length:
        await client.api_call("files.getUploadURLExternal", params={"filename": "a.txt"})
    assert no_length.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as bad_length:
        await client.files_getUploadURLExternal(filename="a.txt", length="many")  # type: ignore[arg-type]
    assert bad_length.value.response["error"] == "invalid_arguments"
    ticket = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as early:  # completed before its bytes were sent
        await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=OPS)
    assert early.value.response["error"] == "file_not_found"
    async with aiohttp.ClientSession() as s:
        async with s.post(ticket["upload_url"], data=b"abc") as first:
            assert first.status == 200
        async with s.post(ticket["upload_url"], data=b"abc") as again:  # an upload URL works once
            assert again.status == 404
    with pytest.raises(SlackApiError) as unknown_channel:
        await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C0NOPE")
    assert unknown_channel.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as not_json:
        await client.api_call("files.completeUploadExternal", params={"files": "[{"})
    assert not_json.value.response["error"] == "invalid_arguments"
