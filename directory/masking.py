"""Masking what the provisioning log keeps of a SCIM request: its bodies and its query.

Secrets never reach the log: a JSON body keeps its shape, with the value of `password`
and of any key containing "secret", "token" or "password" replaced by "***" (so is the
`value` of a PATCH operation whose `path` names such an attribute). A body that is not
JSON is not kept at all, since nothing can tell its secrets apart. The Authorization
header is never passed here: the log does not store headers.

With `personal` (the org's setting, and always for a request no token of the org
authenticated), the values of names, emails, phone numbers and addresses are masked
too: the attributes in PERSONAL_ATTRIBUTES at any depth (their string leaves, keeping
`type` and `primary`), a PATCH operation's `value` when its `path` names one, and the
literals compared with one in a filter. A group's own displayName is its name, not
personal data, and is kept.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

MASK = "***"
# Each body is kept up to this many characters (what is cut is marked).
BODY_CAP = 8 * 1024
_SECRET_WORDS = ("password", "secret", "token")
# SCIM attribute names (lowercase: SCIM compares them so) whose values are personal data.
PERSONAL_ATTRIBUTES = frozenset(
    {
        "username",
        "displayname",
        "nickname",
        "name",
        "formatted",
        "givenname",
        "familyname",
        "middlename",
        "honorificprefix",
        "honorificsuffix",
        "emails",
        "phonenumbers",
        "addresses",
        "streetaddress",
        "locality",
        "region",
        "postalcode",
        "ims",
        "photos",
        "display",  # a member's or manager's name
    }
)
_KEPT_IN_PERSONAL = frozenset({"type", "primary"})
_GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
# attrPath op "literal" in a filter (RFC 7644 §3.4.2.2), escapes included.
_COMPARISON = re.compile(
    r'(?P<attr>[A-Za-z][\w.:$-]*)\s+(?P<op>eq|ne|co|sw|ew|gt|ge|lt|le)\s+"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _attribute(path: str) -> str:
    """The attribute a SCIM path or filter attrPath starts with, lowercase:
    'name' for 'name.familyName', 'emails' for 'emails[type eq "work"].value', and
    'username' for 'urn:ietf:params:scim:schemas:core:2.0:User:userName'."""
    head = path.split("[", 1)[0]
    if ":" in head:
        head = head.rsplit(":", 1)[1]
    return head.split(".", 1)[0].strip().lower()


def _is_personal(key: str, *, group: bool) -> bool:
    lowered = key.lower()
    return lowered in PERSONAL_ATTRIBUTES and not (group and lowered == "displayname")


def _leaves_masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: item if key in _KEPT_IN_PERSONAL else _leaves_masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_leaves_masked(item) for item in value]
    return MASK if isinstance(value, str) else value


def _masked(value: Any, *, personal: bool, group: bool) -> Any:
    if isinstance(value, list):
        return [_masked(item, personal=personal, group=group) for item in value]
    if not isinstance(value, dict):
        return value
    schemas = value.get("schemas")
    if isinstance(schemas, list) and schemas:
        group = _GROUP_SCHEMA in schemas
    path = value.get("path") if isinstance(value.get("path"), str) else None
    secret_path = path is not None and _is_secret(path)
    personal_path = personal and path is not None and _is_personal(_attribute(path), group=group)
    masked: dict[Any, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            masked[key] = _masked(item, personal=personal, group=group)
        elif _is_secret(key) or (secret_path and key == "value"):
            masked[key] = MASK
        elif personal and (_is_personal(key, group=group) or (personal_path and key == "value")):
            masked[key] = _leaves_masked(item)
        elif personal and key == "path" and path is not None:
            masked[key] = filter_mask(path, group=group)
        elif personal and key == "detail" and isinstance(item, str):
            masked[key] = detail_mask(item)
        else:
            masked[key] = _masked(item, personal=personal, group=group)
    return masked


def body_mask(
    raw: bytes | str,
    *,
    personal: bool = False,
    group: bool = False,
    known_json: bool = False,
    cap: int = BODY_CAP,
) -> str:
    """`raw` as the log keeps it: JSON with its secrets masked (and its personal
    values, with `personal`; `group`: a body sent to /Groups), at most `cap` characters;
    "" for an empty body; a note for one that is not JSON (`known_json`: the caller
    knows it is, so a body with nothing to mask is not parsed at all)."""
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    lowered = text.lower()
    # Most bodies name no secret: without one of the words (or an escape that could
    # spell one) they are kept as sent, once known to be JSON, without re-encoding.
    plain = not personal and "\\u" not in lowered and not any(w in lowered for w in _SECRET_WORDS)
    if plain and known_json:
        return _capped(text, cap)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return f"(not JSON, {len(raw)} bytes: not kept)"
    if not plain:
        masked = _masked(doc, personal=personal, group=group)
        text = json.dumps(masked, ensure_ascii=False, separators=(",", ":"))
    return _capped(text, cap)


def _capped(text: str, cap: int) -> str:
    if len(text) > cap:
        return text[:cap] + f"… (cut at {cap} of {len(text)} characters)"
    return text


def filter_mask(expression: str, *, group: bool = False) -> str:
    """A SCIM filter (or PATCH path) with the literals compared with a personal
    attribute masked: 'userName eq "ada@acme.example"' -> 'userName eq "***"'."""

    def replace(match: re.Match[str]) -> str:
        if not _is_personal(_attribute(match["attr"]), group=group):
            return match[0]
        return f'{match["attr"]} {match["op"]} "{MASK}"'

    return _COMPARISON.sub(replace, expression)


# A value quoted in one of our error messages: 'ada@acme.example' or "ada".
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def detail_mask(detail: str) -> str:
    """An error's reason with the values it quotes masked ("A user with userName
    'ada@acme.example' already exists" -> "… userName '***' already exists")."""
    return _QUOTED.sub(lambda m: f"{m[0][0]}{MASK}{m[0][0]}", detail)


def query_mask(query: str, *, personal: bool, group: bool = False) -> str:
    """A request's query string as the log keeps it: with `personal`, its `filter`'s
    personal literals masked (the query re-encoded); otherwise as sent."""
    if not personal or not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [
        (key, filter_mask(value, group=group) if key.lower() == "filter" else value)
        for key, value in pairs
    ]
    return urlencode(masked, safe="*")


def body_pretty(text: str) -> str:
    """A kept body, indented for reading (as it is when it was cut or is not JSON)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return text
