"""Random arguments on the Slack twin's routes: always Slack's answer shape, never a 500 of ours."""

from __future__ import annotations

import json
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.slack.routes import METHODS
from tests.conftest import RunningLab

SCALARS = st.none() | st.booleans() | st.integers(-3, 2**40) | st.sampled_from(
    ["", "x", "C0OPS", "U0OPER", "S0ONCALL", "1.000001", "[]", "{}", "[{\"type\":\"divider\"}]"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["type", "text", "elements", "action_id", "value"]),
                                        inner, max_size=3), max_leaves=12)
ARGS = st.dictionaries(st.sampled_from(["channel", "text", "blocks", "ts", "thread_ts", "user", "usergroup"]),
                       VALUES, max_size=5)
PEOPLE = st.sampled_from(["command", "press", "fault", "request-url", "response/nosuch"])
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


def _url(lab: RunningLab) -> str:
    return str(json.loads((lab.workdir / "lab.json").read_text())["slack_url"])


@FUZZ
@given(method=st.sampled_from(sorted(METHODS)), args=ARGS, as_json=st.booleans())
def test_web_api_answers_ok_false_for_any_arguments(running_lab: RunningLab, method: str,
                                                    args: dict[str, Any], as_json: bool) -> None:
    token = running_lab.lab.slack.workspace.bot_token
    url = f"{_url(running_lab)}/api/{method}"
    if as_json:
        answer = requests.post(url, json=args, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    else:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}
        answer = requests.post(url, data={**form, "token": token}, timeout=10)
    assert answer.status_code in (200, 429), answer.text
    assert isinstance(answer.json()["ok"], bool)


@FUZZ
@given(path=PEOPLE, body=VALUES)
def test_the_peoples_side_answers_400_not_500(running_lab: RunningLab, path: str, body: Any) -> None:
    answer = requests.post(f"{_url(running_lab)}/lab/slack/{path}", json=body, timeout=10)
    assert answer.status_code in (200, 400, 404), answer.text
