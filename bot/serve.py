"""`drewburr serve`: one asyncio process — the HTTP server (webhooks, health, metrics and, in
HTTP mode, `/slack/events`) on `server.host:port`, the Slack app (Socket Mode by default), and
the remediation loop, until SIGTERM or SIGINT.

With `leader.enabled` the replicas elect a leader through a Lease (bot/leader.py): every replica
answers Slack and webhooks; only the leader runs remediation and resumes interrupted operations.

With `slack.mode: off` what would be said in Slack goes to the log; every decision goes to
the journal either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from alert_handlers.alert import Alert
from alert_handlers.incidents import Incidents
from alert_handlers.ingest import Ingest, Ingested
from alert_handlers.remediate import Outcome, Policy, Remediator
from alert_handlers.watcher import Watcher
from alert_handlers.zones import ZoneKeeper
from bot import health, webhooks
from bot.cli_ops import build_context
from bot.config import ConfigError, Settings
from bot.leader import Elector
from bot.metrics import Metrics
from bot.resumer import Resumer
from bot.slack_app import SlackFront, ignore_unknown_envelope
from bot.slack_blocks import alert_blocks, question_blocks
from infra import owner
from infra.errors import GatewayError
from infra.journal import AuditEntry, JournalError, OperationStatus, Paused
from infra.operations.context import Context

log = logging.getLogger("drewburr")
SOCKET_CHECK_SECONDS = 5.0
SAY_LAST_SECONDS = 5.0  # at a stop, for Slack messages still being written


def _policy(settings: Settings) -> Policy:
    r = settings.remediation
    return Policy(mode=r.mode, hold_seconds=r.hold_seconds, cooldown_seconds=r.cooldown_seconds,
                  blocking_alerts=r.blocking_alerts, poll_seconds=r.poll_seconds)


class Bot:
    """The running process's parts, wired once."""

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings, self.context = settings, context
        self.metrics = Metrics()
        context.observers.append(self._operation_done)
        self.queue: asyncio.Queue[Alert] = asyncio.Queue()
        self.slack = SlackFront(settings, context, self.metrics) if settings.slack.mode != "off" else None
        self.incidents = Incidents(context.journal, self.post, time.time, settings.slack.channel)
        self.remediator = Remediator(context, _policy(settings), time.time, self.incidents,
                                     observe=self._count)
        if self.slack is not None:
            self.slack.on_approval = self.remediator.approved
        self.ingest = Ingest(self.queue, time.time, observe=self._ingested)
        poll = settings.watcher.poll_seconds  # the watcher and the zone keeper: docs/alerts.md
        self.watchers: list[Watcher | ZoneKeeper] = [
            Watcher(context.pve, context.k8s, self.ingest.findings, poll_seconds=poll),
            ZoneKeeper(context, self.say, poll)] if settings.watcher.enabled else []
        self.socket: AsyncSocketModeHandler | None = None
        self.resumer = Resumer(context, self.slack.client if self.slack else None, settings.slack.channel)
        self.leading: list[asyncio.Task[None]] = []  # the leader's work: remediation, watchers, resumption
        self.elector = _elector(settings, context, self._lead)
        self.electing: asyncio.Task[None] | None = None
        self.socket_watch: asyncio.Task[None] | None = None
        self.recording: set[asyncio.Task[None]] = set()  # audit writes of what a follower received

    async def say(self, text: str, alert: Alert | None = None) -> None:
        """To the configured channel, or the log when Slack is off (or refuses); a notice about an alert
        gets a Silence button."""
        await self.post(text, None, None, alert)

    async def post(self, text: str, thread_ts: str | None, confirmation: str | None,
                   alert: Alert | None = None) -> str | None:
        """An incident's message (in its thread when `thread_ts`); its ts, None when not posted. A
        question has Confirm/Cancel; a notice about an alert a Silence button."""
        channel = self.settings.slack.channel
        if self.slack is None or channel is None:
            log.info("slack (off): %s", text)
            return None
        blocks = (question_blocks(text, confirmation) if confirmation else
                  alert_blocks(text, alert) if alert else None)
        try:
            posted = await self.slack.client.chat_postMessage(channel=channel, text=text[:3000],
                                                              thread_ts=thread_ts, blocks=blocks)
        except SlackApiError as exc:
            log.warning("slack refused a notice (%s): %s", exc.response.get("error"), text)
            return None
        return str(posted["ts"])

    async def _slack_ok(self) -> str | None:
        """Socket Mode: connected and its pings answered (a link that stalls silently fails here)."""
        if self.socket is None:
            return None
        connected = await self.socket.client.is_connected()
        self.metrics.socket_connected.set(1 if connected else 0)
        return None if connected else "the Socket Mode link to Slack is down (no answer to its pings)"

    async def _watch_socket(self) -> None:
        """Keep the connected gauge true between probes."""
        while True:
            await self._slack_ok()
            await asyncio.sleep(SOCKET_CHECK_SECONDS)

    async def _pve_ok(self) -> str | None:
        try:
            await self.context.pve.version()
        except GatewayError as exc:
            return str(exc)
        return None

    async def _k8s_ok(self) -> str | None:
        if self.context.k8s is None:
            return None
        try:
            await self.context.k8s.version()
        except GatewayError as exc:
            return str(exc)
        return None

    def _operation_done(self, op: OperationStatus) -> None:
        started = min((s.started for s in op.steps if s.started), default=op.created)
        outcome = op.phase.lower()
        self.metrics.operations.labels(op.kind, outcome).inc()
        self.metrics.operation_seconds.labels(op.kind, outcome).observe(max(op.last_transition - started, 0))

    def _count(self, outcome: Outcome) -> None:
        self.metrics.decisions.labels(outcome.decision.action).inc()
        if outcome.held:
            self.metrics.holds.labels(outcome.held.gate).inc()

    def _ingested(self, source: str, result: Ingested) -> None:
        self.metrics.alerts.labels(source, "queued").inc(result.accepted)
        self.metrics.alerts.labels(source, "duplicate").inc(result.duplicates)
        if self.elector is not None and not self.elector.leading and result.accepted:
            # a follower decides nothing: it records what it received, which waits until it leads
            entry = AuditEntry(at=time.time(), who=source, where="webhook",
                               what=f"{result.accepted} alerts ({result.duplicates} repeated)",
                               result=f"received by {self.elector.identity}, not the leader: queued")
            task = asyncio.create_task(self.context.journal.audit(entry))
            self.recording.add(task)
            task.add_done_callback(self.recording.discard)

    async def _journal_ok(self) -> str | None:
        try:
            await self.context.journal.list(limit=1)
        except JournalError as exc:
            return str(exc)
        return None

    async def _remediation_ok(self) -> str | None:
        if self.electing is not None and self.electing.done():
            return "leader election stopped (see the log)"
        if self.elector is not None and not self.elector.leading:
            return None  # a follower: the leader remediates
        if not self.leading or any(task.done() for task in self.leading):
            return "the remediation loop is not running"
        return None

    def _lead(self, leading: bool) -> None:
        """Start the leader's work, or stop it (stepped down: another replica takes over)."""
        self.metrics.leader.set(1 if leading else 0)
        for task in self.leading:
            task.cancel()
        self.leading = []
        if leading:
            work = [self.remediator.run(self.queue), self.resumer.run(), *(w.run() for w in self.watchers)]
            self.leading = [asyncio.create_task(job) for job in work]

    async def _finish_steps(self) -> None:
        """Running operations finish their current step and stop there, journaled, to be resumed."""
        self.context.stopping.set()
        limit = self.settings.server.shutdown_seconds
        if owner.RUNNING:
            log.info("stopping: waiting up to %.0f s for operations %s to finish their current step",
                     limit, sorted(owner.RUNNING))
        deadline = time.monotonic() + limit
        # RUNNING is a set the machines change as they end: there is no event to wait on
        while owner.RUNNING and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        if owner.RUNNING:
            log.warning("operations %s were still in a step after %.0f s; they resume from it",
                        sorted(owner.RUNNING), limit)
        if self.slack is not None and self.slack.tasks:  # the last words about them, in Slack
            await asyncio.wait(self.slack.tasks, timeout=SAY_LAST_SECONDS)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=webhooks.MAX_BODY)
        token = self.settings.webhooks.token
        if token is None:
            log.warning("webhooks.token is not set: /alerts/* refuse every request")
        hooks = self.settings.webhooks
        webhooks.add_routes(app, self.ingest,
                            token.get_secret_value() if token else "",
                            hooks.grafana_secret.get_secret_value() if hooks.grafana_secret else None,
                            hooks.grafana_timestamp_header)
        checks = {"journal": self._journal_ok, "remediation": self._remediation_ok, "slack": self._slack_ok,
                  "proxmox": self._pve_ok, "kubernetes": self._k8s_ok}
        health.add_routes(app, self.metrics, checks)
        if self.slack is not None and self.settings.slack.mode == "http":
            slack_app = self.slack.app

            async def events(request: web.Request) -> web.Response:
                answer = await slack_app.async_dispatch(await to_bolt_request(request))
                return await to_aiohttp_response(answer)
            app.router.add_post("/slack/events", events)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        server = self.settings.server
        site = web.TCPSite(runner, server.host, server.port)
        await site.start()
        if self.settings.remediation.paused and await self.context.journal.paused() is None:
            # the config pauses at every start; `automation resume` lifts it until the next one
            await self.context.journal.set_paused(Paused(by="config", reason="remediation.paused is true",
                                                         since=time.time()))
        self.electing = electing = asyncio.create_task(self.elector.run()) if self.elector else None
        if self.elector is None:
            self._lead(True)
        if self.slack is not None and self.settings.slack.mode == "socket":
            token = self.settings.slack.app_token
            self.socket = AsyncSocketModeHandler(self.slack.app, token.get_secret_value() if token else "")
            self.socket.client.socket_mode_request_listeners.insert(0, ignore_unknown_envelope)
            await self.socket.connect_async()
            self.socket_watch = asyncio.create_task(self._watch_socket())
        log.info("serving on http://%s:%s (webhooks, /healthz, /readyz, /metrics)", server.host, server.port)
        try:
            await stop.wait()
            await self._finish_steps()
        finally:
            if electing is not None:  # first: the next leader need not wait for the rest
                electing.cancel()  # which releases the Lease, after stopping the leader's work
                with contextlib.suppress(asyncio.CancelledError):
                    await electing
            if self.socket_watch is not None:
                self.socket_watch.cancel()
            if self.socket is not None:
                await self.socket.close_async()
            leading, self.leading = self.leading, []
            for task in leading:
                task.cancel()
            await asyncio.gather(*leading, return_exceptions=True)
            await runner.cleanup()
            log.info("stopped")


def _elector(settings: Settings, context: Context, on_change: Callable[[bool], None]) -> Elector | None:
    cfg = settings.leader
    if not cfg.enabled:
        return None
    if context.k8s is None:
        raise ConfigError("leader.enabled needs kubernetes.kubeconfig (or to run in a pod)")
    return Elector(context.k8s, cfg, cfg.identity or owner.me(), on_change)


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (exit 0)."""
    bot = Bot(settings, build_context(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bot.run(stop)

