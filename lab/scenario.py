"""Scenario files: the homelab the lab simulates, loaded from YAML.

A bad file is refused with the line and the field that are wrong.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

GIB = 1024**3


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BladeSpec(_Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9-]*$")
    cores: int = Field(6, ge=1)
    memory_gib: float = Field(16, gt=0)
    nic_gbps: float = Field(10, gt=0, description="migration network bandwidth")
    osd_gb: int = Field(500, ge=0, description="size of the blade's one Ceph OSD; 0 = none")
    mon: bool = False
    online: bool = True


class VmSpec(_Strict):
    vmid: int = Field(ge=100, le=999_999_999)
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9.-]*$")
    blade: str
    cores: int = Field(2, ge=1)
    memory_gib: float = Field(2, gt=0)
    disk_gb: int = Field(32, ge=1)
    storage: str = "ceph-rbd"
    status: Literal["running", "stopped"] = "running"
    template: bool = False
    ha: bool = False
    agent: bool = True
    k3s: Literal["server", "agent"] | None = Field(None, description="K3s role of this VM")
    ipconfig0: str | None = None


class Timings(_Strict):
    """Durations in lab seconds; defaults are real PVE / Ceph / Kubernetes ones."""

    mon_osd_down_out_interval: float = 600
    ha_fence_delay: float = 120
    ha_watchdog_timeout: float = 60  # watchdog-mux: an isolated blade with active HA resets
    blade_boot: float = 90
    vm_boot: float = 30
    vm_shutdown: float = 10
    clone: float = 20
    node_monitor_grace_period: float = 50
    pod_eviction_toleration: float = 300


class Scenario(_Strict):
    name: str = "custom"
    blades: list[BladeSpec] = Field(min_length=1)
    vms: list[VmSpec] = Field(default_factory=list)
    storage: str = "ceph-rbd"
    timings: Timings = Field(default_factory=Timings)
    workloads: Literal["default", "none"] = "default"

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [b.name for b in self.blades]
        if len(set(names)) != len(names):
            raise ValueError(f"blade names repeat: {names}")
        vmids = [v.vmid for v in self.vms]
        if len(set(vmids)) != len(vmids):
            raise ValueError("vmids repeat")
        for vm in self.vms:
            if vm.blade not in names:
                raise ValueError(f"VM {vm.vmid} is on unknown blade {vm.blade!r}; blades: {names}")
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
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(root, loc)
            lines.append(f"{source}:{line}: {field}: {err['msg']}")
        raise ScenarioError("\n".join(lines)) from None


def load_scenario(path: Path | None = None) -> Scenario:
    """Load a scenario file, or the default homelab when `path` is None."""
    if path is None:
        text = resources.files("lab").joinpath("scenarios/default.yaml").read_text()
        return parse_scenario(text, "default.yaml")
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(path))
