"""The `attributes` and `excludedAttributes` parameters (RFC 7644 §3.4.2.5): which
attributes of a resource a response carries. `id` and `schemas` are always returned."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scim.errors import bad_request
from scim.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

ALWAYS = {"id", "schemas"}
_URNS = (ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA)


def parse_attribute_list(value: Any) -> list[tuple[str | None, list[str]]]:
    """`"userName,name.givenName,urn:...:User:department"` (or a JSON list) as
    (extension URN or None, path) pairs, path parts lower-cased."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    parsed: list[tuple[str | None, list[str]]] = []
    for item in items:
        if not isinstance(item, str):
            raise bad_request("attributes must be strings")
        text = item.strip()
        if not text:
            continue
        urn: str | None = None
        for candidate in _URNS:
            if text.lower() == candidate.lower():
                urn, text = candidate, ""
                break
            if text.lower().startswith(candidate.lower() + ":"):
                urn, text = candidate, text[len(candidate) + 1 :]
                break
        if urn in (USER_SCHEMA, GROUP_SCHEMA):
            urn = None  # core attributes live at the top level
        parsed.append((urn, [p.lower() for p in text.split(".")] if text else []))
    return parsed


def _find_key(d: dict[str, Any], name: str) -> str | None:
    for key in d:
        if key.lower() == name:
            return key
    return None


def _copy_path(src: Any, dst: dict[str, Any], path: list[str]) -> None:
    if not isinstance(src, dict):
        return
    key = _find_key(src, path[0])
    if key is None:
        return
    value = src[key]
    if len(path) == 1:
        dst[key] = value
    elif isinstance(value, dict):
        _copy_path(value, dst.setdefault(key, {}), path[1:])
    elif isinstance(value, list):
        items = dst.setdefault(key, [{} for _ in value])
        for item, out in zip(value, items, strict=False):
            _copy_path(item, out, path[1:])


def _drop_path(d: Any, path: list[str]) -> None:
    if not isinstance(d, dict):
        return
    key = _find_key(d, path[0])
    if key is None or key.lower() in ALWAYS:
        return
    if len(path) == 1:
        del d[key]
    elif isinstance(d[key], dict):
        _drop_path(d[key], path[1:])
    elif isinstance(d[key], list):
        for item in d[key]:
            _drop_path(item, path[1:])


def project(
    doc: dict[str, Any],
    attributes: Iterable[tuple[str | None, list[str]]],
    excluded: Iterable[tuple[str | None, list[str]]],
) -> dict[str, Any]:
    attributes, excluded = list(attributes), list(excluded)
    if attributes:
        out: dict[str, Any] = {k: v for k, v in doc.items() if k in ALWAYS}
        for urn, path in attributes:
            if urn is None:
                if path:
                    _copy_path(doc, out, path)
            elif urn in doc:
                if path:
                    _copy_path(doc[urn], out.setdefault(urn, {}), path)
                else:
                    out[urn] = doc[urn]
        return out
    if excluded:
        doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
        for urn, path in excluded:
            if urn is None:
                if path:
                    _drop_path(doc, path)
            elif urn in doc:
                if path:
                    _drop_path(doc[urn], path)
                else:
                    del doc[urn]
    return doc


def wants(
    name: str,
    attributes: list[tuple[str | None, list[str]]],
    excluded: list[tuple[str | None, list[str]]],
) -> bool:
    """Whether a response needs the top-level core attribute `name` (so the view can
    avoid loading, say, a group's 50,000 members when they are excluded)."""
    name = name.lower()
    if attributes:
        return any(urn is None and path and path[0] == name for urn, path in attributes)
    return not any(urn is None and path == [name] for urn, path in excluded)
