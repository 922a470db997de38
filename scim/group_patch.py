"""SCIM PATCH of a Group (RFC 7644 §3.5.2), planned as set-based member changes. Pure Python.

GroupPatchPlan(attributes, member_ops)
    attributes: the final values of the attributes that changed: "displayName",
        "externalId" ("" when removed) and "id" when the IdP sent one (Okta puts the
        group's id in its rename); the engine does not know the group, so the view
        compares that id and answers mutability if it differs.
    member_ops: in request order, ("add", ids) | ("remove", ids) | ("replace", ids) |
        ("remove_all", []). Ids are non-empty strings, de-duplicated; whether they are
        users of the org is for the view to check.

plan_group_patch(ops) -> GroupPatchPlan
    Never materialises a group's members (a group may have 50,000): ops become
    set-based member changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scim.filter_syntax import Compare, Node, Or
from scim.patch import (
    PATH,
    PatchError,
    PatchOp,
    canon,
    path_filter,
    shown,
    string_value,
    strip_urn,
)
from scim.schema import (
    GROUP_SCHEMA,
)

# Groups -----------------------------------------------------------------------------------


@dataclass
class GroupPatchPlan:
    attributes: dict[str, Any] = field(default_factory=dict)
    member_ops: list[tuple[str, list[str]]] = field(default_factory=list)


_GROUP_ATTRIBUTES = canon("displayName", "externalId", "members", "id")


def _member_ids(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    ids: dict[str, None] = {}  # ordered and de-duplicated
    for item in items:
        if isinstance(item, dict):
            given = {str(k).lower(): v for k, v in item.items()}
            kind = given.get("type")
            if isinstance(kind, str) and kind.strip().lower() == "group":
                raise PatchError(
                    f"Nested groups are not supported: member {shown(given.get('value'))} "
                    "is a group, and the members of a group must be users",
                    "invalidValue",
                )
            item = given.get("value")
        # A bare id (SCIMReferenceCode's "string id 1") is accepted as well.
        if not isinstance(item, str) or not item.strip():
            raise PatchError(
                f"Each member needs a value, the user's id as a string; got {shown(item)}",
                "invalidValue",
            )
        ids[item.strip()] = None
    return list(ids)


def _filter_member_ids(node: Node, path: str) -> list[str]:
    """The ids of `value eq "a" or value eq "b" ...`; walked with a stack, because a
    long or-chain is a deep tree."""
    ids: dict[str, None] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Or):
            stack += [current.right, current.left]
        elif (
            isinstance(current, Compare)
            and current.op == "eq"
            and current.path.lower().rpartition(".")[2] == "value"
            and isinstance(current.value, str)
            and current.value.strip()
        ):
            ids[current.value.strip()] = None
        else:
            raise PatchError(
                f'Unsupported member filter in path {shown(path)}: only value eq "<id>" '
                "terms joined by or are supported",
                "invalidPath",
            )
    return list(ids)


def _plan(plan: GroupPatchPlan, attr: str, op: str, value: Any) -> None:
    if attr == "displayName":
        if op == "remove" or value is None:
            raise PatchError("displayName is required and cannot be removed", "mutability")
        if not isinstance(value, str) or not value.strip():
            raise PatchError(
                f"displayName must be a non-empty string, got {shown(value)}", "invalidValue"
            )
        plan.attributes["displayName"] = value
    elif attr == "externalId":
        removed = op == "remove" or value is None
        plan.attributes["externalId"] = "" if removed else string_value(value, "externalId")
    elif attr == "id":
        if op == "remove" or value is None:
            raise PatchError("id is read-only", "mutability")
        plan.attributes["id"] = string_value(value, "id")
    elif op == "remove":
        if value is None:
            plan.member_ops.append(("remove_all", []))
        else:
            # Entra's default client: `Remove members` with a value list removes only
            # those members, not all of them as an RFC-literal reading would.
            ids = _member_ids(value)
            if ids:
                plan.member_ops.append(("remove", ids))
    elif op == "replace":
        plan.member_ops.append(("replace", _member_ids(value)))
    else:
        ids = _member_ids(value)
        if ids:
            plan.member_ops.append(("add", ids))


def plan_group_patch(ops: list[PatchOp]) -> GroupPatchPlan:
    """The attribute changes and ordered member changes a Group PATCH asks for."""
    plan = GroupPatchPlan()
    for n, op in enumerate(ops, start=1):
        try:
            _plan_group_op(plan, op)
        except PatchError as e:
            raise PatchError(f"Operation {n} ({op.op}): {e}", e.scim_type) from None
    return plan


def _plan_group_op(plan: GroupPatchPlan, op: PatchOp) -> None:
    if op.path is None:
        if op.op == "remove":
            raise PatchError("A remove operation needs a path", "noTarget")
        if not isinstance(op.value, dict):
            raise PatchError(
                f"An {op.op} without a path needs an object of attributes, got {shown(op.value)}",
                "invalidValue",
            )
        for key, value in op.value.items():
            _, name = strip_urn(str(key), (GROUP_SCHEMA,))
            attr = _GROUP_ATTRIBUTES.get(name.lower())
            # Anything else (schemas, meta, Microsoft's extra schema) is ignored.
            if attr is not None:
                _plan(plan, attr, op.op, value)
        return
    _, rest = strip_urn(op.path, (GROUP_SCHEMA,))
    m = PATH.match(rest)
    if m is None:
        raise PatchError(f"Invalid path {shown(op.path)}", "invalidPath")
    attr = _GROUP_ATTRIBUTES.get(m.group("attr").lower())
    if attr is None:
        raise PatchError(f"Unknown attribute in path {shown(op.path)}", "invalidPath")
    if m.group("sub") is not None:
        raise PatchError(
            f"Unsupported path {shown(op.path)}: sub-attributes of {attr} cannot be patched",
            "invalidPath",
        )
    if m.group("filter") is not None:
        if attr != "members":
            raise PatchError(
                f"{attr} is not a multi-valued attribute: path {shown(op.path)} cannot filter it",
                "invalidPath",
            )
        if op.op != "remove":
            raise PatchError(
                f"Unsupported path {shown(op.path)}: a member filter is only supported in remove",
                "invalidPath",
            )
        ids = _filter_member_ids(path_filter(m.group("filter"), op.path), op.path)
        plan.member_ops.append(("remove", ids))
        return
    _plan(plan, attr, op.op, op.value)
