"""One grammar for Slack and the console: verbs, arguments, flags and their usage errors."""

from __future__ import annotations

import pytest

from commands import provision
from commands.grammar import MAX_TEXT, VERBS, UsageError, help_text, parse
from commands.permissions import Grants, allows, level_of


@pytest.mark.parametrize(("text", "verb", "args", "flags"), [
    ("drain blade3 --yes", "drain", ["blade3"], {"--yes": True}),
    ("plan blade3 --for down", "plan", ["blade3"], {"--for": "down"}),
    ("plan blade3 --for=reboot", "plan", ["blade3"], {"--for": "reboot"}),
    ("restore blade3 --stay --dry-run", "restore", ["blade3"], {"--stay": True, "--dry-run": True}),
    ("ops", "ops list", [], {}), ("ops show 7", "ops show", ["7"], {}), ("", "help", [], {}),
    ("help drain", "help", ["drain"], {}),
    ("addons install all --yes", "addons install", ["all"], {"--yes": True}),
    ("addons status", "addons status", [], {}),
    ("bootstrap --servers 3 --agents=1", "bootstrap", [], {"--servers": "3", "--agents": "1"}),
    ("provision kube06 --role server --cores=2 --memory 2048 --ip 192.168.1.126/24 --gw=192.168.1.1 --yes",
     "provision", ["kube06"], {"--role": "server", "--cores": "2", "--memory": "2048",
                               "--ip": "192.168.1.126/24", "--gw": "192.168.1.1", "--yes": True}),
    ("provision --dhcp --dry-run", "provision", [], {"--dhcp": True, "--dry-run": True}),
    ("silence KubeNodeNotReady 2h firmware upgrade on blade2", "silence",
     ["KubeNodeNotReady", "2h", "firmware upgrade on blade2"], {}),
    ("silence 0123456789abcdef 30m", "silence", ["0123456789abcdef", "30m"], {}),
    ("silence list", "silence list", [], {}), ("silence expire abc", "silence expire", ["abc"], {}),
    ("automation", "automation status", [], {}), ("automation pause", "automation pause", [], {}),
    ("automation pause Ceph by hand", "automation pause", ["Ceph by hand"], {}),
])
def test_commands_parse_into_one_request(text: str, verb: str, args: list[str],
                                         flags: dict[str, object]) -> None:
    req = parse(text)
    assert (req.verb, req.args, req.flags) == (verb, args, flags)


@pytest.mark.parametrize(("text", "message"), [
    ("nuke blade3", "unknown verb 'nuke'; try `help`"),
    ("drain", "drain takes BLADE, got none; usage: drain BLADE [--dry-run] [--yes]"),
    ("drain blade3 blade4", "drain takes BLADE, got blade3 blade4"),
    ("drain blade3 --force", "drain does not take '--force'"),
    ("drain blade3 --yes=no", "drain does not take '--yes=no'"),
    ("plan blade3 --for sideways", "--for takes one of drain, reboot, down"),
    ("ops explode", "unknown ops subcommand 'explode'; choose list, show, audit, cancel"),
    ("automation stop", "unknown automation subcommand 'stop'; choose status, pause, resume"),
    ("silence", "silence takes ALERTNAME|FINGERPRINT DURATION [REASON...], got none"),
    ("silence expire", "silence expire takes ID, got none"),
    ("automation resume now", "automation resume takes no arguments, got now"),
    ("addons", "addons needs a subcommand: choose install, status"),
    ("addons remove metallb", "unknown addons subcommand 'remove'; choose install, status"),
    ('drain "blade3', "cannot read the command: No closing quotation"),
    ("help nuke", "no verb 'nuke'"),
    ("provision --role boss", "--role takes one of server, agent"),
    ("provision kube06 --cores", "--cores takes a value (--cores=N)"),
    ("provision kube06 kube07", "provision takes [NAME], got kube06 kube07"),
    ("x" * (MAX_TEXT + 1), f"the command is {MAX_TEXT + 1} characters long"),
])
def test_usage_errors_say_what_was_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError) as wrong:
        parse(text)
    assert str(wrong.value).startswith(message)


@pytest.mark.parametrize(("flags", "message"), [
    ({"--cores": "four"}, "--cores takes a whole number above 0, not 'four'"),
    ({"--memory": "0"}, "--memory takes a whole number above 0, not '0'"),
])
def test_provision_numbers_are_whole_and_positive(flags: dict[str, str | bool], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        provision.ask_from(["kube06"], flags)
    ask = provision.ask_from([], {"--cores": "2", "--disk": "40", "--role": "server"})
    assert (ask.name, ask.cores, ask.disk_gib, ask.role, ask.memory_mib) == (None, 2, 40, "server", None)


def test_help_lists_every_verb_with_its_usage() -> None:
    text = help_text()
    assert "drain BLADE [--dry-run] [--yes]" in text and "restore BLADE [--dry-run] [--stay] [--yes]" in text


def test_permissions_by_user_group_and_everyone() -> None:
    grants = Grants(read=["*"], operate=["@oncall"], admin=["U0ADMIN"])
    assert level_of(grants, "U0READ", []) == "read"
    assert allows(grants, "U0OPER", ["oncall"], "operate")
    assert not allows(grants, "U0OPER", ["oncall"], "admin")
    assert allows(grants, "U0ADMIN", [], "operate")  # admin includes operate
    assert not allows(grants, "U0READ", [], "operate")
    assert level_of(Grants(read=[], operate=[], admin=[]), "U1", []) is None


def test_installing_addons_needs_admin_and_their_status_only_read() -> None:
    assert parse("addons install metallb").spec.permission == "admin"
    assert parse("addons status").spec.permission == "read"


def test_every_verb_of_the_grammar_has_a_runner() -> None:
    from commands.dispatch import ACT, RUN
    assert set(RUN) | set(ACT) == set(VERBS) and not set(RUN) & set(ACT)
