"""Run a parsed `CommandRequest` (Slack, the console): the same verb functions as the CLI.

A changing verb runs in two phases: `preview` returns its plan and nothing changes; once a
person confirms, `confirmed` plans again and runs only if the plan is the one they saw
(by fingerprint), else it returns the new plan to confirm instead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from commands import addons, audit, bootstrap, drain, ops, plan, provision, reboot, restore, status
from commands.grammar import CommandRequest, UsageError, help_text, verb_help
from commands.result import DONE, Result, refused
from infra.journal import Confirmation
from infra.operations.context import Context
from infra.operations.machine import Listener

CHANGING = frozenset({"drain", "restore", "reboot", "provision", "bootstrap", "addons install"})
CONFIRM_SECONDS = 600.0  # a Confirm button works for ten minutes


@dataclass(frozen=True)
class Preview:
    """A plan waiting for a person: what to show, and the confirmation that will run it."""
    result: Result
    confirmation: Confirmation | None  # None: nothing to confirm (refused, dry run, a read verb)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _changing(ctx: Context, req: CommandRequest, *, dry_run: bool, yes: bool,
                    listener: Listener | None) -> Result:
    if req.verb == "provision":
        try:
            ask = provision.ask_from(req.args, req.flags)
        except ValueError as exc:
            raise UsageError(f"{exc}; usage: {req.spec.usage(req.verb)}") from None
        return await provision.provision(ctx, ask, dry_run=dry_run, yes=yes, listener=listener)
    if req.verb == "bootstrap":
        try:
            servers, agents = bootstrap.counts_from(ctx, req.flags)
        except ValueError as exc:
            raise UsageError(f"{exc}; usage: {req.spec.usage(req.verb)}") from None
        return await bootstrap.bootstrap(ctx, servers, agents, dry_run=dry_run, yes=yes, listener=listener)
    blade = req.args[0]
    if req.verb == "addons install":
        return await addons.install(ctx, blade, dry_run=dry_run, yes=yes, listener=listener)
    if req.verb == "drain":
        return await drain.drain(ctx, blade, dry_run=dry_run, yes=yes, listener=listener)
    if req.verb == "restore":
        return await restore.restore(ctx, blade, stay=req.flag("--stay"), dry_run=dry_run, yes=yes,
                                     listener=listener)
    return await reboot.reboot(ctx, blade, dry_run=dry_run, yes=yes, listener=listener)


def _op_id(req: CommandRequest) -> int:
    try:
        return int(req.args[0])
    except ValueError:
        raise UsageError(f"{req.verb} takes an operation ID (a number), not {req.args[0]!r}") from None


async def read(ctx: Context, req: CommandRequest) -> Result:
    """The verbs that change nothing."""
    if req.verb == "help":
        return Result(DONE, verb_help(req.args[0]) if req.args else help_text())
    if req.verb == "status":
        return await status.status(ctx)
    if req.verb == "plan":
        kind = str(req.flags.get("--for", "drain"))
        return await plan.show_plan(ctx, req.args[0], kind)  # type: ignore[arg-type]
    if req.verb == "addons status":
        return await addons.status(ctx)
    if req.verb == "ops list":
        return await ops.list_ops(ctx)
    if req.verb == "ops audit":
        return await audit.audit(ctx, _op_id(req) if req.args else None)
    if req.verb == "ops show":
        return await ops.show(ctx, _op_id(req))
    return await ops.cancel(ctx, _op_id(req), yes=True)  # typed in full: the cancel is the answer


async def preview(ctx: Context, req: CommandRequest, user: str, channel: str, text: str,
                  now: float) -> Preview:
    """A read verb's answer, or a changing verb's plan and its pending confirmation."""
    if req.verb not in CHANGING:
        return Preview(await read(ctx, req), None)
    shown = await _changing(ctx, req, dry_run=True, yes=False, listener=None)
    if req.flag("--dry-run") or shown.code != DONE:
        return Preview(shown, None)
    confirmation = Confirmation(id=secrets.token_urlsafe(12), user=user, channel=channel, text=text,
                                fingerprint=fingerprint(shown.text), expires=now + CONFIRM_SECONDS)
    await ctx.journal.put_confirmation(confirmation)
    return Preview(shown, confirmation)


async def confirmed(ctx: Context, req: CommandRequest, confirmation: Confirmation,
                    listener: Listener | None) -> Result:
    """Run it if the plan still holds; else show the new plan and run nothing."""
    again = await _changing(ctx, req, dry_run=True, yes=False, listener=None)
    if again.code != DONE:
        return again
    if fingerprint(again.text) != confirmation.fingerprint:
        return refused("The plan changed since it was shown, so nothing ran; run the command again to "
                       f"confirm the new plan:\n{again.text}")
    return await _changing(ctx, req, dry_run=False, yes=True, listener=listener)
