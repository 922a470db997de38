"""What an incoming SCIM value means, decided once for every resource and request.

Every body the endpoint reads passes `decode_json`, and every boolean an IdP sends passes
`parse_bool`, whichever attribute or operation carries it (POST, PUT, PATCH, searches).
A value no database can store (a NUL, a lone UTF-16 surrogate) or no number can hold
(NaN, Infinity, 1e400) is refused here with a 400 that names it, before any of it reaches
the directory."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from scim.errors import ScimError, bad_request

# Postgres text cannot hold NUL, and UTF-8 (what every database here stores) cannot encode
# a surrogate that is not part of a pair: JSON's "\ud800" escape decodes to exactly that.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Only an escape can put either character into a decoded JSON string: raw NUL is refused
# by the JSON parser and raw surrogates are not valid UTF-8. Bodies without one skip the walk.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_TRUE, _FALSE = "true", "false"


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "a NUL character"
    return f"a lone UTF-16 surrogate (U+{ord(char):04X})"


def storable_text(text: str) -> str:
    """`text` with what cannot be stored replaced by U+FFFD, for logs and events about a
    refused request (the request itself is refused, never stored altered)."""
    return _UNSTORABLE.sub("\ufffd", text)


def require_storable(value: Any, path: str = "") -> None:
    """Refuse the first string in `value` (keys included) that cannot be stored."""
    if isinstance(value, str):
        reason = unstorable(value)
        if reason:
            raise bad_request(f"{path or 'A value'} contains {reason}, which cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            require_storable(str(key), f"The attribute name {storable_text(key_path)!r}")
            require_storable(item, storable_text(key_path))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            require_storable(item, f"{path}[{i}]")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise bad_request(f"The number {text} is too large")
    return number


def _no_constants(name: str) -> Any:
    raise bad_request(f"{name} is not a number JSON allows")


def decode_json(raw: bytes, charset: str | None) -> Any:
    """A request body as JSON: any charset the client names (UTF-8 by default, with or
    without a BOM), finite numbers only, every string storable."""
    try:
        text = raw.decode(_codec(charset))
    except UnicodeDecodeError as e:
        raise ScimError(
            400, f"The request body is not valid {charset or 'UTF-8'}: {e}", "invalidSyntax"
        ) from None
    try:
        doc = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except (ValueError, RecursionError) as e:
        raise ScimError(400, f"The request body is not valid JSON: {e}", "invalidSyntax") from None
    if _UNSTORABLE_ESCAPE.search(text):
        require_storable(doc)
    return doc


def _codec(charset: str | None) -> str:
    if not charset or charset.lower().replace("-", "").replace("_", "") == "utf8":
        return "utf-8-sig"
    try:
        "".encode(charset)
    except LookupError:
        raise ScimError(415, f"The charset {charset!r} is not one this service reads") from None
    return charset


def parse_bool(value: Any, attribute: str) -> bool:
    """A boolean as IdPs send it: JSON true/false, or Entra's "True"/"False" strings
    (any case). Nothing else is a boolean: "yes", 1 and "1" are refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (_TRUE, _FALSE):
        return value.strip().lower() == _TRUE
    raise bad_request(f"{attribute} must be a boolean, got {value!r}")
