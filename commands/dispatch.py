"""Run a parsed `CommandRequest` (Slack, the console): the same verb functions as the CLI.

A changing verb runs in two phases: `preview` returns its plan and nothing changes; once a
person confirms, `confirmed` plans again and runs only if the plan is the one they saw
(by fingerprint), else it returns the new plan to confirm instead.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from commands import (
    addons,
    audit,
    automation,
    bootstrap,
    drain,
    ops,
    plan,
    provision,
    reboot,
    restore,
    silence,
    status,
    whatif,
)
from commands.grammar import CommandRequest, UsageError, help_text, verb_help
from commands.result import DONE, Result, refused
from infra.journal import Confirmation
from infra.operations.context import Context
from infra.operations.machine import Listener

CONFIRM_SECONDS = 600.0  # a Confirm button works for ten minutes


@dataclass(frozen=True)
class Preview:
    """A plan waiting for a person: what to show, and the confirmation that will run it."""
    result: Result
    confirmation: Confirmation | None  # None: nothing to confirm (refused, dry run, a read verb)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Mode:
    """How a verb runs: a dry run (its plan, nothing changes), or for real, with a progress listener."""
    dry_run: bool
    yes: bool
    listener: Listener | None = None


Run = Callable[[Context, CommandRequest, Mode], Awaitable[Result]]


def _op_id(req: CommandRequest) -> int:
    try:
        return int(req.args[0])
    except ValueError:
        raise UsageError(f"{req.verb} takes an operation ID (a number), not {req.args[0]!r}") from None


async def _provision(ctx: Context, req: CommandRequest, mode: Mode) -> Result:
    try:
        ask = provision.ask_from(req.args, req.flags)
    except ValueError as exc:
        raise UsageError(f"{exc}; usage: {req.spec.usage(req.verb)}") from None
    return await provision.provision(ctx, ask, dry_run=mode.dry_run, yes=mode.yes, listener=mode.listener)


async def _help(ctx: Context, req: CommandRequest, mode: Mode) -> Result:
    return Result(DONE, verb_help(req.args[0]) if req.args else help_text())


async def _bootstrap(ctx: Context, req: CommandRequest, m: Mode) -> Result:
    try:
        servers, agents = bootstrap.counts_from(ctx, req.flags)
    except ValueError as exc:
        raise UsageError(f"{exc}; usage: {req.spec.usage(req.verb)}") from None
    return await bootstrap.bootstrap(ctx, servers, agents, dry_run=m.dry_run, yes=m.yes, listener=m.listener)


# One runner per verb of the grammar; a verb that takes --yes changes something and is confirmed first.
RUN: dict[str, Run] = {
    "help": _help,
    "status": lambda ctx, req, mode: status.status(ctx),
    "plan": lambda ctx, req, mode: plan.show_plan(ctx, req.args[0], req.flags.get("--for", "drain")),  # type: ignore[arg-type]
    "whatif": lambda ctx, req, mode: whatif.whatif(ctx, req.args[0]),
    "drain": lambda ctx, req, m: drain.drain(ctx, req.args[0], dry_run=m.dry_run, yes=m.yes,
                                             listener=m.listener),
    "restore": lambda ctx, req, m: restore.restore(ctx, req.args[0], stay=req.flag("--stay"),
                                                   dry_run=m.dry_run, yes=m.yes, listener=m.listener),
    "reboot": lambda ctx, req, m: reboot.reboot(ctx, req.args[0], dry_run=m.dry_run, yes=m.yes,
                                                listener=m.listener),
    "provision": _provision,
    "bootstrap": _bootstrap,
    "addons install": lambda ctx, req, m: addons.install(ctx, req.args[0], dry_run=m.dry_run, yes=m.yes,
                                                         listener=m.listener),
    "addons status": lambda ctx, req, mode: addons.status(ctx),
    "ops list": lambda ctx, req, mode: ops.list_ops(ctx),
    "ops audit": lambda ctx, req, mode: audit.audit(ctx, _op_id(req) if req.args else None),
    "ops show": lambda ctx, req, mode: ops.show(ctx, _op_id(req)),
    # typed in full: the cancel is the answer, no second confirmation
    "ops cancel": lambda ctx, req, mode: ops.cancel(ctx, _op_id(req), yes=True),
    "silence list": lambda ctx, req, mode: silence.list_silences(ctx),
    "automation status": lambda ctx, req, mode: automation.status(ctx),
}
Act = Callable[[Context, CommandRequest, str], Awaitable[Result]]


def _reason(req: CommandRequest) -> str | None:
    """The optional REASON after the fixed arguments (the grammar joined the rest of the line)."""
    return req.args[-1] if len(req.args) > len(req.spec.args) else None


# The verbs that act at once, typed in full (no plan to confirm), and need who typed them.
ACT: dict[str, Act] = {
    "silence": lambda ctx, req, who: silence.create(ctx, req.args[0], req.args[1], _reason(req), who,
                                                    dry_run=req.flag("--dry-run")),
    "silence expire": lambda ctx, req, who: silence.expire(ctx, req.args[0], dry_run=req.flag("--dry-run")),
    "automation pause": lambda ctx, req, who: automation.pause(ctx, _reason(req), who,
                                                               dry_run=req.flag("--dry-run")),
    "automation resume": lambda ctx, req, who: automation.resume(ctx, who, dry_run=req.flag("--dry-run")),
}


def changing(req: CommandRequest) -> bool:
    return "--yes" in req.spec.flags


async def read(ctx: Context, req: CommandRequest) -> Result:
    """A verb that changes nothing."""
    return await RUN[req.verb](ctx, req, Mode(dry_run=True, yes=False))


async def preview(ctx: Context, req: CommandRequest, user: str, channel: str, text: str,
                  now: float) -> Preview:
    """A read verb's answer, an acting verb's outcome, or a changing verb's plan and its pending
    confirmation."""
    if req.verb in ACT:
        return Preview(await ACT[req.verb](ctx, req, user), None)
    if not changing(req):
        return Preview(await read(ctx, req), None)
    shown = await RUN[req.verb](ctx, req, Mode(dry_run=True, yes=False))
    if req.flag("--dry-run") or shown.code != DONE:
        return Preview(shown, None)
    confirmation = Confirmation(id=secrets.token_urlsafe(12), user=user, channel=channel, text=text,
                                fingerprint=fingerprint(shown.text), expires=now + CONFIRM_SECONDS)
    await ctx.journal.put_confirmation(confirmation)
    return Preview(shown, confirmation)


async def confirmed(ctx: Context, req: CommandRequest, confirmation: Confirmation,
                    listener: Listener | None) -> Result:
    """Run it if the plan still holds; else show the new plan and run nothing."""
    again = await RUN[req.verb](ctx, req, Mode(dry_run=True, yes=False))
    if again.code != DONE:
        return again
    if fingerprint(again.text) != confirmation.fingerprint:
        return refused("The plan changed since it was shown, so nothing ran; run the command again to "
                       f"confirm the new plan:\n{again.text}")
    return await RUN[req.verb](ctx, req, Mode(dry_run=False, yes=True, listener=listener))
