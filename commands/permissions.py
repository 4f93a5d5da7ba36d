"""Who may run what: each verb's permission class (read < operate < admin) against the grants
in the config (`permissions`): Slack user IDs, `@usergroup` handles, or `*` for everyone.
Also where (`slack.channels`, an allowlist) and by how many (`permissions.two_person`: verbs whose
Confirm must come from someone other than the person who asked)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

LEVELS = ("read", "operate", "admin")


class Grants(BaseModel):
    read: list[str] = Field(default_factory=lambda: ["*"])
    operate: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)
    two_person: list[str] = Field(default_factory=list)


def _granted(entries: list[str], user: str, groups: Iterable[str]) -> bool:
    handles = {f"@{g}" for g in groups}
    return any(e == "*" or e == user or e in handles for e in entries)


def level_of(grants: Grants, user: str, groups: Iterable[str]) -> str | None:
    """The highest class the user holds (a higher one includes the lower), or None."""
    groups = list(groups)
    held = [lvl for lvl in LEVELS if _granted(getattr(grants, lvl), user, groups)]
    return held[-1] if held else None


def allows(grants: Grants, user: str, groups: Iterable[str], needed: str) -> bool:
    level = level_of(grants, user, groups)
    return level is not None and LEVELS.index(level) >= LEVELS.index(needed)


def denial(user: str, verb: str, needed: str) -> str:
    return (f"<@{user}> may not run `{verb}`: it needs the {needed} permission "
            f"(permissions.{needed} in drewburr's config)")


def second_person(grants: Grants, verb: str, requester: str, confirmer: str) -> str | None:
    """Why `confirmer` may not confirm `requester`'s `verb` under the two-person rule, or None."""
    if verb in grants.two_person and confirmer == requester:
        return (f"`{verb}` needs a second person: someone else with the permission must press Confirm, "
                f"not <@{requester}> who asked (permissions.two_person). Nothing changed.")
    return None


def channel_refusal(channels: list[str], channel: str) -> str | None:
    """Why a command from `channel` is refused (the `slack.channels` allowlist), or None."""
    if channels and channel not in channels:
        allowed = ", ".join(f"<#{c}>" for c in channels)
        return f"drewburr takes commands only in {allowed} (slack.channels); nothing was run."
    return None
