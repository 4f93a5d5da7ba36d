"""Scenario files: the homelab the lab simulates, loaded from YAML.

A bad file is refused with the line and the field that are wrong.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

GIB = 1024**3


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Conflict(ValueError):
    """Entries that are each valid but do not fit together; `loc` is the field to point at."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


STORAGE_ID = r"^[a-z][a-z0-9\-_.]*[a-z0-9]$"  # PVE's pve-storage-id
Seconds = Annotated[float, Field(ge=0)]


class BladeSpec(_Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9-]*$")
    cores: int = Field(6, ge=1, le=4096)
    memory_gib: float = Field(16, gt=0, le=65536)
    nic_gbps: float = Field(10, gt=0, description="migration network bandwidth")
    osd_gb: int = Field(500, ge=0, le=10**7, description="size of the blade's one Ceph OSD; 0 = none")
    mon: bool = False
    online: bool = True


class VmSpec(_Strict):
    vmid: int = Field(ge=100, le=999_999_999)
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9.-]*$")
    blade: str
    cores: int = Field(2, ge=1, le=4096)
    memory_gib: float = Field(2, gt=0, le=65536)
    disk_gb: int = Field(32, ge=1, le=10**7)
    storage: str = Field("ceph-rbd", pattern=STORAGE_ID)
    status: Literal["running", "stopped"] = "running"
    template: bool = False
    ha: bool = False
    agent: bool = True
    k3s: Literal["server", "agent"] | None = Field(None, description="K3s role of this VM")
    ipconfig0: str | None = None


class Timings(_Strict):
    """Durations in lab seconds; defaults are real PVE / Ceph / Kubernetes ones."""

    mon_osd_down_out_interval: Seconds = 600
    ha_fence_delay: Seconds = 120
    ha_watchdog_timeout: Seconds = 60  # watchdog-mux: an isolated blade with active HA resets
    blade_boot: Seconds = 90
    vm_boot: Seconds = 30
    vm_shutdown: Seconds = 10
    clone: Seconds = 20
    node_monitor_grace_period: Seconds = 50
    pod_eviction_toleration: Seconds = 300


class Scenario(_Strict):
    name: str = "custom"
    blades: list[BladeSpec] = Field(min_length=1)
    vms: list[VmSpec] = Field(default_factory=list)
    storage: str = Field("ceph-rbd", pattern=STORAGE_ID)
    timings: Timings = Field(default_factory=Timings)
    workloads: Literal["default", "none"] = "default"
    ceph_used_share: float = Field(0.18, ge=0, le=0.95, description="share of the OSDs' raw space in use")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [b.name for b in self.blades]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _Conflict(("blades", i, "name"), f"blade {name!r} is already defined")
        vmids = [v.vmid for v in self.vms]
        for i, vm in enumerate(self.vms):
            if vm.vmid in vmids[:i]:
                raise _Conflict(("vms", i, "vmid"), f"VM {vm.vmid} is already defined")
            if vm.blade not in names:
                raise _Conflict(("vms", i, "blade"),
                                f"unknown blade {vm.blade!r}; blades: {', '.join(names)}")
        return self


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if match is None:
                return line
            line = (key or match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ScenarioError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:1: a scenario is a mapping with 'blades' and 'vms'")
    if repeated := _repeated_key(root):
        line, key = repeated
        raise ScenarioError(f"{source}:{line}: {key}: this key is already set above")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            conflict = (err.get("ctx") or {}).get("error")
            loc = conflict.loc if isinstance(conflict, _Conflict) else tuple(err["loc"])
            message = str(conflict) if isinstance(conflict, _Conflict) else err["msg"]
            field = ".".join(str(p) for p in loc) or "(top level)"
            lines.append(f"{source}:{_line_of(root, loc)}: {field}: {message}")
        raise ScenarioError("\n".join(lines)) from None


def _repeated_key(node: yaml.Node | None, path: str = "") -> tuple[int, str] | None:
    """The line and field of the first mapping key set twice (YAML lets the last one win silently)."""
    children: list[tuple[str, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            field = f"{path}{key.value}" if isinstance(key, yaml.ScalarNode) else f"{path}?"
            if field in seen:
                return key.start_mark.line + 1, field
            seen.add(field)
            children.append((field, value))
    elif isinstance(node, yaml.SequenceNode):
        children = [(f"{path}{i}", item) for i, item in enumerate(node.value)]
    return next((found for field, child in children if (found := _repeated_key(child, f"{field}."))), None)


def load_scenario(path: Path | None = None) -> Scenario:
    """Load a scenario file, or the default homelab when `path` is None."""
    if path is None:
        text = resources.files("lab").joinpath("scenarios/default.yaml").read_text()
        return parse_scenario(text, "default.yaml")
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a YAML text file (byte {exc.start} is not UTF-8)") from None
    return parse_scenario(text, str(path))
