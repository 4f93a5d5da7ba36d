"""`/cluster/ha/groups`, `/cluster/ha/rules` and `/cluster/ha/status/manager_status`."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lab.pve.handlers import Call, answers
from lab.pve.models import PveCluster

table = web.RouteTableDef()
HA = "/api2/json/cluster/ha"


@table.get(f"{HA}/groups")
@answers
def ha_groups_index(c: Call) -> object:
    return c.pve.ha_groups_index(c.now)


def _group(verb: str) -> Callable[[Call], object]:
    def ha_group(c: Call) -> object:
        return c.pve.ha_group(verb, c.now)

    return ha_group


table.post(f"{HA}/groups")(answers(_group("create")))
for _method, _verb in (("GET", "read"), ("PUT", "update"), ("DELETE", "delete")):
    table.route(_method, f"{HA}/groups/{{group}}")(answers(_group(_verb)))


@table.get(f"{HA}/rules")
@answers
def ha_rules_index(c: Call) -> object:
    return c.pve.ha_rules_index(c.now, c.text("type"), c.text("resource"))


@table.post(f"{HA}/rules")
@answers
def ha_rule_create(c: Call) -> object:
    return c.pve.ha_rule_create(c.body(), c.now)


@table.put(f"{HA}/rules/{{rule}}")
@answers
def ha_rule_update(c: Call) -> object:
    params = c.body()
    return c.pve.ha_rule_update(params.pop("rule"), params, c.now)


def _rule(method: Callable[[PveCluster, str, float], object]) -> Callable[[Call], object]:
    def ha_rule(c: Call) -> object:
        return method(c.pve, c.text("rule") or "", c.now)

    return ha_rule


table.get(f"{HA}/rules/{{rule}}")(answers(_rule(PveCluster.ha_rule_read)))
table.delete(f"{HA}/rules/{{rule}}")(answers(_rule(PveCluster.ha_rule_delete)))


@table.get(f"{HA}/status/manager_status")
@answers
def ha_manager_status(c: Call) -> object:
    return c.pve.ha_manager_status(c.now)
