"""What a container runs, so the kubelet knows when it ends, how, and what it logged.

A container is a program: servers (most images, no command) run until stopped; a command the
lab can read runs to an end: `sleep N`, `echo`, `true`, `false`, `exit N`, and scripts of these
under `sh -c`. Images with their own known behaviour (K3s' klipper-helm) register a reader in
IMAGES. Everything is a function of the pod spec, so the log route can replay it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.k8s import klipper

Obj = dict[str, Any]
SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"}
# images whose default command is a shell, which exits at once with no terminal
SHELL_IMAGES = {"busybox", "alpine", "ubuntu", "debian", "bash"}
OTHER_COMMAND = 1.0  # lab seconds a command the lab does not model takes (it succeeds)


@dataclass(frozen=True)
class Run:
    """One run of a container: its length (None: until stopped), exit code and timed log lines."""

    seconds: float | None
    exit_code: int = 0
    log: tuple[tuple[float, str], ...] = field(default=())


SERVER = Run(None)
# image repository -> reader of the container
IMAGES: dict[str, Callable[[Obj], Run]] = {"rancher/klipper-helm": lambda c: Run(*klipper.helm_run(c))}


def repository(image: str) -> str:
    """`docker.io/rancher/klipper-helm:v0.9.3` -> `rancher/klipper-helm`."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    return name.removeprefix("library/")


def program(container: Obj) -> Run:
    image = str(container.get("image") or "")
    reader = IMAGES.get(repository(image))
    if reader is not None:
        return reader(container)
    argv = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    if not argv:
        return Run(0.0) if repository(image).rsplit("/", 1)[-1] in SHELL_IMAGES else SERVER
    if argv[0] in SHELLS:
        if len(argv) >= 3 and argv[1] == "-c":
            return script(argv[2])
        return Run(0.0)
    return _statements([argv]) or SERVER


def script(text: str) -> Run:
    statements = []
    for part in re.split(r";|\n|&&|\|\|", text):
        try:
            words = shlex.split(part)
        except ValueError:
            return Run(0.0, 2, ((0.0, f"sh: syntax error: {part.strip()}"),))
        if words:
            statements.append(words)
    return _statements(statements, shell=True) or Run(0.0)


def _statements(statements: list[list[str]], shell: bool = False) -> Run | None:
    """Run simple commands in order; None when a lone command is not one the lab models."""
    at, status, log = 0.0, 0, []
    for words in statements:
        cmd, args = words[0].rsplit("/", 1)[-1], words[1:]
        if cmd == "sleep":
            try:
                at += float(args[0]) if args else 0.0
            except ValueError:
                log.append((at, f"sleep: invalid number '{args[0]}'"))
                status = 1
                continue
            status = 0
        elif cmd == "echo":
            log.append((at, " ".join(args)))
            status = 0
        elif cmd in ("true", "false"):
            status = int(cmd == "false")
        elif cmd == "exit":
            code = args[0] if args else str(status)
            return Run(at, int(code) % 256 if code.lstrip("-").isdigit() else 2, tuple(log))
        elif not shell:
            return None
        else:
            at, status = at + OTHER_COMMAND, 0
    return Run(at, status, tuple(log))


# the kubelet's side: containers whose program ended are restarted or finished, as restartPolicy says

BACKOFF, MAX_BACKOFF = 10.0, 300.0  # the kubelet's crash-loop back-off: 10 s doubling to 5 min


def backoff(restarts: int) -> float:
    return min(BACKOFF * 2 ** max(0, restarts - 1), MAX_BACKOFF)


def ends(pod: Obj) -> bool:
    """Some container of the pod ends on its own or waits to restart (cheap: most pods are servers)."""
    if any(program(c).seconds is not None for c in (pod.get("spec") or {}).get("containers") or []):
        return True
    return any("waiting" in (cs.get("state") or {}) for cs in pod["status"].get("containerStatuses") or [])


def sync_containers(pod: Obj, now: float, stamp: Callable[[float], str],
                    parse: Callable[[Any], float | None]) -> float | None:
    """Move a running pod's containers up to `now`, in place; return when one next changes."""
    spec, status = pod.get("spec") or {}, pod["status"]
    policy = spec.get("restartPolicy", "Always")
    containers = {c.get("name"): c for c in spec.get("containers") or []}
    due: float | None = None
    changed = False
    for cs in status.get("containerStatuses") or []:
        while True:
            state = cs.get("state") or {}
            if "waiting" in state and state["waiting"].get("reason") == "CrashLoopBackOff":
                finished = parse(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
                start = (finished or now) + backoff(int(cs.get("restartCount", 0)))
                if start > now:
                    due = start if due is None else min(due, start)
                    break
                cs["state"] = {"running": {"startedAt": stamp(start)}}
                cs.update(ready=True, started=True)
                changed = True
                continue
            started = parse((state.get("running") or {}).get("startedAt"))
            run = program(containers.get(cs.get("name")) or {})
            if started is None or run.seconds is None:
                break
            end = started + run.seconds
            if end > now:
                due = end if due is None else min(due, end)
                break
            done = {"exitCode": run.exit_code, "reason": "Completed" if run.exit_code == 0 else "Error",
                    "startedAt": stamp(started), "finishedAt": stamp(end),
                    "containerID": cs.get("containerID", "")}
            cs.update(ready=False, started=False)
            changed = True
            if policy == "Always" or (policy == "OnFailure" and run.exit_code != 0):
                cs["restartCount"] = int(cs.get("restartCount", 0)) + 1
                cs["lastState"] = {"terminated": done}
                cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": (
                    f"back-off {int(backoff(cs['restartCount']))}s restarting failed container="
                    f"{cs.get('name')} pod={pod['metadata']['name']}_{pod['metadata']['namespace']}"
                    f"({pod['metadata']['uid']})")}}
                continue
            cs["state"] = {"terminated": done}
            break
    if changed:
        _pod_phase(status, now, stamp)
    return due


def _pod_phase(status: Obj, now: float, stamp: Callable[[float], str]) -> None:
    statuses = status.get("containerStatuses") or []
    ended = [(cs.get("state") or {}).get("terminated") for cs in statuses]
    if statuses and all(ended):
        status["phase"] = "Succeeded" if all(t["exitCode"] == 0 for t in ended) else "Failed"
    unready = [cs.get("name") for cs in statuses if not cs.get("ready")]
    for cond in status.get("conditions") or []:
        if cond.get("type") not in ("Ready", "ContainersReady"):
            continue
        wanted = "False" if unready else "True"
        if cond.get("status") != wanted:
            cond["lastTransitionTime"] = stamp(now)
        cond["status"] = wanted
        if status["phase"] in ("Succeeded", "Failed"):
            cond["reason"] = "PodCompleted"
            cond.pop("message", None)
        elif unready:
            cond["reason"] = "ContainersNotReady"
            cond["message"] = f"containers with unready status: [{' '.join(unready)}]"
        else:
            cond.pop("reason", None)
            cond.pop("message", None)
