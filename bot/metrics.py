"""drewburr's own figures for `/metrics`, in a registry of its own (not the process-wide default).

Every family a dashboard or the bot's PrometheusRule reads is declared here, once.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Operations take seconds (a cordon) to an hour (a reboot of every blade).
OPERATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, float("inf"))


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.commands = Counter("drewburr_commands", "Commands received, by verb and outcome",
                                ["verb", "outcome"], registry=r)
        self.alerts = Counter("drewburr_alerts_received", "Alerts received by the webhooks",
                              ["source", "outcome"], registry=r)
        self.decisions = Counter("drewburr_remediation_decisions", "Decisions on alerts",
                                 ["action"], registry=r)
        self.holds = Counter("drewburr_remediation_holds", "Actions held back, by the gate that held them",
                             ["gate"], registry=r)
        self.operations = Counter("drewburr_operations", "Operations finished, by kind and outcome",
                                  ["kind", "outcome"], registry=r)
        self.operation_seconds = Histogram("drewburr_operation_duration_seconds",
                                           "How long finished operations ran", ["kind", "outcome"],
                                           buckets=OPERATION_BUCKETS, registry=r)
        self.slack_errors = Counter("drewburr_slack_api_errors", "Slack Web API calls that failed",
                                    ["method", "error"], registry=r)
        self.slack_retries = Counter("drewburr_slack_api_retries", "Slack Web API calls retried",
                                     ["reason"], registry=r)
        self.socket_connected = Gauge("drewburr_slack_socket_connected",
                                      "1 while the Socket Mode link to Slack is alive", registry=r)
        self.leader = Gauge("drewburr_leader", "1 while this replica leads (runs remediation)", registry=r)
        self.ready = Gauge("drewburr_ready", "1 while every readiness check passes", registry=r)
