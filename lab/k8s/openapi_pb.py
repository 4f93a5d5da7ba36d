"""/openapi/v2 as protobuf: the gnostic `openapi.v2.Document` message client-go asks for.

client-go's OpenAPISchema() sends `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
and only ever decodes protobuf, so the swagger document is encoded to that message here (field
numbers from gnostic's OpenAPIv2.proto). Vendor extensions travel as YAML text (JSON is YAML).
"""

from __future__ import annotations

import json
import struct
from typing import Any

Obj = dict[str, Any]
# what clients ask for (the deprecated name first) and what the server answers with
ACCEPTED = ("com.github.proto-openapi.spec.v2@v1.0+protobuf",
            "com.github.proto-openapi.spec.v2.v1.0+protobuf")
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

# Schema: JSON key -> (field number, kind)
_SCHEMA = {"$ref": (1, "str"), "format": (2, "str"), "title": (3, "str"), "description": (4, "str"),
           "default": (5, "any"), "multipleOf": (6, "double"), "maximum": (7, "double"),
           "exclusiveMaximum": (8, "bool"), "minimum": (9, "double"), "exclusiveMinimum": (10, "bool"),
           "maxLength": (11, "int"), "minLength": (12, "int"), "pattern": (13, "str"),
           "maxItems": (14, "int"),
           "minItems": (15, "int"), "uniqueItems": (16, "bool"), "maxProperties": (17, "int"),
           "minProperties": (18, "int"), "required": (19, "strs"), "enum": (20, "anys"),
           "readOnly": (27, "bool"), "example": (30, "any")}


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _len(field, text.encode())


def _any(field: int, value: Any) -> bytes:
    return _len(field, _str(2, json.dumps(value, separators=(",", ":"))))  # Any{yaml = 2}


def _named_any(field: int, name: str, value: Any) -> bytes:
    return _len(field, _str(1, name) + _any(2, value))


def _scalar(field: int, kind: str, value: Any) -> bytes:
    if kind == "str":
        return _str(field, str(value))
    if kind == "double":
        return _varint(field << 3 | 1) + struct.pack("<d", float(value))
    if kind in ("int", "bool"):
        return _varint(field << 3) + _varint(int(value))
    if kind == "strs":
        return b"".join(_str(field, str(v)) for v in value)
    if kind == "anys":
        return b"".join(_any(field, v) for v in value)
    return _any(field, value)


def schema(s: Obj) -> bytes:
    out = bytearray()
    for key, value in s.items():
        if key in _SCHEMA:
            out += _scalar(*_SCHEMA[key], value)
        elif key == "type":  # TypeItem{repeated string value = 1}
            out += _len(22, b"".join(_str(1, t) for t in ([value] if isinstance(value, str) else value)))
        elif key == "items" and isinstance(value, dict):  # ItemsItem{repeated Schema schema = 1}
            out += _len(23, _len(1, schema(value)))
        elif key == "allOf":
            out += b"".join(_len(24, schema(v)) for v in value)
        elif key == "properties":  # Properties{repeated NamedSchema additional_properties = 1}
            out += _len(25, b"".join(_len(1, _str(1, k) + _len(2, schema(v))) for k, v in value.items()))
        elif key == "additionalProperties":  # AdditionalPropertiesItem{schema = 1 | boolean = 2}
            out += _len(21, _len(1, schema(value)) if isinstance(value, dict) else _scalar(2, "bool", value))
        elif key.startswith("x-"):
            out += _named_any(31, key, value)
    return bytes(out)


def _operation(op: Obj) -> bytes:
    out = _str(5, op["operationId"]) if "operationId" in op else b""
    out += b"".join(_str(7, c) for c in op.get("consumes", ()))
    responses = b"".join(  # Responses{NamedResponseValue{name, ResponseValue{Response{description}}}}
        _len(1, _str(1, code) + _len(2, _len(1, _str(1, r.get("description", "")))))
        for code, r in (op.get("responses") or {}).items())
    out += _len(9, responses)
    for key, value in op.items():
        if key.startswith("x-"):
            out += _named_any(13, key, value)
    return out


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def document(doc: Obj) -> bytes:
    """The swagger 2.0 document (as JSON would serve it) as an openapi.v2.Document message."""
    info = doc.get("info", {})
    out = _str(1, doc["swagger"]) + _len(2, _str(1, info.get("title", "")) + _str(2, info.get("version", "")))
    paths = b""
    for path, item in doc.get("paths", {}).items():
        ops = b"".join(_len(_METHODS[m], _operation(op)) for m, op in item.items() if m in _METHODS)
        paths += _len(2, _str(1, path) + _len(2, ops))
    out += _len(8, paths)
    defs = b"".join(_len(1, _str(1, name) + _len(2, schema(s)))
                    for name, s in doc.get("definitions", {}).items())
    return out + _len(9, defs)
