"""HA rules (`/cluster/ha/rules`, PVE 9) and the HA groups they replaced (`/cluster/ha/groups`).

PVE 9 migrates HA groups to node-affinity rules; with no group left, pve-ha-manager refuses
every group call ("ha groups have been migrated to rules"), which is what a PVE 9 cluster
answers, so the lab has no groups. Rules are kept as PVE::HA::Rules keeps them: an order, the
type's options, `disable` and `strict` only when set. Wording from PVE::API2::HA::Rules,
PVE::SectionConfig and the rule plugins' feasibility checks.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

from lab.pve.base import PveState
from lab.pve.domain import PveError
from lab.pve.objects import Vm
from lab.pve.validate import split_list

# the options each rule type takes (PVE::HA::Rules::*::options), required ones first
OPTIONS = {"node-affinity": {"resources": True, "nodes": True, "strict": False, "disable": False,
                             "comment": False},
           "resource-affinity": {"resources": True, "affinity": True, "disable": False, "comment": False}}


def _no_groups(verb: str) -> PveError:
    what = "groups" if verb == "index" else "group"
    return PveError(f"cannot {verb} {what}: ha groups have been migrated to rules")


def parse_nodes(text: str) -> dict[str, int]:
    """`blade1:2,blade2` -> {blade1: 2, blade2: 0} (PVE::HA::Tools::parse_node_priority)."""
    out = {}
    for item in split_list(text):
        node, _, priority = item.partition(":")
        out[node] = int(priority or 0)
    return out


class HaRulesApi(PveState):
    # --- groups: migrated away in PVE 9 -----------------------------------------------------------
    def ha_groups_index(self, now: float) -> list[dict[str, Any]]:
        raise _no_groups("index")

    def ha_group(self, verb: str, now: float) -> None:
        """read, create, update, delete: all refused once groups are rules."""
        raise _no_groups(verb)

    # --- rules ------------------------------------------------------------------------------------
    def _rules_digest(self) -> str:
        return hashlib.sha1(json.dumps(self.ha_rules, sort_keys=True).encode()).hexdigest()

    def _api_rule(self, ruleid: str, errors: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
        rule = self.ha_rules[ruleid]
        out: dict[str, Any] = {"rule": ruleid, "digest": self._rules_digest(), **rule,
                               "resources": ",".join(sorted(rule["resources"]))}
        if "nodes" in rule:
            out["nodes"] = ",".join(f"{n}:{p}" if p else n for n, p in sorted(rule["nodes"].items()))
        if ruleid in errors:
            out["errors"] = {opt: ", ".join(msgs) for opt, msgs in errors[ruleid].items()}
        return out

    def ha_rules_index(self, now: float, type: str | None = None,
                       resource: str | None = None) -> list[dict[str, Any]]:
        errors = self.ha_rule_errors()
        return [self._api_rule(rid, errors) for rid, rule in sorted(self.ha_rules.items(),
                                                                     key=lambda r: r[1]["order"])
                if (type is None or rule["type"] == type)
                and (resource is None or resource in rule["resources"])]

    def ha_rule_read(self, ruleid: str, now: float) -> dict[str, Any]:
        if ruleid not in self.ha_rules:
            raise PveError(f"no such ha rule '{ruleid}'")
        return self._api_rule(ruleid, self.ha_rule_errors())

    def _decode(self, kind: str, params: dict[str, str], create: bool) -> dict[str, Any]:
        """SectionConfig::check_config: only the type's options; required ones on create."""
        options = OPTIONS[kind]
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key not in options:
                raise PveError(f"unexpected property '{key}'")
            if key == "resources":
                out[key] = sorted(set(split_list(value)))
            elif key == "nodes":
                out[key] = parse_nodes(value)
            elif key in ("strict", "disable"):
                if value.lower() in ("1", "true", "on", "yes"):  # PVE stores them only when set
                    out[key] = 1
            else:
                out[key] = value
        missing = [k for k, required in options.items() if required and create and k not in params]
        if missing:
            raise PveError(f"missing value for required option '{missing[0]}'")
        return out

    def ha_managed(self, sid: str) -> Vm | None:
        vmid = sid.removeprefix("vm:")
        vm = self.vms.get(int(vmid)) if sid.startswith("vm:") and vmid.isascii() and vmid.isdigit() else None
        return vm if vm is not None and vm.ha else None

    def _check_references(self, opts: dict[str, Any]) -> None:
        if "resources" in opts:
            if not opts["resources"]:
                raise PveError("no resources were specified")
            unmanaged = [sid for sid in opts["resources"] if self.ha_managed(sid) is None]
            if unmanaged:
                raise PveError(f"cannot use unmanaged resource(s) {', '.join(unmanaged)}.")
        if "nodes" in opts:
            unknown = sorted(n for n in opts["nodes"] if n not in self.blades)
            if not opts["nodes"]:
                raise PveError("no nodes were specified")
            if unknown:
                raise PveError(f"cannot use non-existent node(s) {', '.join(unknown)}.")

    def _locked(self, failed: str, ruleid: str, change: Callable[[], None]) -> None:
        """PVE::HA::Config::lock_ha_domain: a plain error comes back through cfs_lock's wording,
        the feasibility exception as its text; either after `failed`."""
        before = copy.deepcopy(self.ha_rules)
        try:
            if not self.quorate(self.now):
                raise PveError("no quorum!")  # pmxcfs grants no lock without quorum
            change()
        except PveError as exc:
            self.ha_rules = before
            raise PveError(f"{failed}: error with cfs lock 'domain-ha': {exc.message}") from None
        errors = self.ha_rule_errors().get(ruleid)
        if errors:
            self.ha_rules = before
            lines = "".join(f"{opt}: {', '.join(msgs)}\n" for opt, msgs in sorted(errors.items()))
            raise PveError(f"{failed}: 400 Rule '{ruleid}' is invalid.\n{lines}")

    def ha_rule_create(self, params: dict[str, str], now: float) -> None:
        self.require_quorum(now)
        params = dict(params)
        kind, ruleid = params.pop("type"), params.pop("rule")
        opts = self._decode(kind, params, create=True)

        def create() -> None:
            if ruleid in self.ha_rules:
                raise PveError(f"HA rule '{ruleid}' already defined")
            self._check_references(opts)
            order = max((r["order"] for r in self.ha_rules.values()), default=0) + 1
            self.ha_rules[ruleid] = {"type": kind, "order": order, **opts}

        self._locked("create ha rule failed", ruleid, create)

    def ha_rule_update(self, ruleid: str, params: dict[str, str], now: float) -> None:
        params = dict(params)
        digest, delete = params.pop("digest", None), params.pop("delete", None)

        def update() -> None:
            if digest is not None and digest != self._rules_digest():
                raise PveError("detected modified configuration - file changed by other user? Try again.")
            rule = self.ha_rules.get(ruleid)
            if rule is None:
                raise PveError(f"HA rule '{ruleid}' does not exist")
            if params.get("type", rule["type"]) != rule["type"]:
                raise PveError("unexpected property 'type'")
            params.pop("type", None)
            opts = self._decode(rule["type"], params, create=False)
            self._check_references(opts)
            for key in split_list(delete or ""):
                if OPTIONS[rule["type"]].get(key):
                    raise PveError(f"unable to delete required option '{key}'")
                rule.pop(key, None)
            rule.update(opts)  # `disable=0` is dropped before, so only `delete=disable` enables a rule

        self._locked("update HA rules failed", ruleid, update)

    def ha_rule_delete(self, ruleid: str, now: float) -> None:
        # PVE deletes a rule that is not there without a word
        self._locked("delete ha rule failed", ruleid, lambda: self.ha_rules.pop(ruleid, None) and None)

    # --- feasibility ------------------------------------------------------------------------------
    def ha_rule_errors(self) -> dict[str, dict[str, list[str]]]:
        """PVE::HA::Rules::check_feasibility, for the checks the lab models."""
        errors: dict[str, dict[str, list[str]]] = {}
        active = {rid: r for rid, r in self.ha_rules.items() if not r.get("disable")}
        users: dict[str, list[str]] = {}
        for rid, rule in active.items():
            if rule["type"] == "node-affinity":
                for sid in rule["resources"]:
                    users.setdefault(sid, []).append(rid)
            elif len(rule["resources"]) < 2:
                errors.setdefault(rid, {}).setdefault("resources", []).append(
                    "rule is ineffective as there are less than two resources")
            elif rule["affinity"] == "negative" and len(rule["resources"]) > len(self.blades):
                errors.setdefault(rid, {}).setdefault("resources", []).append(
                    "rule defines more resources than available nodes")
        for sid, rids in sorted(users.items()):
            if len(rids) > 1:
                for rid in sorted(rids):
                    errors.setdefault(rid, {}).setdefault("resources", []).append(
                        f"resource '{sid}' is already used in another node affinity rule")
        return errors
