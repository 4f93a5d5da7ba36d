"""Files, uploaded the way slack_sdk's `files_upload_v2` does: `files.getUploadURLExternal` hands
out a one-use URL, the bytes are POSTed there, `files.completeUploadExternal` shares the file in
a channel (or a thread) as a message carrying it. A file never uploaded cannot be completed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from lab.slack.errors import SlackError, missing

Obj = dict[str, Any]


@dataclass
class File:
    id: str
    name: str
    length: int  # as declared when the URL was asked for
    content: bytes | None = None  # None until uploaded
    title: str = ""

    def info(self) -> Obj:
        return {"id": self.id, "name": self.name, "title": self.title or self.name,
                "size": len(self.content or b""), "mimetype": "text/plain", "filetype": "text",
                "pretty_type": "Plain Text"}


class Files:
    def __init__(self) -> None:
        self.files: dict[str, File] = {}
        self.uploads: dict[str, str] = {}  # upload token -> file id, until used

    def get_upload_url(self, args: Obj, host: str) -> Obj:
        missing(args, "filename", "length")
        try:
            length = int(str(args["length"]))
        except ValueError:
            raise SlackError("invalid_arguments", ["[ERROR] length must be an integer"]) from None
        if length < 1:
            raise SlackError("invalid_arguments", ["[ERROR] length must be positive"])
        file = File("F" + secrets.token_hex(5).upper(), str(args["filename"]), length)
        token = secrets.token_hex(12)
        self.files[file.id], self.uploads[token] = file, file.id
        return {"upload_url": f"http://{host}/upload/v1/{token}", "file_id": file.id}

    def upload(self, token: str, content: bytes) -> File:
        """The POST to an upload URL; a URL works once."""
        file_id = self.uploads.pop(token, None)
        if file_id is None:
            raise SlackError("invalid upload URL")
        file = self.files[file_id]
        file.content = content
        return file

    def complete(self, args: Obj) -> list[File]:
        """The files of a `files.completeUploadExternal` call, checked and titled."""
        missing(args, "files")
        raw = args["files"]
        try:
            wanted = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise SlackError("invalid_arguments", ["[ERROR] files must be a JSON array"]) from None
        if not isinstance(wanted, list) or not wanted or not all(
                isinstance(w, dict) and isinstance(w.get("id"), str) for w in wanted):
            raise SlackError("invalid_arguments", ["[ERROR] files must be an array of {id, title}"])
        done = []
        for entry in wanted:
            file = self.files.get(entry["id"])
            if file is None or file.content is None:
                raise SlackError("file_not_found")
            file.title = str(entry.get("title") or file.name)
            done.append(file)
        return done
