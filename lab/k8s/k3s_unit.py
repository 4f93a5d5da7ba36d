"""The systemd unit K3s' install script writes (`k3s` or `k3s-agent`), as `systemctl` and
`journalctl` show it: its state, and the journal of a K3s that starts, or fails and retries."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lab.k8s.join import K3S_VERSION, K3sJoin

FATAL_RESTART = 5.0  # RestartSec
AGENT_RETRY = 2.0
CONFIG_RETRY = 5.0


@dataclass
class K3sUnit:
    join: K3sJoin
    description: str = "Lightweight Kubernetes"

    def active_state(self, now: float) -> str:
        if now < self.join.started_at:
            return "inactive"
        return "active" if now >= self.join.ready_at else "activating"

    def since(self) -> float:
        return self.join.started_at

    def journal(self, now: float) -> list[tuple[float, str]]:
        join, proc = self.join, f"k3s[{self.join.pid}]"
        if now < join.started_at:
            return []
        start = join.started_at
        kind = "k3s" if join.role == "server" else "k3s agent"
        lines = [
            (start, f"systemd[1]: Starting {join.unit}.service - Lightweight Kubernetes..."),
            (start, f"{proc}: {_log(start, 'info', f'Starting {kind} {K3S_VERSION} (c3b5fa2c)')}"),
        ]
        if join.past_failure is not None:  # it failed until its server answered
            lines += self._failing(join.past_failure, join.past_fatal, start + 1, min(now, join.failed_until))
        if join.failure is not None:
            lines += self._failing(join.failure, join.fatal, max(start + 1, join.failed_until), now)
        else:
            lines += [
                (join.ready_at, f"systemd[1]: Started {join.unit}.service - Lightweight Kubernetes."),
                (
                    join.cni_at,
                    f"{proc}: {_log(join.cni_at, 'info', 'Flannel found PodCIDR assigned for node')}",
                ),
            ]
        return sorted((line for line in lines if line[0] <= now), key=lambda line: line[0])[-200:]

    def _failing(self, message: str, fatal: bool, start: float, end: float) -> list[tuple[float, str]]:
        """What K3s and systemd log while it fails: a fatal exit and a restart every 6 s, or an
        error every 2 s before READY (info every 5 s after it, waiting for its configuration)."""
        waiting = message.startswith("Waiting to retrieve")
        step = FATAL_RESTART + 1 if fatal else (CONFIG_RETRY if waiting else AGENT_RETRY)
        level = "fatal" if fatal else ("info" if waiting else "error")
        if end < start:
            return []
        first = max(0, int((end - start) // step) - 100)  # the last hundred attempts are enough
        unit, lines, restarts = f"systemd[1]: {self.join.unit}.service", [], first
        for i in range(first, int((end - start) // step) + 1):
            t = start + i * step
            lines.append((t, f"k3s[{self.join.pid}]: {_log(t, level, message)}"))
            if fatal:
                restarts += 1
                lines += [
                    (t, f"{unit}: Main process exited, code=exited, status=1/FAILURE"),
                    (t, f"{unit}: Failed with result 'exit-code'."),
                    (t, f"systemd[1]: Failed to start {self.join.unit}.service - Lightweight Kubernetes."),
                    (t + FATAL_RESTART, f"{unit}: Scheduled restart job, restart counter is at {restarts}."),
                ]
        return lines


def _log(t: float, level: str, msg: str) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    return f'time="{stamp}" level={level} msg="{msg.replace(chr(34), chr(92) + chr(34))}"'
