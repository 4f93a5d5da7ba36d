"""The lab's command line: `lab up`, `lab fault`, `lab status` (mounted under `drewburr lab`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lab.faults import FAULTS, FaultError, check_fault
from lab.scenario import Scenario, ScenarioError, load_scenario

app = typer.Typer(help="The embedded lab: a simulated PVE + Ceph + K3s homelab.",
                  no_args_is_help=False, add_completion=False, rich_markup_mode=None)

DirOption = Annotated[Path, typer.Option("--dir", help="Folder for the lab's files.")]
MAX_TIME_SCALE = 100_000  # a day of lab time per real second; beyond, timestamps overflow soon


def prepare(workdir: Path, scenario: Path | None, time_scale: float, port_base: int) -> Scenario:
    """Check `lab up`'s flags, load the scenario and make the folder; exit 2 naming what is wrong."""
    if not 0 < time_scale <= MAX_TIME_SCALE:  # also refuses nan
        raise typer.BadParameter(f"must be more than 0 and at most {MAX_TIME_SCALE:,}",
                                 param_hint="--time-scale")
    if not 0 <= port_base <= 65533:
        raise typer.BadParameter("must be 0 (any free port) or 1..65533", param_hint="--port-base")
    try:
        spec = load_scenario(scenario)
    except ScenarioError as exc:
        typer.echo(f"error: bad scenario:\n{exc}", err=True)
        raise typer.Exit(2) from None
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.echo(f"error: cannot use {workdir} for the lab's files: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    return spec


@contextlib.contextmanager
def refused_start() -> Iterator[None]:
    """A port taken, or the folder another running lab's: refused before anything started."""
    from lab.runner import FolderInUse

    try:
        yield
    except (OSError, FolderInUse) as exc:
        typer.echo(f"error: cannot start the lab: {exc}", err=True)
        raise typer.Exit(2) from None


def service_account_refs(values: list[str]) -> list[tuple[str, str]]:
    """`NS/NAME` values of --sa-kubeconfig as (namespace, name); exit 2 on a malformed one."""
    refs = []
    for value in values:
        namespace, _, name = value.partition("/")
        if not namespace or not name or "/" in name:
            raise typer.BadParameter(f"{value!r} is not NAMESPACE/NAME", param_hint="--sa-kubeconfig")
        refs.append((namespace, name))
    return refs


def up(workdir: Path, scenario: Path | None, time_scale: float, port_base: int,
       service_accounts: list[str] | None = None) -> None:
    """Run the lab in the foreground until SIGINT/SIGTERM."""
    from lab.runner import run_lab

    spec = prepare(workdir, scenario, time_scale, port_base)
    refs = service_account_refs(service_accounts or [])
    with refused_start():
        asyncio.run(run_lab(workdir, spec, time_scale, port_base, refs))


@app.command("up")
def up_command(
    workdir: DirOption = Path(".lab"),
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the seed homelab).")] = None,
    time_scale: Annotated[float, typer.Option(help="Lab seconds per real second.")] = 1.0,
    port_base: Annotated[int, typer.Option(
        help="PVE on P, Kubernetes on P+1, metrics on P+2; 0 = free ports.")] = 18006,
    sa_kubeconfig: Annotated[list[str] | None, typer.Option(
        "--sa-kubeconfig", metavar="NS/NAME",
        help="Also write DIR/kubeconfig-NS-NAME for this ServiceAccount (created if missing); repeatable.",
    )] = None,
) -> None:
    """Start the lab; writes DIR/drewburr.yaml, DIR/kubeconfig, DIR/pve-ca.pem, then DIR/ready."""
    up(workdir, scenario, time_scale, port_base, sa_kubeconfig)


def _control_url(workdir: Path) -> str:
    try:
        info = json.loads((workdir / "lab.json").read_text())
        url = info["control_url"]
    except (OSError, ValueError, TypeError, KeyError):
        typer.echo(f"error: no lab in {workdir} (no readable {workdir / 'lab.json'}); "
                   f"start one with `drewburr lab up --dir {workdir}`", err=True)
        raise typer.Exit(2) from None
    return str(url)


def _call(workdir: Path, path: str, body: dict[str, object] | None = None) -> dict[str, Any]:
    """A request to the running lab's control endpoint; exits 1 if the lab does not answer."""
    url = _control_url(workdir) + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        typer.echo(f"error: {_error_text(exc)}", err=True)
        raise typer.Exit(2 if exc.code == 400 else 1) from None
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"error: the lab in {workdir} is not running (no answer at {url}: "
                   f"{getattr(exc, 'reason', exc)})", err=True)
        raise typer.Exit(1) from None
    except (ValueError, TypeError):  # something else answers on the lab's port
        typer.echo(f"error: {url} does not answer like the lab; is {workdir / 'lab.json'} stale?",
                   err=True)
        raise typer.Exit(1) from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, TypeError, KeyError):
        return f"{exc.code} {exc.reason}"


_FAULT_HELP = "; ".join(f"{name} {target}" for name, (target, _) in FAULTS.items())


@app.command("fault")
def fault_command(
    fault: Annotated[str, typer.Argument(help=f"The fault and its target: {_FAULT_HELP}.")],
    target: Annotated[str | None, typer.Argument(help="Blade, osd.N, VMID[:LOCK], KIND, ...")] = None,
    workdir: DirOption = Path(".lab"),
) -> None:
    """Inject a fault into the running lab (power-off blade3, osd-down blade2, ...).

    `lose-quorum blade3` cuts blade3 off in a network partition (the rest keeps quorum while a
    majority; blade3 self-fences if it runs HA VMs); `lose-quorum` alone takes quorum from the
    whole cluster. `regain-quorum blade3`, or `regain-quorum` alone for all, undoes it.
    """
    try:
        check_fault(fault)  # before looking for a lab: a typo is refused even with none running
    except FaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    answer = _call(workdir, "/lab/fault", {"fault": fault, "target": target})
    typer.echo(answer["message"])


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def _osd_text(osd: dict[str, Any] | None) -> str:
    if not osd:
        return "-"
    return f"{osd['name']} {'up' if osd['up'] else '[red]down[/]'}/{'in' if osd['in'] else '[red]out[/]'}"


@app.command("status")
def status_command(
    workdir: DirOption = Path(".lab"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
) -> None:
    """Show the running lab: blades, VMs and Ceph."""
    state = _call(workdir, "/lab/status")
    if as_json:
        typer.echo(json.dumps(state, indent=2))
        return
    console = Console()
    blades = Table(title=f"Blades (PVE {'quorate' if state['quorate'] else 'NOT quorate'})")
    for column in ("blade", "power", "online", "cores", "memory GiB", "VMs", "OSD", "mon"):
        blades.add_column(column)
    for b in state["blades"]:
        blades.add_row(b["name"], "on" if b["powered"] else "[red]off[/]", _yes(b["online"]),
                       str(b["cores"]), str(b["memory_gib"]), " ".join(map(str, b["vms"])),
                       _osd_text(b["osd"]), "mon" if b["mon"] else "")
    vms = Table(title="VMs")
    for column in ("vmid", "name", "blade", "status", "HA", "lock", "cores", "memory GiB"):
        vms.add_column(column)
    for v in state["vms"]:
        vms.add_row(str(v["vmid"]), v["name"] + (" (template)" if v["template"] else ""), v["node"],
                    v["status"], "yes" if v["ha"] else "", v["lock"] or "", str(v["cores"]),
                    str(v["memory_gib"]))
    ceph = state["ceph"]
    checks = Table(title=f"Ceph {ceph['health']} (quorum {','.join(ceph['quorum']) or 'none'}; "
                         f"flags {','.join(ceph['flags']) or 'none'})")
    checks.add_column("check")
    checks.add_column("summary")
    for name, message in ceph["checks"].items():
        checks.add_row(name, message)
    for table in (blades, vms, checks):
        console.print(table)
