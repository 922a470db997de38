"""SCIM PATCH (RFC 7644 §3.5.2) in every shape Okta and Entra ID send. Pure Python.

    parse_patch(body) -> list[PatchOp]       the PatchOp envelope, validated
    apply_user_patch(resource, ops) -> dict  a NEW User resource with the ops applied; the
                                             view validates and saves it like a PUT, in one
                                             transaction, so a PATCH is all-or-nothing
    plan_group_patch(ops) -> GroupPatchPlan  attribute changes plus ordered, set-based member
                                             changes: a group's members are never loaded

Errors are PatchError(message, scim_type) with scim_type one of invalidSyntax,
invalidPath, invalidValue, noTarget, mutability.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from scim.filters import And, Compare, FilterError, Node, Or, matches, parse_filter

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_OPERATIONS = 1000


class PatchError(ValueError):
    def __init__(self, message: str, scim_type: str) -> None:
        super().__init__(message)
        self.scim_type = scim_type


@dataclass(frozen=True)
class PatchOp:
    op: str  # add | remove | replace
    path: str | None
    value: Any


def parse_patch(body: Any) -> list[PatchOp]:
    """The operations of a PatchOp request; PatchError(invalidSyntax) if malformed."""
    if not isinstance(body, dict):
        raise PatchError("A PATCH body must be a PatchOp JSON object", "invalidSyntax")
    given = {str(k).lower(): v for k, v in body.items()}
    schemas = given.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_OP_SCHEMA not in schemas):
        raise PatchError(f"schemas must contain {PATCH_OP_SCHEMA}", "invalidSyntax")
    operations = given.get("operations")
    if not isinstance(operations, list) or not operations:
        raise PatchError("Operations must be a non-empty list", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"At most {MAX_OPERATIONS} operations per request", "invalidSyntax")
    ops = []
    for n, raw in enumerate(operations, start=1):
        if not isinstance(raw, dict):
            raise PatchError(f"Operation {n} must be an object", "invalidSyntax")
        item = {str(k).lower(): v for k, v in raw.items()}
        op = item.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "remove", "replace"):
            raise PatchError(f"Operation {n}: op must be add, remove or replace", "invalidSyntax")
        path = item.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise PatchError(f"Operation {n}: path must be a non-empty string", "invalidPath")
        ops.append(PatchOp(op.lower(), path.strip() if path else None, item.get("value")))
    return ops


# Users ----------------------------------------------------------------------------------

_CORE = {
    k.lower(): k
    for k in (
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "emails",
        "phoneNumbers",
        "addresses",
        "externalId",
    )
}
_ENTERPRISE = {
    k.lower(): k
    for k in ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
}
_NAME_SUBS = {
    k.lower(): k
    for k in (
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    )
}
_MULTI_SUBS = {
    k.lower(): k
    for k in (
        "value",
        "type",
        "primary",
        "display",
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
    )
}
_MULTI_VALUED = {"emails", "phoneNumbers", "addresses"}
# Accepted and dropped: never stored (password) or managed elsewhere (groups).
_IGNORED = {"password", "groups", "roles", "entitlements", "ims", "photos", "x509certificates"}
_PATH = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$",
    re.DOTALL,
)


@dataclass(frozen=True)
class _Target:
    enterprise: bool
    attr: str  # canonical name
    filter: Node | None = None
    sub: str | None = None


def _split_urn(path: str, core_urn: str) -> tuple[bool, str]:
    lower = path.lower()
    if lower.startswith(ENTERPRISE_URN.lower() + ":"):
        return True, path[len(ENTERPRISE_URN) + 1 :]
    if lower.startswith(core_urn.lower() + ":"):
        return False, path[len(core_urn) + 1 :]
    return False, path


def _user_target(path: str) -> _Target | None:
    """The attribute a path names; None for attributes that are accepted and ignored."""
    enterprise, rest = _split_urn(path, USER_URN)
    m = _PATH.match(rest)
    if m is None:
        raise PatchError(f"Invalid path {path!r}", "invalidPath")
    attr, sub = m.group("attr").lower(), m.group("sub")
    if attr in _IGNORED and not enterprise:
        return None
    names = _ENTERPRISE if enterprise else _CORE
    if attr not in names and not enterprise and attr in _ENTERPRISE:
        # A bare enterprise attribute (`department`) is unambiguous.
        enterprise, names = True, _ENTERPRISE
    if attr not in names:
        raise PatchError(f"Unknown attribute in path {path!r}", "invalidPath")
    canonical = names[attr]
    node = None
    if m.group("filter") is not None:
        if canonical not in _MULTI_VALUED:
            raise PatchError(f"{canonical} is not multi-valued: it takes no filter", "invalidPath")
        try:
            node = parse_filter(m.group("filter"))
        except FilterError as e:
            raise PatchError(f"Invalid filter in path {path!r}: {e}", "invalidPath") from None
    sub_name = None
    if sub is not None:
        subs = _NAME_SUBS if canonical == "name" else _MULTI_SUBS
        if canonical == "manager":
            subs = {"value": "value", "displayname": "displayName", "$ref": "$ref"}
        if canonical not in _MULTI_VALUED | {"name", "manager"} or sub.lower() not in subs:
            raise PatchError(f"Unknown sub-attribute in path {path!r}", "invalidPath")
        sub_name = subs[sub.lower()]
    return _Target(enterprise, canonical, node, sub_name)


def _bool(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise PatchError(f"{label} must be a boolean, got {value!r}", "invalidValue")


def _scalar(value: Any, label: str) -> Any:
    if isinstance(value, dict | list):
        raise PatchError(
            f"{label} takes a single value, not {type(value).__name__}", "invalidValue"
        )
    return value


def _canonical_item(item: Any, label: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise PatchError(f"Each value of {label} must be an object", "invalidValue")
    out = {}
    for k, v in item.items():
        key = _MULTI_SUBS.get(str(k).lower(), str(k))
        out[key] = _bool(v, f"{label}.primary") if key == "primary" else v
    return out


def _find(d: dict[str, Any], key: str) -> str | None:
    return next((k for k in d if k.lower() == key.lower()), None)


def _manager(value: Any) -> dict[str, Any] | None:
    # Entra sends a bare id, {"value": id} or [{"$ref": ..., "value": id}].
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        key = _find(value, "value")
        value = value[key] if key else None
    if value in (None, ""):
        return None
    if not isinstance(value, str | int):
        raise PatchError(f"manager must be a user id, got {value!r}", "invalidValue")
    return {"value": str(value)}


def _seed_from_filter(node: Node) -> dict[str, Any]:
    """The element an `add`/`replace` through an unmatched filter creates: the filter's
    `eq` terms (Entra replaces emails[type eq "work"].value on users without one)."""
    if isinstance(node, Compare) and node.op == "eq":
        return {_MULTI_SUBS.get(node.path.lower(), node.path): node.value}
    if isinstance(node, And):
        return {**_seed_from_filter(node.left), **_seed_from_filter(node.right)}
    raise PatchError("No value matches the filter, and it is not a plain eq filter", "noTarget")


def _apply_multi(container: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    key = _find(container, t.attr) or t.attr
    items: list[dict[str, Any]] = [dict(i) for i in container.get(key) or [] if isinstance(i, dict)]
    if t.filter is not None:
        hit = [n for n, i in enumerate(items) if matches(t.filter, i)]
        if op == "remove":
            if t.sub is None:
                items = [i for n, i in enumerate(items) if n not in hit]
            else:
                for n in hit:
                    sub_key = _find(items[n], t.sub)
                    if sub_key:
                        del items[n][sub_key]
        else:
            if not hit:
                items.append(_seed_from_filter(t.filter))
                hit = [len(items) - 1]
            for n in hit:
                if t.sub is not None:
                    new = _bool(value, f"{t.attr}.primary") if t.sub == "primary" else value
                    items[n][_find(items[n], t.sub) or t.sub] = new
                elif op == "replace":
                    items[n] = _canonical_item(value, t.attr)
                else:
                    items[n].update(_canonical_item(value, t.attr))
        container[key] = items
        return
    if t.sub is not None:
        # `emails.value` without a filter: every value of the attribute.
        for item in items:
            if op == "remove":
                sub_key = _find(item, t.sub)
                if sub_key:
                    del item[sub_key]
            else:
                item[_find(item, t.sub) or t.sub] = value
        container[key] = items
        return
    if op == "remove":
        container.pop(key, None)
        return
    new_items = [
        _canonical_item(v, t.attr) for v in (value if isinstance(value, list) else [value])
    ]
    if op == "replace":
        container[key] = new_items
    else:
        container[key] = items + [i for i in new_items if i not in items]


def _apply_target(doc: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    if op != "remove" and value is None and t.filter is None:
        op = "remove"  # "value": null clears the attribute
    if t.enterprise:
        ext_key = _find(doc, ENTERPRISE_URN) or ENTERPRISE_URN
        container = doc.setdefault(ext_key, {})
        if not isinstance(container, dict):
            raise PatchError(f"{ENTERPRISE_URN} must be an object", "invalidValue")
    else:
        container = doc
    if t.attr in _MULTI_VALUED:
        _apply_multi(container, t, op, value)
        return
    key = _find(container, t.attr) or t.attr
    if t.attr == "name":
        name = dict(container.get(key) or {})
        if t.sub is not None:
            if op == "remove":
                name.pop(_find(name, t.sub) or t.sub, None)
            else:
                name[_find(name, t.sub) or t.sub] = _scalar(value, f"name.{t.sub}")
        elif op == "remove":
            name = {}
        else:
            if not isinstance(value, dict):
                raise PatchError("name must be an object", "invalidValue")
            # Sub-attributes not in the value are left as they are (RFC 7644 §3.5.2.3).
            for k, v in value.items():
                sub = _NAME_SUBS.get(str(k).lower())
                if sub is None:
                    raise PatchError(f"Unknown sub-attribute name.{k}", "invalidPath")
                name[_find(name, sub) or sub] = _scalar(v, f"name.{sub}")
        container[key] = name
        return
    if t.attr == "manager":
        if op == "remove":
            container.pop(key, None)
        else:
            container[key] = _manager(value)
        return
    if op == "remove":
        if t.attr == "userName":
            raise PatchError("userName is required and cannot be removed", "mutability")
        if t.attr == "active":
            raise PatchError(
                "active cannot be removed: replace it with false to deactivate the user",
                "mutability",
            )
        container.pop(key, None)
        return
    if t.attr == "active":
        value = _bool(value, "active")
    container[key] = _scalar(value, t.attr)


def apply_user_patch(resource: dict[str, Any], ops: list[PatchOp]) -> dict[str, Any]:
    """Apply PATCH operations to a SCIM User resource; returns a new dict."""
    doc = copy.deepcopy(resource)
    for op in ops:
        if op.path is not None and op.path.lower() == ENTERPRISE_URN.lower():
            # The whole extension: remove it, or set the attributes its value holds.
            if op.op == "remove" or op.value is None:
                doc.pop(_find(doc, ENTERPRISE_URN) or ENTERPRISE_URN, None)
                continue
            op = PatchOp(op.op, None, {ENTERPRISE_URN: op.value})
        if op.path is not None:
            target = _user_target(op.path)
            if target is not None:
                _apply_target(doc, target, op.op, op.value)
            continue
        if op.op == "remove":
            raise PatchError("A remove operation needs a path", "noTarget")
        if not isinstance(op.value, dict):
            raise PatchError("An operation without a path needs an object value", "invalidValue")
        for key, value in op.value.items():
            lower = str(key).lower()
            if lower == ENTERPRISE_URN.lower():
                if not isinstance(value, dict):
                    raise PatchError(f"{ENTERPRISE_URN} must be an object", "invalidValue")
                for sub_key, sub_value in value.items():
                    attr = _ENTERPRISE.get(str(sub_key).lower())
                    if attr is not None:
                        _apply_target(doc, _Target(True, attr), op.op, sub_value)
                continue
            if lower in ("schemas", "meta"):
                continue
            if lower == "id":
                if str(value) != str(doc.get("id")):
                    raise PatchError("id is read-only", "mutability")
                continue
            try:
                target = _user_target(str(key))
            except PatchError:
                continue  # unknown keys in a path-less value are IdP extras: ignored
            if target is not None:
                _apply_target(doc, target, op.op, value)
    return doc


# Groups -----------------------------------------------------------------------------------


@dataclass
class GroupPatchPlan:
    attributes: dict[str, Any] = field(default_factory=dict)
    member_ops: list[tuple[str, list[str]]] = field(default_factory=list)


def _member_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    ids = []
    for item in items:
        if isinstance(item, dict):
            given = {str(k).lower(): v for k, v in item.items()}
            if str(given.get("type") or "User").lower() == "group":
                raise PatchError(
                    f"Nested groups are not supported: {given.get('value')} is a group, "
                    "and a group's members must be users",
                    "invalidValue",
                )
            item = given.get("value")
        if not isinstance(item, str) or not item.strip():
            raise PatchError("Each member needs a value: a user id", "invalidValue")
        ids.append(item.strip())
    return ids


def _filter_member_ids(node: Node) -> list[str]:
    if isinstance(node, Compare) and node.path.lower() == "value" and node.op == "eq":
        if not isinstance(node.value, str):
            raise PatchError("members[value eq ...] needs a user id", "invalidPath")
        return [node.value]
    if isinstance(node, Or):
        return _filter_member_ids(node.left) + _filter_member_ids(node.right)
    raise PatchError(
        'Only members[value eq "id"] filters (joined by or) are supported', "invalidPath"
    )


def _group_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PatchError("displayName must be a non-empty string", "invalidValue")
    return value


def _plan_attribute(plan: GroupPatchPlan, attr: str, op: str, value: Any) -> None:
    if attr == "displayname":
        if op == "remove":
            raise PatchError("displayName is required and cannot be removed", "mutability")
        plan.attributes["displayName"] = _group_name(value)
    elif attr == "externalid":
        plan.attributes["externalId"] = "" if op == "remove" or value is None else str(value)
    elif attr == "members":
        if op == "remove":
            plan.member_ops.append(("remove", _member_ids(value)) if value else ("remove_all", []))
        else:
            plan.member_ops.append((op, _member_ids(value)))
    else:
        raise PatchError(f"Unknown attribute {attr!r}", "invalidPath")


def plan_group_patch(ops: list[PatchOp]) -> GroupPatchPlan:
    """Turn PATCH operations on a Group into attribute changes and member operations."""
    plan = GroupPatchPlan()
    for op in ops:
        if op.path is None:
            if op.op == "remove":
                raise PatchError("A remove operation needs a path", "noTarget")
            if not isinstance(op.value, dict):
                raise PatchError(
                    "An operation without a path needs an object value", "invalidValue"
                )
            for key, value in op.value.items():
                lower = str(key).lower()
                if lower == "id":
                    plan.attributes["id"] = value
                elif lower in ("displayname", "externalid", "members"):
                    _plan_attribute(plan, lower, op.op, value)
            continue
        _, rest = _split_urn(op.path, GROUP_URN)
        m = _PATH.match(rest)
        if m is None:
            raise PatchError(f"Invalid path {op.path!r}", "invalidPath")
        attr = m.group("attr").lower()
        if m.group("filter") is not None:
            if attr != "members" or op.op != "remove":
                raise PatchError(f"Unsupported path {op.path!r}", "invalidPath")
            try:
                node = parse_filter(m.group("filter"))
            except FilterError as e:
                raise PatchError(
                    f"Invalid filter in path {op.path!r}: {e}", "invalidPath"
                ) from None
            plan.member_ops.append(("remove", _filter_member_ids(node)))
            continue
        if m.group("sub") is not None:
            raise PatchError(f"Unsupported path {op.path!r}", "invalidPath")
        _plan_attribute(plan, attr, op.op, op.value)
    return plan
