"""`metadata.managedFields`: who set which field, kept on every write, and server-side apply itself.

An update (create, PUT, a non-apply PATCH) gives its manager the fields it changed and takes them
from everyone else. An apply merges the applied configuration into the object, owns exactly the
fields it names, removes fields its manager applied before and no manager owns any more, and
fails with 409 when it would change a field another manager owns, unless forced.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from lab.k8s import fieldpaths, fieldtypes, lastapplied, typed
from lab.k8s.errors import BadRequest, Conflict
from lab.k8s.fieldpaths import Path
from lab.k8s.resources import Resource
from lab.k8s.store import timestamp

Obj = dict[str, Any]
# the fields no manager owns (the fieldmanager's stripMeta)
_STRIPPED = {("f:apiVersion",), ("f:kind",), ("f:metadata",)} | {("f:metadata", "f:" + f) for f in (
    "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields",
    "resourceVersion")}
BEFORE_FIRST_APPLY = "before-first-apply"
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


@dataclass(frozen=True)
class Write:
    """Who writes, and through which endpoint."""
    res: Resource
    manager: str
    now: str
    subresource: str = ""


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


def _content(obj: Obj | None) -> Obj:
    if not obj:
        return {}
    out = dict(obj)
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return out


def _reset(w: Write, paths: set[Path]) -> set[Path]:
    """Fields the endpoint cannot set are nobody's there: status through the main resource, all but status
    through /status, all but the replicas through /scale (the registries' ResetFieldsStrategy)."""
    if w.subresource == "status":
        return {p for p in paths if p[:1] == ("f:status",)}
    if w.subresource == "scale":
        return paths & {("f:spec", "f:replicas")}
    if "status" in w.res.subresources:
        paths = {p for p in paths if p[:1] != ("f:status",)}
    return paths - _STRIPPED


def _entry(entries: list[Entry], w: Write, operation: str) -> Entry:
    ident = Entry(w.manager, operation, w.res.api_version, w.now, set(), w.subresource).ident()
    found = next((e for e in entries if e.ident() == ident), None)
    if found is None:
        found = Entry(w.manager, operation, w.res.api_version, w.now, set(), w.subresource)
        entries.append(found)
    return found


def _starting(live: Obj | None, new: Obj) -> list[Entry]:
    """The entries a write starts from: the ones it sends, when it changes them (`[{}]` clears them),
    else the live object's."""
    current = decode((live or {}).get("metadata", {}).get("managedFields")) or []
    sent = decode(new.get("metadata", {}).get("managedFields"))
    if sent and sent != current:
        return [e for e in sent if e.manager or e.fields]
    return current


def _record(entries: list[Entry], w: Write, c: typed.Comparison, operation: str) -> None:
    """Take what changed from the other managers and what went from everyone; an updater owns what it
    changed (an applier owns what it applied, set by the caller)."""
    changed, removed = _reset(w, c.added | c.modified), _reset(w, c.removed)
    mine = _entry(entries, w, operation)
    for e in entries:
        e.fields -= removed if e is mine else changed | removed
    if operation == "Update" and changed:
        mine.fields |= changed
        mine.time = w.now


def update(live: Obj | None, new: Obj, w: Write) -> None:
    """Record in `new` who changed what between `live` (None on create) and `new`."""
    entries = _starting(live, new)
    try:
        c = typed.compare(_content(live), _content(new), fieldtypes.kind_type(w.res.kind))
    except typed.TypedError:  # the schema refuses the object: no managedFields (the server logs, goes on)
        new["metadata"].pop("managedFields", None)
        return
    _record(entries, w, c, "Update")
    entries = [e for e in entries if e.fields]
    _cap_updaters(entries)
    _store(new, entries)


def _cap_updaters(entries: list[Entry]) -> None:
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


def _store(obj: Obj, entries: list[Entry]) -> None:
    encoded = encode(entries)
    if encoded:
        obj["metadata"]["managedFields"] = encoded
    else:
        obj["metadata"].pop("managedFields", None)


def _gvknn(w: Write, config: Obj) -> str:
    meta = config.get("metadata") or {}
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}; " if meta.get("name") else ""
    return f"{name}{w.res.group}/{w.res.version}, Kind={w.res.kind}"


def apply(live: Obj | None, config: Obj, w: Write, force: bool) -> Obj:
    """The object after applying `config` as `w.manager`; 409 Conflict on another manager's field."""
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise BadRequest("metadata.managedFields must be nil")
    expr = fieldtypes.kind_type(w.res.kind)
    try:
        applied = typed.field_set(config, expr)
    except typed.TypedError as exc:
        raise BadRequest(f"failed to create typed patch object ({_gvknn(w, config)}): {exc}") from None
    try:
        return _apply(live, config, w, force, expr, applied)
    except typed.TypedError as exc:  # the live object the schema refuses (duplicate keys)
        raise BadRequest(f"failed to create typed live object ({_gvknn(w, config)}): {exc}") from None


def _apply(live: Obj | None, config: Obj, w: Write, force: bool, expr: str, applied: set[Path]) -> Obj:
    base = _content(live)
    entries = decode((live or {}).get("metadata", {}).get("managedFields")) or []
    if live is not None and not entries:  # whoever made the object owns what is there
        before = Write(w.res, BEFORE_FIRST_APPLY, w.now, w.subresource)
        _record(entries, before, typed.compare({}, base, expr), "Update")
    mine = _entry(entries, w, "Apply")
    last, mine.fields = mine.fields, _reset(w, applied)
    merged = typed.merge(copy.deepcopy(base), config, expr)
    owned = fieldpaths.with_named_parents(applied.union(*(e.fields for e in entries)))
    typed.remove(merged, fieldpaths.with_named_parents(last) - owned - _STRIPPED)
    c = typed.compare(base, merged, expr)
    conflicts = _conflicts(entries, mine, _reset(w, c.added | c.modified))
    if conflicts and w.manager == lastapplied.KUBECTL and live is not None:
        allowed = lastapplied.allowed_conflicts(base, expr, w.res.api_version)
        conflicts = [(e, p) for e, p in conflicts if p not in allowed]
    if conflicts and not force:
        raise _conflict_error(conflicts)
    _record(entries, w, c, "Apply")
    mine.fields = _reset(w, applied)
    if merged != base or not last:
        mine.time = w.now
    _store(merged, entries)
    if w.manager == lastapplied.KUBECTL:
        lastapplied.sync(merged, config)
    return merged


def _conflicts(entries: list[Entry], mine: Entry, changed: set[Path]) -> list[tuple[Entry, Path]]:
    out = []
    for e in sorted(entries, key=lambda e: e.manager):
        if e is not mine:
            out += [(e, p) for p in sorted(e.fields & changed)]
    return out


def _conflict_error(conflicts: list[tuple[Entry, Path]]) -> Conflict:
    """409 with the fieldmanager's message and one FieldManagerConflict cause per field."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.printed()}",
               "field": fieldpaths.render(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        return Conflict(f"Apply failed with 1 conflict: conflict with {e.printed()}: {fieldpaths.render(p)}",
                        {"causes": causes})
    lines: list[str] = []
    for e, p in conflicts:
        header = f"conflicts with {e.printed()}:"
        if header not in lines:
            lines.append(header)
        lines.append(f"- {fieldpaths.render(p)}")
    return Conflict(f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines), {"causes": causes})
