"""Masking what the provisioning log keeps of a SCIM request or response body.

Secrets never reach the log: a JSON body keeps its shape, with the value of `password`
and of any key containing "secret", "token" or "password" replaced by "***" (so is the
`value` of a PATCH operation whose `path` names such an attribute). A body that is not
JSON is not kept at all, since nothing can tell its secrets apart. The Authorization
header is never passed here: the log does not store headers.
"""

from __future__ import annotations

import json
from typing import Any

MASK = "***"
# Each body is kept up to this many characters (what is cut is marked).
BODY_CAP = 8 * 1024
_SECRET_WORDS = ("password", "secret", "token")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        secret_path = isinstance(value.get("path"), str) and _is_secret(value["path"])
        return {
            key: MASK
            if (isinstance(key, str) and _is_secret(key)) or (secret_path and key == "value")
            else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def body_mask(raw: bytes | str, *, cap: int = BODY_CAP) -> str:
    """`raw` as the log keeps it: JSON with its secrets masked, at most `cap`
    characters; "" for an empty body; a note for one that is not JSON."""
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    lowered = text.lower()
    # Most bodies name no secret: without one of the words (or an escape that could
    # spell one) they are kept as sent, once known to be JSON, without re-encoding.
    plain = "\\u" not in lowered and not any(word in lowered for word in _SECRET_WORDS)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return f"(not JSON, {len(raw)} bytes: not kept)"
    if not plain:
        text = json.dumps(_masked(doc), ensure_ascii=False, separators=(",", ":"))
    if len(text) > cap:
        return text[:cap] + f"… (cut at {cap} of {len(text)} characters)"
    return text


def body_pretty(text: str) -> str:
    """A kept body, indented for reading (as it is when it was cut or is not JSON)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return text
