"""Approval requests for remediation: what a person confirms with a button, and who may.

The pending request is a journal `Confirmation` whose ID starts with `PREFIX`; its text names
the action and a flag: `evacuate blade2`, `evacuate blade2 without-noout` (a failing OSD),
`fence blade3`, or `fence blade4 off` when a person is asked to confirm the blade is powered
off. Approving an action needs `operate`; saying a blade is off needs `admin`: fencing a blade
that still runs its VMs is the one thing remediation must never do.
"""

from __future__ import annotations

from typing import Literal

PREFIX = "remediation-"
OFF, WITHOUT_NOOUT = "off", "without-noout"


def text(action: str, blade: str, flag: str = "") -> str:
    return f"{action} {blade} {flag}".strip()


def parse(approval: str) -> tuple[str, str, str]:
    """(action, blade, flag) of an approval's text."""
    action, blade, flag = ([*approval.split(), "", "", ""])[:3]
    return action, blade, flag


def permission(approval: str) -> Literal["operate", "admin"]:
    return "admin" if parse(approval)[2] == OFF else "operate"
