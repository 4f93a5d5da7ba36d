"""The Slack front end: `/drewburr VERB ...` and the Confirm / Cancel buttons, as bolt listeners.

Slack waits 3 seconds: every listener acks first and works after. A read verb's answer is
posted to the channel; a changing verb posts its plan with buttons (the pending confirmation
is in the journal, so a restart honours it); Confirm runs the operation, edits the plan's
message as steps finish, writes each step to its thread and ends with the outcome.
Permissions come from the config; `@handle` grants are resolved with `usergroups.users.list`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from alert_handlers import approvals
from bot.config import Settings
from bot.metrics import Metrics
from bot.slack_blocks import fits, plan_blocks, text_blocks
from bot.slack_client import SlackClient
from bot.slack_progress import LiveMessage, blocks_or_file, ending
from commands import dispatch
from commands.grammar import UsageError, parse
from commands.permissions import Grants, allows, channel_refusal, denial, second_person
from infra.errors import GatewayError
from infra.journal import AuditEntry, Confirmation, OperationStatus, StepRecord
from infra.operations.context import Context

log = logging.getLogger(__name__)
OUTCOMES = {0: "done", 1: "failed", 2: "refused"}  # a verb's exit code, said
GROUPS_TTL = 60.0  # seconds a user group's members are trusted before asking Slack again
ENVELOPES = frozenset({"slash_commands", "interactive", "events_api"})  # what the app handles


async def ignore_unknown_envelope(client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
    """A Socket Mode envelope of a type the app does not know (a feature Slack added) is acked and
    logged, so Slack does not send it again; bolt's own listener answers it as unhandled."""
    if req.type not in ENVELOPES:
        log.warning("ignored a Socket Mode envelope of unknown type %r (envelope %s)", req.type,
                    req.envelope_id)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SlackFront:
    def __init__(self, settings: Settings, context: Context, metrics: Metrics | None = None) -> None:
        cfg = settings.slack
        token = cfg.bot_token.get_secret_value() if cfg.bot_token else None
        self.metrics = metrics
        self.client = SlackClient(metrics, token=token, base_url=cfg.api_url)
        secret = cfg.signing_secret.get_secret_value() if cfg.signing_secret else None
        self.app = AsyncApp(client=self.client, signing_secret=secret,
                            request_verification_enabled=cfg.mode == "http")
        self.context, self.grants = context, Grants(**settings.permissions.model_dump())
        self.channels = cfg.channels
        self._handles = {g[1:] for lvl in ("read", "operate", "admin") for g in getattr(self.grants, lvl)
                         if g.startswith("@")}
        self._members: dict[str, set[str]] = {}  # handle -> user IDs, as last read
        self._fetched = float("-inf")
        self.app.command("/drewburr")(self.on_command)
        self.app.action("drewburr_confirm")(self.on_confirm)
        self.app.action("drewburr_cancel")(self.on_cancel)
        self.app.action("drewburr_silence")(self.on_silence)
        self.tasks: set[asyncio.Task[None]] = set()
        # remediation's approval requests: (the confirmation, who approved) -> what came of it
        self.on_approval: Callable[[Confirmation, str], Awaitable[str]] | None = None

    def _later(self, work: Any) -> None:
        """Work after the ack, kept referenced until done."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _user_groups(self, user: str) -> set[str]:
        """The granted `@handle`s the user belongs to; members are read from Slack at most once a minute."""
        if not self._handles:
            return set()
        now = time.monotonic()
        if self._fetched + GROUPS_TTL < now:
            listing = await self.client.usergroups_list()
            self._members = {}
            for group in listing["usergroups"]:
                if group["handle"] in self._handles:
                    users = await self.client.usergroups_users_list(usergroup=group["id"])
                    self._members[group["handle"]] = set(users["users"])
            self._fetched = now
        return {handle for handle, members in self._members.items() if user in members}

    async def _allowed(self, user: str, needed: str) -> bool:
        return allows(self.grants, user, await self._user_groups(user), needed)

    async def _tell(self, channel: str, user: str, text: str, what: str) -> None:
        """Answer one person only, and audit it."""
        await self._audit(user, channel, what, text)
        await self.client.chat_postEphemeral(channel=channel, user=user, text=text)

    async def _audit(self, user: str, channel: str, what: str, result: str, op_id: int | None = None) -> None:
        await self.context.journal.audit(AuditEntry(at=time.time(), who=user, where=channel, what=what,
                                                    result=result.splitlines()[0][:300] if result else "",
                                                    op_id=op_id))

    async def on_command(self, ack: Any, command: dict[str, Any]) -> None:
        await ack()
        self._later(self._command(command["user_id"], command["channel_id"], command.get("text", "")))

    async def on_silence(self, ack: Any, body: dict[str, Any]) -> None:
        """An alert's Silence button: its value is the `silence ...` command, run as if typed."""
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        command = str(body["actions"][0].get("value", ""))
        if command.startswith("silence "):
            self._later(self._command(user, channel, command))
        else:  # a forged value must not become some other command
            self._later(self._tell(channel, user, "This button is not one of drewburr's: nothing changed.",
                                   "an unknown Silence button"))

    def _count(self, verb: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.commands.labels(verb, outcome).inc()

    async def _command(self, user: str, channel: str, text: str) -> None:
        if refused := channel_refusal(self.channels, channel):
            await self._tell(channel, user, refused, text)
            return
        try:
            req = parse(text)
        except UsageError as exc:
            self._count("(unparsed)", "usage-error")
            await self._tell(channel, user, f"{exc}", text)
            return
        if not await self._allowed(user, req.spec.permission):
            log.info("denied: %s %s", user, text)
            self._count(req.verb, "denied")
            await self._tell(channel, user, denial(user, req.verb, req.spec.permission), text)
            return
        try:
            shown = await dispatch.preview(self.context, req, user, channel, text, time.time())
        except GatewayError as exc:  # a system down (Alertmanager, PVE): said, not lost in a task
            self._count(req.verb, "failed")
            await self._tell(channel, user, f"`{text}` failed, nothing changed: {exc}", text)
            return
        self._count(req.verb, "plan-shown" if shown.confirmation else OUTCOMES[shown.result.code])
        await self._audit(user, channel, text, "plan shown" if shown.confirmation else shown.result.text)
        if shown.confirmation is None:
            title = f"<@{user}>: `{text}`"
            posted = await self.client.chat_postMessage(channel=channel, text=shown.result.text[:3000],
                                                        blocks=text_blocks(title, shown.result.text))
            if not fits(shown.result.text):
                blocks = await blocks_or_file(self.client, channel, posted["ts"], title, shown.result.text)
                await self.client.chat_update(channel=channel, ts=posted["ts"], text=title, blocks=blocks)
            return
        posted = await self.client.chat_postMessage(channel=channel, text=f"Plan: {text}", blocks=plan_blocks(
            f"<@{user}> asked: `{text}`", shown.result.text, shown.confirmation.id))
        await self.context.journal.put_confirmation(
            shown.confirmation.model_copy(update={"message_ts": posted["ts"]}))

    async def on_cancel(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self._later(self._settle(body, confirm=False))

    async def on_confirm(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self._later(self._settle(body, confirm=True))

    async def _settle(self, body: dict[str, Any], confirm: bool) -> None:
        user, channel = body["user"]["id"], body["channel"]["id"]
        pending = await self.context.journal.get_confirmation(str(body["actions"][0].get("value", "")))
        if pending is None:
            await self._tell(channel, user, "This button is not one of drewburr's: nothing changed.",
                             "an unknown button")
            return
        what = f"{'Confirm' if confirm else 'Cancel'} `{pending.text}`"
        remediation = pending.id.startswith(approvals.PREFIX)
        req = None if remediation else parse(pending.text)
        verb, needed = (pending.text.split()[0], approvals.permission(pending.text)) if req is None else \
            (req.verb, req.spec.permission)
        if not await self._allowed(user, needed):
            await self._tell(channel, user, denial(user, verb, needed), what)
            return
        if pending.expires < time.time():
            expired = ("This request expired; a new alert about it asks again." if remediation
                       else f"This plan expired; run `/drewburr {pending.text}` again.")
            await self._tell(channel, user, expired, what)
            return
        if confirm and (refused := second_person(self.grants, verb, pending.user, user)):
            await self._tell(channel, user, refused, what)
            return
        journal = self.context.journal
        if not await journal.settle_confirmation(pending.id, "confirmed" if confirm else "cancelled"):
            settled = await journal.get_confirmation(pending.id)
            state = settled.state if settled else "settled"
            await self._tell(channel, user, f"This plan was already {state}: nothing changed.", what)
            return
        ts = str(pending.message_ts or body["container"]["message_ts"])
        if not confirm:
            await self._audit(user, channel, what, "cancelled: nothing changed")
            await self._edit(channel, ts, f"Cancelled by <@{user}>: nothing changed.")
            return
        if req is None:
            await self._approved(pending, user, channel, ts, what)
            return
        await self._run(req, pending, user, channel, ts)

    async def _approved(self, pending: Confirmation, user: str, channel: str, ts: str, what: str) -> None:
        """Remediation's request approved: it looks again and acts, saying so in the incident's thread."""
        await self._edit(channel, ts, f"Confirmed by <@{user}>: `{pending.text}`")
        result = await self.on_approval(pending, user) if self.on_approval else "remediation is not running"
        await self._audit(user, channel, what, result)

    async def _edit(self, channel: str, ts: str, title: str, body: str | None = None) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=title[:3000],
                                      blocks=text_blocks(title, body))

    async def _run(self, req: Any, pending: Any, user: str, channel: str, ts: str) -> None:
        live = LiveMessage(self.client, channel, ts, f"`{pending.text}` running (confirmed by <@{user}>)")
        live.show(f"Confirmed by <@{user}>: `{pending.text}` running...")
        thread = {"channel": channel, "ts": ts}

        async def listener(op: OperationStatus, step: StepRecord) -> None:
            if op.params.get("slack_thread") != thread:  # a replica resuming it writes in this thread too
                op.params["slack_thread"] = thread
                await self.context.journal.update_params(op.id, {"slack_thread": thread})
            await live(op, step)
        result = await dispatch.confirmed(self.context, req, pending, listener)
        self._count(req.verb, OUTCOMES[result.code])
        summary, title = ending(pending.text, user, live.seconds, result)
        await self._audit(user, channel, f"Confirm `{pending.text}`", summary,
                          result.operation.id if result.operation else None)
        blocks = await blocks_or_file(self.client, channel, ts, title, result.text)
        await live.close(blocks, title.splitlines()[0])

