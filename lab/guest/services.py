"""The guest's services as its tools show them: systemd's `systemctl` and `journalctl` (units
come from `Software.units`), and `cloud-init status`."""

from __future__ import annotations

import re
import time

from lab.guest.models import Ctx, Result, Unit

CLOUD_INIT_FIRST_BOOT = 25.0  # lab seconds from the agent's start to `status: done` (packages, users)
CLOUD_INIT_BOOT = 4.0  # later boots only rerun the per-boot modules


def _status_word(ctx: Ctx) -> tuple[str, float]:
    """cloud-init's status and when it is (or was) done."""
    vm = ctx.vm
    if not vm.cloudinit_booted:  # no cloud-init drive at boot: ds-identify disables it
        return "disabled", vm.agent_ready_at
    first = ctx.guest.first_boot is None or ctx.guest.first_boot == vm.started_at
    done_at = vm.agent_ready_at + (CLOUD_INIT_FIRST_BOOT if first else CLOUD_INIT_BOOT)
    return ("done" if ctx.now >= done_at else "running"), done_at


def cloud_init(ctx: Ctx, argv: list[str]) -> Result:
    args = argv[1:]
    if args[:1] != ["status"]:
        verb = args[0] if args else ""
        usage = ("usage: /usr/bin/cloud-init [-h] [--version] [--debug] [--force] [--all-stages]"
                 " {init,modules,single,query,features,analyze,devel,collect-logs,clean,status,schema} ...\n")
        error = f"cloud-init: error: argument subcommand: invalid choice: '{verb}'\n"
        return Result(2, err=(usage + error).encode())
    unknown = [a for a in args[1:] if a not in ("--wait", "-w", "--long", "-l")]
    if unknown:
        return Result(2, err=f"cloud-init: error: unrecognized arguments: {' '.join(unknown)}\n".encode())
    status, done_at = _status_word(ctx)
    out, waited = "", 0.0
    if status == "running" and ("--wait" in args or "-w" in args):
        waited = done_at - ctx.now
        out, status = "." * int(waited / 0.25) + "\n", "done"  # a dot every 0.25 s while it waits
    out += f"status: {status}\n"
    if "--long" in args or "-l" in args:
        out += (f"extended_status: {status}\nboot_status_code: enabled-by-generator\n"
                f"last_update: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(done_at))}\n"
                "detail: DataSourceNoCloud [seed=/dev/sr0]\nerrors: []\nrecoverable_errors: {}\n")
    return Result(out=out.encode(), duration=waited)


def _stamp(t: float) -> str:
    return time.strftime("%b %d %H:%M:%S", time.gmtime(t))


def _journal_lines(ctx: Ctx, unit: Unit) -> list[str]:
    return [f"{_stamp(t)} {ctx.guest.hostname} {msg}" for t, msg in unit.journal(ctx.now)]


def systemctl(ctx: Ctx, argv: list[str]) -> Result:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if not args:
        return Result(1, err=b"Too few arguments.\n")
    verb, units = args[0], args[1:]
    if verb == "is-active":
        states = [(u.active_state(ctx.now) if (u := ctx.unit(n)) else "inactive") for n in units]
        quiet = "--quiet" in argv or "-q" in argv
        return Result(0 if states and all(s == "active" for s in states) else 3,
                      out=b"" if quiet else "".join(f"{s}\n" for s in states).encode())
    if verb == "status":
        return _unit_status(ctx, units)
    if verb in ("start", "stop", "restart", "enable", "disable", "daemon-reload", "reset-failed"):
        missing = [n for n in units if ctx.unit(n) is None]
        if missing and verb not in ("disable", "reset-failed"):
            unit = f"{missing[0].removesuffix('.service')}.service"
            return Result(5, err=f"Failed to {verb} {unit}: Unit {unit} not found.\n".encode())
        return Result()
    return Result(1, err=f"Unknown command verb '{verb}'.\n".encode())


_ACTIVE = {"active": "active (running)", "activating": "activating (auto-restart)",
           "failed": "failed (Result: exit-code)", "inactive": "inactive (dead)"}


def _unit_status(ctx: Ctx, names: list[str]) -> Result:
    out, code = [], 0
    for name in names:
        unit = ctx.unit(name)
        if unit is None:
            unit_name = name.removesuffix(".service")
            return Result(4, err=f"Unit {unit_name}.service could not be found.\n".encode())
        state = unit.active_state(ctx.now)
        code = code or (0 if state == "active" else 3)
        base = name.removesuffix(".service")
        since = time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(unit.since()))
        out += [f"{'●' if state == 'active' else '×'} {base}.service - {unit.description}",
                f"     Loaded: loaded (/etc/systemd/system/{base}.service; enabled; preset: enabled)",
                f"     Active: {_ACTIVE.get(state, state)} since {since}", "",
                *_journal_lines(ctx, unit)[-10:]]
    return Result(code, out=("\n".join(out) + "\n").encode())


def journalctl(ctx: Ctx, argv: list[str]) -> Result:
    args, name, last = argv[1:], None, None
    for i, arg in enumerate(args):
        if arg in ("-n", "--lines") and i + 1 < len(args) and args[i + 1].isdigit():
            last = int(args[i + 1])
        elif arg in ("-u", "--unit") and i + 1 < len(args):
            name = args[i + 1]
        elif arg.startswith("--unit="):
            name = arg.partition("=")[2]
        elif re.fullmatch(r"-[a-z]*u", arg) and i + 1 < len(args):  # -xeu k3s
            name = args[i + 1]
    unit = ctx.unit(name) if name else None
    lines = _journal_lines(ctx, unit) if unit else []
    if last is not None:
        lines = lines[-last:] if last else []
    return Result(out=("\n".join(lines) + "\n" if lines else "-- No entries --\n").encode())


