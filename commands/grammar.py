"""One grammar for text front ends (Slack's `/drewburr ...`, the console): text -> `CommandRequest`.

`VERB [SUBVERB] ARGS --FLAGS`, split like a shell line. Each verb names its arguments, its
flags and its permission class; a usage error names what was wrong and shows the verb's
usage. The CLI (typer) takes the same verbs and flags.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pydantic import BaseModel

from commands import (
    addons,
    audit,
    automation,
    bootstrap,
    drain,
    ops,
    plan,
    provision,
    reboot,
    restore,
    silence,
    status,
    whatif,
)

MAX_TEXT = 2000  # a command line, not a document: longer text is refused, not parsed


@dataclass(frozen=True)
class Verb:
    args: tuple[str, ...]  # names of the required positional arguments
    flags: frozenset[str]
    permission: str  # read | operate | admin
    help: str
    optional: tuple[str, ...] = ()  # a last one ending in "..." takes the rest of the words (a reason)

    def usage(self, name: str) -> str:
        optional = [f"[{o}]" for o in self.optional] + [f"[{f}]" for f in sorted(self.flags)]
        return " ".join([name, *self.args, *optional])


CHANGING = frozenset({"--dry-run", "--yes"})
VERBS: dict[str, Verb] = {
    "help": Verb((), frozenset(), "read", "what drewburr can do", ("VERB",)),
    "status": Verb((), frozenset(), status.PERMISSION, "blades, VMs, K8s nodes, Ceph"),
    "plan": Verb(("BLADE",), frozenset({"--for=drain|reboot|down"}), plan.PERMISSION, "what it would do"),
    "whatif": Verb(("BLADE",), frozenset(), whatif.PERMISSION, "what happens if BLADE dies now"),
    "drain": Verb(("BLADE",), CHANGING, drain.PERMISSION, "move everything off a blade"),
    "restore": Verb(("BLADE",), CHANGING | {"--stay"}, restore.PERMISSION, "bring a blade back, VMs home"),
    "reboot": Verb(("BLADE|all",), CHANGING, reboot.PERMISSION, "drain, reboot, wait, restore"),
    "provision": Verb((), CHANGING | {"--role=server|agent", "--blade=B", "--cores=N", "--memory=MIB",
                                      "--disk=GIB", "--ip=CIDR", "--gw=IP", "--dhcp"},
                      provision.PERMISSION, "a new VM from the template, joined to K3s", ("NAME",)),
    "bootstrap": Verb((), CHANGING | {"--servers=N", "--agents=N"}, bootstrap.PERMISSION,
                      "a new HA K3s cluster (embedded etcd) from the template"),
    "ops list": Verb((), frozenset(), ops.PERMISSIONS["list"], "the journal's operations"),
    "ops show": Verb(("ID",), frozenset(), ops.PERMISSIONS["show"], "one operation"),
    "ops audit": Verb((), frozenset(), audit.PERMISSION, "who ran what, and what came of it", ("ID",)),
    "ops cancel": Verb(("ID",), frozenset(), ops.PERMISSIONS["cancel"], "cancel a running operation"),
    # these act at once when typed (--yes is what they do anyway); --dry-run says what they would do
    "silence": Verb(("ALERTNAME|FINGERPRINT", "DURATION"), CHANGING, silence.PERMISSIONS["create"],
                    "silence an alert in Alertmanager (30m, 2h, 1d)", ("REASON...",)),
    "silence list": Verb((), frozenset(), silence.PERMISSIONS["list"], "active and pending silences"),
    "silence expire": Verb(("ID",), CHANGING, silence.PERMISSIONS["expire"], "end a silence now"),
    "automation status": Verb((), frozenset(), automation.PERMISSIONS["status"],
                              "paused or not, by whom, and what is held back"),
    "automation pause": Verb((), CHANGING, automation.PERMISSIONS["pause"],
                             "hold every automatic remediation back", ("REASON...",)),
    "automation resume": Verb((), CHANGING, automation.PERMISSIONS["resume"],
                              "let automatic remediation act again"),
    "addons install": Verb(("metallb|cert-manager|traefik|kube-prometheus-stack|all",), CHANGING,
                           addons.PERMISSIONS["install"], "install addons through K3s' helm-controller"),
    "addons status": Verb((), frozenset(), addons.PERMISSIONS["status"],
                          "each addon's chart, Job and readiness"),
}
# verb groups and their default subverb
GROUPS = {"ops": "list", "automation": "status", "silence": "", "addons": ""}


class CommandRequest(BaseModel):
    verb: str  # a key of VERBS
    args: list[str]
    flags: dict[str, str | bool]

    @property
    def spec(self) -> Verb:
        return VERBS[self.verb]

    def flag(self, name: str) -> bool:
        return bool(self.flags.get(name))


class UsageError(ValueError):
    """What was wrong, and the usage to show."""


def help_text() -> str:
    width = max(len(v.usage(n)) for n, v in VERBS.items())
    return "\n".join(f"{v.usage(n):<{width}}  {v.help}" for n, v in VERBS.items())


def _verb(words: list[str]) -> tuple[str, list[str]]:
    if not words:
        return "help", []
    group = words[0]
    if group in GROUPS:
        sub = words[1] if len(words) > 1 else GROUPS[group]
        if f"{group} {sub}" in VERBS:
            return f"{group} {sub}", words[2:]
        if group in VERBS:  # `silence NAME 2h`: the group is a verb of its own
            return group, words[1:]
        subs = ", ".join(n.split(" ", 1)[1] for n in VERBS if n.startswith(f"{group} "))
        raise UsageError(f"unknown {group} subcommand {sub!r}; choose {subs}" if sub else
                         f"{group} needs a subcommand: choose {subs}")
    if words[0] not in VERBS:
        raise UsageError(f"unknown verb {words[0]!r}; try `help`. Verbs: {', '.join(sorted(VERBS))}")
    return words[0], words[1:]


def _free(choices: list[str]) -> bool:
    """`--cores=N`: a placeholder in capitals takes any value; `--role=server|agent` one of those."""
    return len(choices) == 1 and choices[0].isupper()


def _flag(verb: str, spec: Verb, word: str) -> tuple[str, str | bool]:
    name, _, value = word.partition("=")
    valued = {f.partition("=")[0]: f.partition("=")[2].split("|") for f in spec.flags if "=" in f}
    if name in valued and _free(valued[name]):
        if not value:
            raise UsageError(f"{name} takes a value ({name}={valued[name][0]}); usage: {spec.usage(verb)}")
        return name, value
    if name in valued:
        if value not in valued[name]:
            raise UsageError(f"{name} takes one of {', '.join(valued[name])}; usage: {spec.usage(verb)}")
        return name, value
    if name not in spec.flags or value:
        raise UsageError(f"{verb} does not take {word!r}; usage: {spec.usage(verb)}")
    return name, True


def parse(text: str) -> CommandRequest:
    if len(text) > MAX_TEXT:
        raise UsageError(f"the command is {len(text)} characters long; the most is {MAX_TEXT}")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot read the command: {exc}") from None
    verb, rest = _verb(words)
    spec = VERBS[verb]
    valued = {f.partition("=")[0] for f in spec.flags if "=" in f}
    args: list[str] = []
    flags: dict[str, str | bool] = {}
    remaining = iter(rest)
    for word in remaining:
        if word in valued:  # `--for down` as well as `--for=down`
            word = f"{word}={next(remaining, '')}"
        if word.startswith("--"):
            name, value = _flag(verb, spec, word)
            flags[name] = value
        else:
            args.append(word)
    most = len(spec.args) + len(spec.optional)
    if spec.optional and spec.optional[-1].endswith("...") and len(args) > most:
        args[most - 1:] = [" ".join(args[most - 1:])]
    if not len(spec.args) <= len(args) <= most:
        wanted = " ".join([*spec.args, *(f"[{o}]" for o in spec.optional)]) or "no arguments"
        raise UsageError(f"{verb} takes {wanted}, got {' '.join(args) or 'none'}; usage: {spec.usage(verb)}")
    if verb == "help" and args and not verb_help(args[0]):
        raise UsageError(f"no verb {args[0]!r}; verbs: {', '.join(sorted(VERBS))}")
    return CommandRequest(verb=verb, args=args, flags=flags)


def verb_help(name: str) -> str:
    matches = {n: v for n, v in VERBS.items() if n == name or n.startswith(f"{name} ")}
    return "\n".join(f"{v.usage(n)}  {v.help}" for n, v in matches.items())
