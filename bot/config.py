"""drewburr's configuration: a YAML file (`--config` or `DREWBURR_CONFIG`) plus env overrides.

`DREWBURR_<SECTION>__<KEY>` overrides a key of the file (`DREWBURR_PROXMOX__TOKEN_SECRET`).
Unknown keys and wrong types are refused with the field's dotted path, never ignored.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from commands.grammar import VERBS
from infra.addons.spec import AddonsConfig
from infra.operations.bootstrap_spec import BootstrapOptions
from infra.operations.provision_spec import HOMELAB_SERVER_ARGS, K3sOptions, ProvisionOptions, SshOptions

ENV_FILE_VAR = "DREWBURR_CONFIG"


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


def _http_url(value: str) -> str:
    """http(s)://host[:port][/path]: a host, and a port the clients can dial."""
    parts = urlsplit(value)
    try:
        port = parts.port  # ValueError when not a number in 0-65535
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError("must be http(s)://HOST[:PORT], e.g. https://pve1:8006")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProxmoxConfig(_Section):
    """The PVE API, with an API token (see the README for the privileges of its role)."""
    url: HttpUrl = Field(description="any node of the cluster, e.g. https://pve1:8006")
    token_id: str = Field(pattern=r"^[^@\s]+@[^!\s]+![^\s]+$", description="user@realm!tokenid")
    token_secret: SecretStr = Field(description="the token's UUID")
    ca_file: Path | None = Field(None, description="the cluster's CA (pve-root-ca.pem); unset: system CAs")
    verify_tls: bool = Field(True, description="false turns TLS verification off (a warning is logged)")
    timeout_seconds: float = Field(10, gt=0, description="per API call")


class KubernetesConfig(_Section):
    """The K3s cluster's API."""
    kubeconfig: Path | None = Field(None, description="absent: in-cluster service account")
    context: str | None = Field(None, description="a context of the kubeconfig; unset: its current one")


class UrlConfig(_Section):
    """An optional HTTP service: Prometheus (live checks) or Alertmanager (silences)."""
    url: HttpUrl = Field(description="e.g. http://alertmanager.monitoring:9093")


class SlackConfig(_Section):
    """The Slack app (docs/slack.md): Socket Mode needs no public URL."""
    mode: Literal["socket", "http", "off"] = Field("off", description="off: what would be said is logged")
    bot_token: SecretStr | None = Field(None, description="xoxb-...")
    app_token: SecretStr | None = Field(None, description="xapp-... (Socket Mode)")
    signing_secret: SecretStr | None = Field(None, description="verifies requests (HTTP mode)")
    channel: str | None = Field(None, description="channel ID for notices and remediation threads")
    api_url: str = Field("https://slack.com/api/", description="the Web API base (tests: the lab's twin)")
    channels: list[str] = Field(default_factory=list, description="channel IDs that may command; empty: any")

    @model_validator(mode="after")
    def _credentials(self) -> SlackConfig:
        """A mode names the credentials it cannot start without: say which are missing, at start."""
        needed = {"socket": ("bot_token", "app_token"), "http": ("bot_token", "signing_secret"), "off": ()}
        missing = [key for key in needed[self.mode] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"mode {self.mode} needs {' and '.join('slack.' + m for m in missing)}")
        return self


class WebhooksConfig(_Section):
    """POST /alerts/alertmanager and /alerts/grafana (docs/alerts.md)."""
    token: SecretStr | None = Field(None, description="bearer token; unset: every request refused")
    grafana_secret: SecretStr | None = Field(None, description="Grafana signs with it (HMAC), not the token")
    grafana_timestamp_header: str | None = Field(None, description="where Grafana sends its timestamp")


class ServerConfig(_Section):
    """serve's HTTP server: webhooks, /healthz, /readyz, /metrics and /slack/events."""
    host: str = Field("127.0.0.1", description="0.0.0.0 in a container")
    port: int = Field(8080, ge=0, le=65535)
    shutdown_seconds: float = Field(60, ge=0, description="on SIGTERM, how long running operations "
                                    "may take to finish their current step (under the pod's grace period)")


class JournalConfig(_Section):
    """Where operations, confirmations, locks and the audit trail are kept."""
    backend: Literal["sqlite", "kubernetes"] = Field(
        "sqlite", description="sqlite: one process; kubernetes: ConfigMaps, shared by replicas")
    path: Path = Field(Path("journal.sqlite"),
                       description="the SQLite file (backend sqlite), relative to the config file's folder")
    namespace: str = Field("drewburr", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                           description="where the ConfigMaps live (backend kubernetes)")


class LeaderConfig(_Section):
    """Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does."""
    enabled: bool = Field(False, description="only the Lease holder runs remediation and resumes operations")
    namespace: str = Field("drewburr", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    lease_name: str = "drewburr-leader"
    identity: str | None = Field(None, description="this replica's name (default: the pod's hostname)")
    lease_seconds: int = Field(15, ge=1, description="leaseDurationSeconds: a silent holder keeps it so long")
    renew_seconds: float = Field(10, gt=0, description="a leader that cannot renew so long steps down")
    retry_seconds: float = Field(2, gt=0, description="how often to try to take or renew the Lease")

    @model_validator(mode="after")
    def _renew_inside_lease(self) -> LeaderConfig:
        if not self.retry_seconds < self.renew_seconds < self.lease_seconds:
            raise ValueError("need retry_seconds < renew_seconds < lease_seconds (a leader steps down "
                             "before another may take its Lease)")
        return self


class PermissionsConfig(_Section):
    """Who may do what from Slack: user IDs, "@usergroup" handles, "*" for everyone. Each level
    includes the ones below (admin > operate > read)."""
    read: list[str] = Field(default_factory=lambda: ["*"], description="status, plan, ops list/show, "
                            "silence list, automation status")
    operate: list[str] = Field(default_factory=list, description="drain, restore, reboot, ops cancel, "
                               "silence")
    admin: list[str] = Field(default_factory=list, description="overrides, automation, provisioning")
    two_person: list[str] = Field(default_factory=list, description="verbs a second person must confirm")

    @field_validator("two_person")
    @classmethod
    def _known_verbs(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(VERBS))
        if unknown:
            raise ValueError(f"unknown verb(s) {', '.join(unknown)}; verbs: {', '.join(sorted(VERBS))}")
        return value


class RemediationConfig(_Section):
    """What drewburr does on its own about alerts (docs/alerts.md)."""
    mode: Literal["auto", "approve", "notify"] = Field("approve", description="every rule's mode but notify")
    hold_seconds: float = Field(60, ge=0, description="a condition must hold this long before acting")
    cooldown_seconds: float = Field(1800, ge=0, description="between two automatic actions on one blade")
    paused: bool = Field(False, description="start with automation paused")
    blocking_alerts: list[str] = Field(default_factory=list, description="alert names that stop automatic "
                                       "action while they fire")
    poll_seconds: float = Field(5, gt=0, description="how often a fence PVE HA is still doing, and fenced "
                                "nodes back Ready, are looked at again")


class WatcherConfig(_Section):
    """A K8s node watch, a PVE/Ceph poll and the zone-label keeper (docs/alerts.md)."""

    enabled: bool = Field(True, description="watch K8s nodes, poll PVE and Ceph, keep zone labels true")
    poll_seconds: float = Field(10, gt=0, description="how often PVE and Ceph are polled")


class PlannerConfig(_Section):
    """How plans are made."""
    headroom_gib: float = Field(1.0, ge=0, description="memory kept free on every target blade")
    node_pattern: str = Field("{vm}", description="K8s node name of a VM; {vm} is the VM's name")

    @field_validator("node_pattern")
    @classmethod
    def _names_the_vm(cls, value: str) -> str:
        try:
            ok = "{vm}" in value and value.format(vm="x") != value
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise ValueError("must contain {vm} (the VM's name) and no other {field}, e.g. '{vm}'")
        return value


class OperationsConfig(_Section):
    """Timing of operations' steps."""
    eviction_retry_seconds: float = Field(5, gt=0, description="like kubectl drain")
    drain_timeout_seconds: float = Field(600, gt=0)
    migrations_per_nic: int = Field(2, ge=1, description="parallel live migrations per source blade")
    migration_timeout_seconds: float = Field(900, gt=0)
    poll_seconds: float = Field(1, gt=0)
    boot_timeout_seconds: float = Field(900, gt=0)
    addon_timeout_seconds: float = Field(900, gt=0, description="an addon's install Job, workloads, issuers")


class SshConfig(_Section):
    """Installing K3s over SSH (provision.install: ssh)."""
    host: str = Field("{ip}", description="what to dial: {ip} (the guest's address), {name}, or a host")
    port: int = Field(22, ge=1, le=65535)
    user: str | None = Field(None, description="default: provision.ciuser")
    key_file: Path | None = Field(None, description="private key whose public half is in provision.sshkeys")
    known_hosts: Path | None = Field(None, description="absent: host keys are not checked")
    connect_timeout_seconds: float = Field(30, gt=0)


class K3sConfig(_Section):
    """The K3s cluster new VMs join."""
    url: HttpUrl | None = Field(None, description="the cluster's API to join, e.g. https://192.168.1.121:6443")
    token: SecretStr | None = Field(None, description="absent: read from a server through its guest agent")
    token_from: str | None = Field(None, description="the server VM to read the token from (default: any)")
    installer_url: HttpUrl = "https://get.k3s.io"
    server_args: list[str] = Field(default_factory=lambda: list(HOMELAB_SERVER_ARGS))
    agent_args: list[str] = Field(default_factory=list)


class ProvisionConfig(_Section):
    """VMs cloned from the cloud-init template and joined to K3s (absent: `provision` is refused)."""
    template: str = Field(description="the cloud-init template's name or VMID")
    storage: str = Field("ceph-rbd", description="shared storage the full clones go on")
    disk: str = Field("scsi0", description="the template's boot disk, grown to the VM's size")
    ciuser: str = Field("ubuntu", description="cloud-init's user")
    sshkeys: str = Field("", description="public keys, one a line")
    nameserver: str | None = Field(None, description="cloud-init's DNS servers")
    searchdomain: str | None = Field(None, description="cloud-init's DNS search domain")
    subnet: IPv4Network | None = Field(None, description="static addresses go in it: 192.168.1.0/24")
    gateway: IPv4Address | None = Field(None, description="the gateway of static addresses (--gw)")
    name_pattern: str = Field("kube{n:02d}", description="names when none is given: the next n")
    cores: int = Field(4, ge=1, description="--cores by default")
    memory_mib: int = Field(4096, ge=256, description="--memory by default")
    disk_gib: int = Field(64, ge=1, description="--disk by default")
    ha: bool = Field(True, description="register new VMs as PVE HA resources")
    ha_rule: str | None = Field(None, description="an HA rule new VMs join; honoured choosing the blade")
    install: Literal["agent", "ssh"] = Field("agent", description="install K3s through the guest agent "
                                             "or over SSH")
    k3s: K3sConfig = Field(default_factory=K3sConfig, description="url, token (absent: read from a "
                           "server through its agent), token_from, installer_url, server_args, agent_args")
    ssh: SshConfig = Field(default_factory=SshConfig, description="host ({ip} or {name}), port, user, "
                           "key_file, known_hosts, connect_timeout_seconds")
    join_timeout_seconds: float = Field(300, gt=0, description="from the K3s install to the Node registered")
    ready_timeout_seconds: float = Field(300, gt=0, description="from the Node registered to Ready")

    def options(self) -> ProvisionOptions:
        k3s, ssh = self.k3s, self.ssh
        return ProvisionOptions(
            **self.model_dump(exclude={"k3s", "ssh", "subnet", "gateway"}),
            subnet=str(self.subnet) if self.subnet else None,
            gateway=str(self.gateway) if self.gateway else None,
            k3s=K3sOptions(url=k3s.url, token=k3s.token.get_secret_value() if k3s.token else None,
                           token_from=k3s.token_from, installer_url=k3s.installer_url,
                           server_args=tuple(k3s.server_args), agent_args=tuple(k3s.agent_args)),
            ssh=SshOptions(**ssh.model_dump()))


class BootstrapConfig(_Section):
    """`bootstrap`: the new cluster's API name and where its kubeconfig goes (docs/cluster.md)."""

    api_name: str = Field("k3s.homelab.lan", pattern=r"^[A-Za-z0-9.-]+$",
                          description="the API's DNS name or address: --tls-san, the kubeconfig's server")
    api_port: int = Field(6443, ge=1, le=65535)
    kubeconfig: Path = Field(Path("k3s.yaml"), description="where the new cluster's kubeconfig is stored")
    first_address: IPv4Interface = Field(IPv4Interface("192.168.1.121/24"),
                                         description="servers, then agents, take addresses from here on")
    servers: int = Field(3, ge=1)
    agents: int = Field(0, ge=0)

    def options(self) -> BootstrapOptions:
        return BootstrapOptions(**{**self.model_dump(), "first_address": str(self.first_address)})


class LogConfig(_Section):
    """The process's logs (stderr)."""
    format: Literal["json", "text"] = Field("json", description="json: one object per line, for a log "
                                           "pipeline; text: for a terminal")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DREWBURR_", env_nested_delimiter="__",
                                      extra="forbid")

    proxmox: ProxmoxConfig
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    prometheus: UrlConfig | None = None
    alertmanager: UrlConfig | None = None
    slack: SlackConfig = Field(default_factory=SlackConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    leader: LeaderConfig = Field(default_factory=LeaderConfig)
    permissions: PermissionsConfig = Field(default_factory=PermissionsConfig)
    remediation: RemediationConfig = Field(default_factory=RemediationConfig)
    watcher: WatcherConfig = Field(default_factory=WatcherConfig)
    planner: PlannerConfig = Field(default_factory=PlannerConfig)
    operations: OperationsConfig = Field(default_factory=OperationsConfig)
    # the addons' charts (repository, version, namespace, values) and settings (infra/addons/spec.py)
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    provision: ProvisionConfig | None = None
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    def secrets(self) -> list[str]:
        """Every secret value set, wherever it sits: the logs mask each of them."""
        found: list[str] = []

        def walk(value: object) -> None:
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(getattr(value, name))
            elif isinstance(value, list | tuple):
                for item in value:
                    walk(item)
        walk(self)
        return [s for s in found if s]

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init kwargs; the environment wins over the file.
        return env_settings, init_settings


def _env_source(loc: tuple[int | str, ...]) -> str | None:
    """The variable that set the field at `loc`, if one did (`DREWBURR_PROXMOX__VERIFY_TLS`, or a
    whole section as JSON in `DREWBURR_PROXMOX`)."""
    names = {k.upper(): k for k in os.environ}
    for depth in range(len(loc), 0, -1):
        wanted = "DREWBURR_" + "__".join(str(p) for p in loc[:depth]).upper()
        if wanted in names:
            return f"environment {names[wanted]}"
    return None


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{_env_source(err['loc']) or source}: {field}: {err['msg']}")
    return "\n".join(lines)


def _env_names() -> str:
    return ", ".join(sorted(k for k in os.environ if k.startswith("DREWBURR_") and "__" not in k
                            and k != ENV_FILE_VAR)) or "the environment"


def load_settings(path: Path | str | None = None) -> Settings:
    """Load the file at `path` (else `$DREWBURR_CONFIG`), apply env overrides, validate."""
    path = path or os.environ.get(ENV_FILE_VAR)
    data: Any = {}
    source = "environment"
    if path:
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark else source
            raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a config file is a mapping of sections (proxmox, kubernetes, ...)")
    try:
        settings = Settings(**data)
    except SettingsError as exc:  # an env section (DREWBURR_PROXMOX='{...') that is not JSON
        raise ConfigError(f"environment: {exc}; a whole section in {_env_names()} must be JSON, "
                          "or set one key with DREWBURR_<SECTION>__<KEY>") from None
    except ValidationError as exc:
        hint = "" if path else f"\n(no config file: pass --config FILE or set {ENV_FILE_VAR})"
        raise ConfigError(_describe(exc, source) + hint) from None
    base = Path(path).parent if path else Path.cwd()
    if not settings.journal.path.is_absolute():
        settings.journal.path = base / settings.journal.path
    if not settings.bootstrap.kubeconfig.is_absolute():
        settings.bootstrap.kubeconfig = base / settings.bootstrap.kubeconfig
    return settings
