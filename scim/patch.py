"""SCIM PATCH (RFC 7644 §3.5.2): the envelope, and what the User and Group engines share.
Pure Python, no database. scim.user_patch applies ops to a User, scim.group_patch plans
them for a Group.

    PatchError(message, scim_type)
        A ValueError; scim_type is one of invalidSyntax, invalidPath, invalidValue,
        noTarget, mutability. The view answers 400 with that scimType.

    parse_patch(body) -> list[PatchOp]
        Validates the PatchOp envelope: an object with a non-empty "Operations" list (at
        most 1000), each an object with "op" (add/remove/replace in any case: Entra sends
        Add/Replace/Remove), optional "path" (a string) and "value" (required by add and
        replace, where null means remove; optional for remove). "schemas" should hold
        the PatchOp URN; a body without "schemas" is accepted. Anything else is
        invalidSyntax (a path that is not a string, too).

    PatchOp(op, path, value)          frozen; op is "add" | "remove" | "replace"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim.errors import ScimError
from scim.filter_syntax import FilterError, Node, parse_filter
from scim.schema import (
    PATCH_OP_SCHEMA,
)
from scim.values import parse_bool

MAX_OPERATIONS = 1000

# Every scim_type a PatchError carries.
SCIM_TYPES = frozenset({"invalidSyntax", "invalidPath", "invalidValue", "noTarget", "mutability"})


class PatchError(ValueError):
    """A PATCH the server refuses; the message is safe to show an IdP."""

    def __init__(self, message: str, scim_type: str) -> None:
        super().__init__(message)
        self.scim_type = scim_type


class UnknownAttribute(PatchError):
    # Raised for a name that is not an attribute at all, so that path-less values can
    # skip IdP extras while an explicit unknown `path` is still invalidPath.
    def __init__(self, message: str) -> None:
        super().__init__(message, "invalidPath")


@dataclass(frozen=True)
class PatchOp:
    op: str  # "add" | "remove" | "replace"
    path: str | None
    value: Any


def shown(value: Any) -> str:
    # Messages echo the IdP's input, never a whole 50,000-member list.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Envelope ---------------------------------------------------------------------------------


def parse_patch(body: Any) -> list[PatchOp]:
    """The operations of a PatchOp request; PatchError(invalidSyntax) if it is malformed."""
    if not isinstance(body, dict):
        raise PatchError("A PATCH body must be a PatchOp JSON object", "invalidSyntax")
    given = {str(k).lower(): v for k, v in body.items()}
    schemas = given.get("schemas")
    # Lenient about a missing "schemas", but a body that names other schemas only is
    # not a PatchOp (a PUT body sent with the wrong method, for example).
    if schemas is not None and (
        not isinstance(schemas, list)
        or PATCH_OP_SCHEMA.lower() not in {str(s).lower() for s in schemas}
    ):
        raise PatchError(f"schemas must contain {PATCH_OP_SCHEMA}", "invalidSyntax")
    if "operations" not in given:
        raise PatchError("A PatchOp needs an Operations list", "invalidSyntax")
    operations = given["operations"]
    if not isinstance(operations, list) or not operations:
        raise PatchError("Operations must be a non-empty list", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(
            f"At most {MAX_OPERATIONS} operations per request, got {len(operations)}",
            "invalidSyntax",
        )
    ops = []
    for n, raw in enumerate(operations, start=1):
        if not isinstance(raw, dict):
            raise PatchError(f"Operation {n} must be an object", "invalidSyntax")
        item = {str(k).lower(): v for k, v in raw.items()}
        op = item.get("op")
        if not isinstance(op, str) or op.strip().lower() not in ("add", "remove", "replace"):
            raise PatchError(
                f"Operation {n}: op must be add, remove or replace, got {shown(op)}",
                "invalidSyntax",
            )
        path = item.get("path")
        if path is not None and not isinstance(path, str):
            raise PatchError(f"Operation {n}: path must be a string", "invalidSyntax")
        if path is not None and not path.strip():
            path = None  # "path": "" is the resource itself, as if it were left out
        op = op.strip().lower()
        if op != "remove" and "value" not in item:
            # RFC 7644 §3.5.2.1/3: add and replace carry a value. Reading a missing one as
            # null would turn `replace members` without a value into "no members".
            raise PatchError(f"Operation {n}: {op} needs a value", "invalidSyntax")
        ops.append(PatchOp(op, path.strip() if path else None, item.get("value")))
    return ops


# Paths ------------------------------------------------------------------------------------

# attr, optional [filter] (greedy, so a `]` inside a quoted value is kept), optional .sub
PATH = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$",
    re.DOTALL,
)


def canon(*names: str) -> dict[str, str]:
    return {n.lower(): n for n in names}


def strip_urn(path: str, urns: tuple[str, ...]) -> tuple[str | None, str]:
    lower = path.lower()
    for urn in urns:
        if lower.startswith(urn.lower() + ":"):
            return urn, path[len(urn) + 1 :]
    return None, path


def path_filter(text: str, path: str) -> Node:
    try:
        return parse_filter(text)
    except FilterError as e:
        raise PatchError(f"Invalid filter in path {shown(path)}: {e}", "invalidPath") from None


# Values -----------------------------------------------------------------------------------


def bool_value(value: Any, label: str) -> bool:
    # The one boolean rule of every SCIM request (Entra sends "True"/"False" strings).
    try:
        return parse_bool(value, label)
    except ScimError as e:
        raise PatchError(e.detail, "invalidValue") from None


def string_value(value: Any, label: str) -> str:
    if isinstance(value, str):
        return value
    # A numeric employeeNumber or id from an IdP attribute mapping is still a string.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PatchError(f"{label} must be a string, got {shown(value)}", "invalidValue")
