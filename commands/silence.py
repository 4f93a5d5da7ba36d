"""`silence ALERTNAME|FINGERPRINT DURATION [REASON]`, `silence list`, `silence expire ID`: Alertmanager
silences through its API v2.

A 16-hex-digit target is an alert's fingerprint: the silence matches that alert's exact label
set (read from Alertmanager); anything else is an alert name. Durations are `30m`, `2h`, `1d`,
`1h30m`; at most 90 days.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from commands.result import DONE, Result, refused
from infra.gateways.alertmanager import AlertmanagerGateway, Matcher, Silence
from infra.operations.context import Context

PERMISSIONS = {"create": "operate", "list": "read", "expire": "operate"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SECONDS = 90 * 86400
FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def duration_seconds(text: str) -> int | str:
    """Seconds, or what is wrong with `text`."""
    parts = re.findall(r"(\d+)([smhdw])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return f"duration {text!r} is not like 30m, 2h, 1d or 1h30m"
    seconds = sum(int(n) * UNITS[u] for n, u in parts)
    if not 0 < seconds <= MAX_SECONDS:
        return f"duration {text!r} must be more than 0 and at most 90d"
    return seconds


def _gateway(ctx: Context) -> AlertmanagerGateway | Result:
    if ctx.alertmanager is None:
        return refused("Silences need Alertmanager: set alertmanager.url in drewburr's config.")
    return ctx.alertmanager


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _matchers(silence: Silence) -> str:
    return ", ".join(f"{m.name}{'=' if m.isEqual else '!'}{'~' if m.isRegex else ''}{m.value!r}"
                     for m in silence.matchers)


async def create(ctx: Context, target: str, duration: str, reason: str | None, who: str,
                 dry_run: bool = False) -> Result:
    am = _gateway(ctx)
    if isinstance(am, Result):
        return am
    if not target.strip():
        return refused("name the alert (ALERTNAME) or give its FINGERPRINT; an empty name matches nothing")
    seconds = duration_seconds(duration)
    if isinstance(seconds, str):
        return refused(f"{seconds}; usage: silence ALERTNAME|FINGERPRINT DURATION [REASON]")
    alerts = await am.alerts()
    if FINGERPRINT.fullmatch(target):
        found = next((a for a in alerts if a.fingerprint == target), None)
        if found is None:
            return refused(f"Alertmanager holds no alert with fingerprint {target} now; "
                           "silence it by its name instead (`silence ALERTNAME DURATION`).")
        labels = found.labels
    else:
        labels = {"alertname": target}
    matchers = [Matcher(name=k, value=v) for k, v in sorted(labels.items())]
    now = dt.datetime.fromtimestamp(ctx.clock(), dt.UTC)
    ends = now + dt.timedelta(seconds=seconds)
    comment = reason or f"silenced from drewburr by {who}"
    matching = sum(all(a.labels.get(k) == v for k, v in labels.items()) for a in alerts)
    what = ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
    if dry_run:
        return Result(DONE, f"Would silence {what} until {_when(ends)} ({duration}): {comment}. It matches "
                            f"{matching} alert(s) Alertmanager holds now. Nothing changed (--dry-run).",
                      data={"matchers": labels, "endsAt": ends.isoformat(), "dry_run": True})
    silence_id = await am.create_silence(matchers, now, ends, who, comment)
    return Result(DONE, f"Silenced {what} until {_when(ends)} ({duration}): {comment}. "
                        f"It matches {matching} alert(s) Alertmanager holds now. Silence {silence_id}; "
                        f"`silence expire {silence_id}` ends it.",
                  data={"id": silence_id, "matchers": labels, "endsAt": ends.isoformat()})


async def list_silences(ctx: Context) -> Result:
    am = _gateway(ctx)
    if isinstance(am, Result):
        return am
    live = [s for s in await am.silences() if s.state != "expired"]
    if not live:
        return Result(DONE, "No active or pending silences.", data=[])
    live.sort(key=lambda s: s.endsAt)
    lines = [f"{s.id}  {s.state:<7} until {_when(s.endsAt)}  {_matchers(s)}  by {s.createdBy}: {s.comment}"
             for s in live]
    return Result(DONE, "\n".join(lines), data=[s.model_dump(mode="json") for s in live])


async def expire(ctx: Context, silence_id: str, dry_run: bool = False) -> Result:
    am = _gateway(ctx)
    if isinstance(am, Result):
        return am
    try:
        uuid.UUID(silence_id)
    except ValueError:
        return refused(f"{silence_id!r} is not a silence ID (a UUID, as `silence list` shows)")
    found = next((s for s in await am.silences() if s.id == silence_id), None)
    if found is None:
        return refused(f"Alertmanager has no silence {silence_id}; see `silence list`.")
    if found.state == "expired":
        return refused(f"Silence {silence_id} has already expired: nothing changed.")
    if dry_run:
        return Result(DONE, f"Would expire silence {silence_id} ({_matchers(found)}). Nothing changed "
                            "(--dry-run).", data={"id": silence_id, "dry_run": True})
    await am.expire_silence(silence_id)
    return Result(DONE, f"Expired silence {silence_id} ({_matchers(found)}).", data={"id": silence_id})
