"""`metadata.managedFields` entries: read as the server reads them, written as it writes them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from lab.k8s import fieldpaths
from lab.k8s.fieldpaths import Path
from lab.k8s.store import timestamp

Obj = dict[str, Any]
ANCIENT_CHANGES = "ancient-changes"
MAX_UPDATE_MANAGERS = 10


@dataclass
class Entry:
    manager: str
    operation: str  # Apply | Update
    api_version: str
    time: str
    fields: set[Path]
    subresource: str = ""

    def ident(self) -> tuple[str, str, str, str]:
        # appliers are one manager whatever version they apply with
        return (self.manager, self.operation, self.api_version if self.operation == "Update" else "",
                self.subresource)

    def printed(self) -> str:
        """The manager as a conflict names it (printManager)."""
        out = json.dumps(self.manager)
        if self.subresource:
            out += f" with subresource {json.dumps(self.subresource)}"
        return out + (f" using {self.api_version}" if self.operation == "Update" else "")


def decode(entries: Any) -> list[Entry] | None:
    """The entries of `managedFields`, or None when they are not well formed."""
    if not isinstance(entries, list):
        return None
    try:
        return [_decode_entry(e) for e in entries]
    except ValueError:
        return None


def _decode_entry(e: Any) -> Entry:
    if not isinstance(e, dict):
        raise ValueError("an entry is an object")
    if e.get("operation") not in ("Apply", "Update", None) or e.get("fieldsType") not in ("FieldsV1", None):
        raise ValueError("unknown operation or fieldsType")
    return Entry(str(e.get("manager") or ""), str(e.get("operation") or ""), str(e.get("apiVersion") or ""),
                 _time(e.get("time")), fieldpaths.from_fields_v1(e.get("fieldsV1") or {}),
                 str(e.get("subresource") or ""))


def _time(sent: Any) -> str:
    """A metav1.Time read back in RFC 3339 UTC (clients may send `+00:00` or fractions)."""
    if not sent:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(sent))
    except ValueError:
        raise ValueError(f"bad time {sent!r}") from None
    return timestamp((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())


def encode(entries: list[Entry]) -> list[Obj]:
    kept = sorted((e for e in entries if e.fields), key=lambda e: (e.operation, e.time, e.manager,
                                                                     e.api_version, e.subresource))
    out = []
    for e in kept:
        item: Obj = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                     "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": fieldpaths.to_fields_v1(e.fields)}
        if e.subresource:
            item["subresource"] = e.subresource
        out.append(item)
    return out


def cap_updaters(entries: list[Entry]) -> None:
    """At most ten update entries: the oldest merge into `ancient-changes` (the fieldmanager's cap)."""
    updaters = sorted((e for e in entries if e.operation == "Update"), key=lambda e: (e.time, e.manager))
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    oldest = updaters[:len(updaters) - MAX_UPDATE_MANAGERS + 1]
    bucket = Entry(ANCIENT_CHANGES, "Update", oldest[-1].api_version, oldest[-1].time,
                   set().union(*(e.fields for e in oldest)))
    for e in oldest:
        entries.remove(e)
    entries.append(bucket)


def store(obj: Obj, entries: list[Entry]) -> None:
    encoded = encode(entries)
    if encoded:
        obj["metadata"]["managedFields"] = encoded
    else:
        obj["metadata"].pop("managedFields", None)
