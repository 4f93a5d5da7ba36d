"""`metadata.managedFields`: who set which field, kept on every write, and server-side apply itself.

An update (create, PUT, a non-apply PATCH) gives its manager the fields it changed and takes them
from everyone else. An apply merges the applied configuration into the object, owns exactly the
fields it names, removes fields its manager applied before and no manager owns any more, and
fails with 409 when it would change a field another manager owns, unless forced.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from lab.k8s import fieldpaths, fieldtypes, lastapplied, managedfields, typed
from lab.k8s.errors import BadRequest, Conflict
from lab.k8s.fieldpaths import Path
from lab.k8s.managedfields import Entry
from lab.k8s.resources import Resource

Obj = dict[str, Any]
# the fields no manager owns (the fieldmanager's stripMeta)
_STRIPPED = {("f:apiVersion",), ("f:kind",), ("f:metadata",)} | {("f:metadata", "f:" + f) for f in (
    "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields",
    "resourceVersion")}
BEFORE_FIRST_APPLY = "before-first-apply"


@dataclass(frozen=True)
class Write:
    """Who writes, and through which endpoint."""
    res: Resource
    manager: str
    now: str
    subresource: str = ""


def _content(obj: Obj | None) -> Obj:
    if not obj:
        return {}
    out = dict(obj)
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return out


def _reset(w: Write, paths: set[Path]) -> set[Path]:
    """Fields the endpoint cannot set are nobody's there: status through the main resource, all but status
    through /status (the registries' ResetFieldsStrategy); a /scale write changes only the replicas."""
    if w.subresource == "status":
        return {p for p in paths if p[:1] == ("f:status",)}
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
    current = managedfields.decode((live or {}).get("metadata", {}).get("managedFields")) or []
    sent = managedfields.decode(new.get("metadata", {}).get("managedFields"))
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
    managedfields.cap_updaters(entries)
    managedfields.store(new, entries)


def gvk(obj: Obj) -> str:
    """An object's group, version and kind as Go prints a GroupVersionKind (`apps/v1, Kind=Deployment`)."""
    parts = str(obj.get("apiVersion") or "").split("/")
    group, version = {1: ("", parts[0]), 2: (parts[0], parts[-1])}.get(len(parts), ("", ""))
    return f"{group}/{version}, Kind={obj.get('kind') or ''}"


def _gvknn(w: Write, config: Obj) -> str:
    meta = config.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}; " if meta.get("name") else ""
    return name + gvk({"apiVersion": w.res.api_version, "kind": w.res.kind})


def apply(live: Obj | None, config: Obj, w: Write, force: bool) -> Obj:
    """The object after applying `config` as `w.manager`; 409 Conflict on another manager's field."""
    if isinstance(config.get("metadata"), dict) and config["metadata"].get("managedFields") is not None:
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
    entries = managedfields.decode((live or {}).get("metadata", {}).get("managedFields")) or []
    if live is not None and not entries:  # whoever made the object owns what is there
        before = Write(w.res, BEFORE_FIRST_APPLY, w.now, w.subresource)
        _record(entries, before, typed.compare({}, base, expr), "Update")
    mine = _entry(entries, w, "Apply")
    last, mine.fields = mine.fields, _reset(w, applied)
    merged = typed.merge(copy.deepcopy(base), config, expr)
    if not isinstance(merged.get("metadata"), dict):  # none applied (or null): the object keeps its own
        merged["metadata"] = copy.deepcopy(base.get("metadata") or {})
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
    managedfields.store(merged, entries)
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
