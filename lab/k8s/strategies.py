"""Kind-specific rules of the API server's registry strategies: Secrets, ConfigMaps and Jobs.

`normalize` is the v1 -> internal conversion (a Secret's `stringData` merged into `data`,
base64, and dropped); `causes` is Validate on create and update; `update_causes` is
ValidateUpdate (`immutable` Secrets and ConfigMaps, a Secret's type, a Job's template).
Causes are (field, reason, message) as field.ErrorList has them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

Obj = dict[str, Any]
Cause = tuple[str, str, str]
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                   "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                   "'[-._a-zA-Z0-9]+')")
MAX_SECRET_SIZE = 1024 * 1024
IMMUTABLE_SET = "Forbidden: field is immutable when `immutable` is set"
SA_NAME = "kubernetes.io/service-account.name"
# type -> the data keys it needs (one of them for basic-auth)
_REQUIRED_KEYS = {"kubernetes.io/dockercfg": (".dockercfg",),
                  "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
                  "kubernetes.io/ssh-auth": ("ssh-privatekey",), "kubernetes.io/tls": ("tls.crt", "tls.key")}
_JSON_KEYS = {"kubernetes.io/dockercfg": ".dockercfg", "kubernetes.io/dockerconfigjson": ".dockerconfigjson"}


def normalize(kind: str, obj: Obj) -> None:
    """The conversion every write goes through: stringData wins over data for the same key."""
    if kind != "Secret" or "stringData" not in obj:
        return
    string_data = obj.pop("stringData") or {}
    if string_data:
        data = obj.get("data") or {}
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()})
        obj["data"] = data


def _key_causes(maps: list[tuple[str, Obj]]) -> list[Cause]:
    causes = []
    for field, values in maps:
        for key in values:
            if not _CONFIG_KEY.match(key) or len(key) > 253:
                causes.append((f"{field}[{key}]", "FieldValueInvalid",
                               f'Invalid value: "{key}": {_CONFIG_KEY_MSG}'))
    data = maps[0][1]
    for key in maps[1][1] if len(maps) > 1 else {}:
        if key in data:
            causes.append((f"data[{key}]", "FieldValueInvalid",
                           f'Invalid value: "{key}": duplicate of key present in binaryData'))
    return causes


def _decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return b""  # refused by the decoder already


def _secret_causes(obj: Obj) -> list[Cause]:
    data: Obj = obj.get("data") or {}
    kind = obj.get("type") or "Opaque"
    causes = _key_causes([("data", data)])
    if sum(len(_decoded(v)) for v in data.values()) > MAX_SECRET_SIZE:
        causes.append(("data", "FieldValueTooLong", f"Too long: must have at most {MAX_SECRET_SIZE} bytes"))
    if kind == "kubernetes.io/service-account-token":
        if not (obj["metadata"].get("annotations") or {}).get(SA_NAME):
            causes.append((f"metadata.annotations[{SA_NAME}]", "FieldValueRequired", "Required value"))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        causes.append(("data[username]", "FieldValueRequired", "Required value"))
        causes.append(("data[password]", "FieldValueRequired", "Required value"))
    for key in _REQUIRED_KEYS.get(kind, ()):
        if key not in data:
            causes.append((f"data[{key}]", "FieldValueRequired", "Required value"))
    if kind in _JSON_KEYS and _JSON_KEYS[kind] in data:
        try:
            json.loads(_decoded(data[_JSON_KEYS[kind]]) or b"null")
        except ValueError as exc:
            causes.append((f"data[{_JSON_KEYS[kind]}]", "FieldValueInvalid",
                           f'Invalid value: "<secret contents redacted>": {exc}'))
    return causes


def _job_causes(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = []
    for name in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds",
                 "ttlSecondsAfterFinished"):
        value = spec.get(name)
        if isinstance(value, int) and value < 0:
            causes.append((f"spec.{name}", "FieldValueInvalid",
                           f"Invalid value: {value}: must be greater than or equal to 0"))
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") or "Always"  # defaulted
    if policy not in ("OnFailure", "Never"):
        causes.append(("spec.template.spec.restartPolicy", "FieldValueNotSupported",
                       f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'))
    return causes


def causes(kind: str, obj: Obj) -> list[Cause]:
    if kind == "Secret":
        return _secret_causes(obj)
    if kind == "ConfigMap":
        return _key_causes([("data", obj.get("data") or {}), ("binaryData", obj.get("binaryData") or {})])
    if kind == "Job":
        return _job_causes(obj)
    return []


def update_causes(kind: str, current: Obj, new: Obj) -> list[Cause]:
    found: list[Cause] = []
    if kind in ("Secret", "ConfigMap") and current.get("immutable"):
        if not new.get("immutable"):
            found.append(("immutable", "FieldValueForbidden", IMMUTABLE_SET))
        for name in ("data", "binaryData") if kind == "ConfigMap" else ("data",):
            if (new.get(name) or {}) != (current.get(name) or {}):
                found.append((name, "FieldValueForbidden", IMMUTABLE_SET))
    if kind == "Secret" and (new.get("type") or "Opaque") != (current.get("type") or "Opaque"):
        found.append(("type", "FieldValueInvalid", f'Invalid value: "{new.get("type")}": field is immutable'))
    if kind == "Job":
        new_template = (new.get("spec") or {}).get("template")
        if new_template != (current.get("spec") or {}).get("template"):
            found.append(("spec.template", "FieldValueInvalid",
                          f"Invalid value: {_go_print(new_template)}: field is immutable"))
    return found


def _go_print(value: Any) -> str:
    """A short stand-in for Go's %v of a struct, enough to show what was sent."""
    return "core.PodTemplateSpec{" + json.dumps(value, separators=(",", ":"))[:200] + "}"
