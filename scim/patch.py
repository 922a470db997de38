"""SCIM PATCH (RFC 7644 §3.5.2) in every shape Okta and Entra ID send. Pure Python, no database.

Public API (the SCIM views depend on exactly this):

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

    apply_user_patch(resource, ops) -> dict
        Applies the ops, in order, to the full SCIM User dict (core attributes at the top,
        enterprise attributes under ENTERPRISE_SCHEMA) and returns a NEW dict; the input is
        never mutated. The view validates and saves the result like a PUT, in one
        transaction, so an error in any op means nothing is saved.

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

Lenient where the IdPs need it (tests/scim/test_okta_flows.py and test_entra_flows.py
replay their requests): string booleans ("False"), a path-less value with dotted and
URN-qualified keys, a value filter that matches nothing
creates the element (Entra replaces `emails[type eq "work"].value` on users without one),
removing something that is not there is a no-op (IdPs retry), `"value": null` in add or
replace removes, unknown keys and read-only extras (meta, schemas, groups, an `id` equal
to the resource's) in path-less values are ignored, password is dropped, Entra's
`Remove members` with a value list removes only those members. Strict where a mistake
would silently lose data: an explicit unknown path is invalidPath; a wrong type is
invalidValue naming the attribute.

Unsupported: nested groups (a member of type "Group" is invalidValue); member filters
other than `value eq "id"` joined by `or`; attributes this server does not store (ims,
photos, entitlements, roles, x509Certificates) are accepted and ignored, not applied.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from scim.errors import ScimError
from scim.filter_syntax import And, Compare, FilterError, Node, Or, matches, parse_filter
from scim.schema import (
    ENTERPRISE_SCHEMA,
    ENTERPRISE_USER,
    GROUP_SCHEMA,
    NAME,
    PATCH_OP_SCHEMA,
    USER_DROPPED,
    USER_LISTS,
    USER_READ_ONLY,
    USER_SCHEMA,
    strings_in,
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


class _UnknownAttribute(PatchError):
    # Raised for a name that is not an attribute at all, so that path-less values can
    # skip IdP extras while an explicit unknown `path` is still invalidPath.
    def __init__(self, message: str) -> None:
        super().__init__(message, "invalidPath")


@dataclass(frozen=True)
class PatchOp:
    op: str  # "add" | "remove" | "replace"
    path: str | None
    value: Any


def _show(value: Any) -> str:
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
                f"Operation {n}: op must be add, remove or replace, got {_show(op)}",
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
_PATH = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$",
    re.DOTALL,
)


def _canon(*names: str) -> dict[str, str]:
    return {n.lower(): n for n in names}


_STRINGS = _canon("userName", *(a.name for a in strings_in("")))
_MULTI_VALUED = _canon(*USER_LISTS)
# Known attributes that are accepted and dropped: never stored (password) or not kept by
# this server. Okta sends a random password on every create; Entra sends `roles: []`.
_DROPPED = _canon(*USER_DROPPED)
# Read-only: the server sets them. In a path-less value they are echoes and ignored.
_READ_ONLY = _canon(*USER_READ_ONLY, "schemas")
_CORE = {**_STRINGS, **_MULTI_VALUED, **_canon("name", "active")}
_ENTERPRISE_STRINGS = _canon(*(a.name for a in strings_in("enterprise")))
_ENTERPRISE = {**_ENTERPRISE_STRINGS, **_canon("manager")}

_NAME_SUBS = _canon(*(a.name for a in NAME.sub_attributes))
_MANAGER_SUBS = _canon(*(a.name for a in ENTERPRISE_USER.attribute("manager").sub_attributes))
_MULTI_SUBS: dict[str, dict[str, str]] = {
    name: _canon(*(sub.name for sub in a.sub_attributes)) for name, a in USER_LISTS.items()
}


@dataclass(frozen=True)
class _Target:
    attr: str  # canonical name; for kind "core"/"enterprise"
    kind: str  # "core" | "enterprise" | "dropped" | "readonly" | "extension"
    filter: Node | None = None
    sub: str | None = None


def _strip_urn(path: str, urns: tuple[str, ...]) -> tuple[str | None, str]:
    lower = path.lower()
    for urn in urns:
        if lower.startswith(urn.lower() + ":"):
            return urn, path[len(urn) + 1 :]
    return None, path


def _parse_filter(text: str, path: str) -> Node:
    try:
        return parse_filter(text)
    except FilterError as e:
        raise PatchError(f"Invalid filter in path {_show(path)}: {e}", "invalidPath") from None


def _user_target(path: str) -> _Target:
    """What a User path names. _UnknownAttribute for a name that is no attribute."""
    if path.lower() == ENTERPRISE_SCHEMA.lower():
        return _Target(ENTERPRISE_SCHEMA, "extension")
    urn, rest = _strip_urn(path, (ENTERPRISE_SCHEMA, USER_SCHEMA))
    m = _PATH.match(rest)
    if m is None:
        head = re.match(r"[A-Za-z$][\w$-]*", rest)
        if head is None or head.group().lower() not in {**_CORE, **_ENTERPRISE, **_DROPPED}:
            # Not even an attribute name: a key of another schema (Microsoft's ...).
            raise _UnknownAttribute(f"Unknown attribute in path {_show(path)}")
        raise PatchError(f"Invalid path {_show(path)}", "invalidPath")
    name, filter_text, sub = m.group("attr").lower(), m.group("filter"), m.group("sub")
    if urn is None and name not in _CORE and name in _ENTERPRISE:
        # A bare `manager` or `department` (Entra's tutorial) is unambiguous.
        urn = ENTERPRISE_SCHEMA
    if urn == ENTERPRISE_SCHEMA:
        if name not in _ENTERPRISE:
            raise _UnknownAttribute(f"Unknown enterprise attribute in path {_show(path)}")
        attr, kind = _ENTERPRISE[name], "enterprise"
    elif name in _CORE:
        attr, kind = _CORE[name], "core"
    elif name in _DROPPED:
        return _Target(_DROPPED[name], "dropped")
    elif name in _READ_ONLY:
        if filter_text is not None or sub is not None:
            raise PatchError(f"{_READ_ONLY[name]} is read-only", "mutability")
        return _Target(_READ_ONLY[name], "readonly")
    else:
        raise _UnknownAttribute(f"Unknown attribute in path {_show(path)}")
    node = None
    if filter_text is not None:
        if attr not in _MULTI_SUBS:
            raise PatchError(
                f"{attr} is not a multi-valued attribute: path {_show(path)} cannot filter it",
                "invalidPath",
            )
        node = _parse_filter(filter_text, path)
    sub_name = None
    if sub is not None:
        subs = _MULTI_SUBS.get(attr) or {"name": _NAME_SUBS, "manager": _MANAGER_SUBS}.get(attr)
        if subs is None:
            raise PatchError(
                f"{attr} has no sub-attributes: path {_show(path)} is invalid", "invalidPath"
            )
        if sub.lower() not in subs:
            raise PatchError(f"Unknown sub-attribute {attr}.{sub} in path", "invalidPath")
        sub_name = subs[sub.lower()]
    return _Target(attr, kind, node, sub_name)


# Values -----------------------------------------------------------------------------------


def _bool(value: Any, label: str) -> bool:
    # The one boolean rule of every SCIM request (Entra sends "True"/"False" strings).
    try:
        return parse_bool(value, label)
    except ScimError as e:
        raise PatchError(e.detail, "invalidValue") from None


def _string(value: Any, label: str) -> str:
    if isinstance(value, str):
        return value
    # A numeric employeeNumber or id from an IdP attribute mapping is still a string.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PatchError(f"{label} must be a string, got {_show(value)}", "invalidValue")


def _find(d: dict[str, Any], key: str) -> str | None:
    # The key as the dict spells it: attribute names are case-insensitive (RFC 7643 §2.1).
    lower = key.lower()
    return next((k for k in d if str(k).lower() == lower), None)


def _set(d: dict[str, Any], key: str, value: Any) -> None:
    existing = _find(d, key)
    if existing is not None and existing != key:
        del d[existing]
    d[key] = value


def _pop(d: dict[str, Any], key: str) -> None:
    existing = _find(d, key)
    if existing is not None:
        del d[existing]


def _sub_value(attr: str, sub: str, value: Any) -> Any:
    label = f"{attr}.{sub}"
    return _bool(value, label) if sub == "primary" else _string(value, label)


def _element(value: Any, attr: str) -> dict[str, Any]:
    """One value of a multi-valued attribute, with canonical sub-attribute names."""
    if not isinstance(value, dict):
        raise PatchError(
            f"Each value of {attr} must be an object, got {_show(value)}", "invalidValue"
        )
    subs = _MULTI_SUBS[attr]
    out: dict[str, Any] = {}
    for k, v in value.items():
        sub = subs.get(str(k).lower())
        if v is None:
            continue  # null means absent
        if sub is None:
            out[str(k)] = v  # unknown sub-attributes are left for the view to drop
        else:
            out[sub] = _sub_value(attr, sub, v)
    return out


def _elements(value: Any, attr: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = [value]  # one value given without its list
    if not isinstance(value, list):
        raise PatchError(f"{attr} must be a list of objects, got {_show(value)}", "invalidValue")
    return [_element(v, attr) for v in value]


def _seed(node: Node, attr: str) -> dict[str, Any] | None:
    """The sub-attributes a filter pins with `eq` (joined by `and`); None if it pins
    something else (co, or, not ...), so no element can be created from it."""
    if isinstance(node, Compare) and node.op == "eq" and node.value is not None:
        sub = _MULTI_SUBS[attr].get(node.path.lower().rpartition(".")[2])
        if sub is None:
            return None
        return {sub: _sub_value(attr, sub, node.value)}
    if isinstance(node, And):
        left, right = _seed(node.left, attr), _seed(node.right, attr)
        return None if left is None or right is None else {**left, **right}
    return None


def _one_primary(items: list[dict[str, Any]], touched: set[int]) -> None:
    # RFC 7643 §2.4: "primary" true appears at most once; the value just set wins.
    if any(items[n].get("primary") is True for n in touched):
        for n, item in enumerate(items):
            if n not in touched and item.get("primary") is True:
                item["primary"] = False


def _apply_multi(container: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    key = _find(container, t.attr) or t.attr
    current = container.get(key)
    items: list[dict[str, Any]] = (
        [dict(i) for i in current if isinstance(i, dict)] if isinstance(current, list) else []
    )
    touched: set[int] = set()
    if t.filter is not None:
        hits = [n for n, item in enumerate(items) if matches(t.filter, item)]
        if op == "remove":
            if t.sub is None:
                items = [item for n, item in enumerate(items) if n not in hits]
            else:
                for n in hits:
                    _pop(items[n], t.sub)
        else:
            seed = _seed(t.filter, t.attr)
            if not hits:
                if seed is None:
                    raise PatchError(
                        f"No value of {t.attr} matches the filter, and a filter that is not "
                        "`sub eq value` (joined by and) cannot create one",
                        "noTarget",
                    )
                items.append(dict(seed))
                hits = [len(items) - 1]
            for n in hits:
                if t.sub is not None:
                    items[n][t.sub] = _sub_value(t.attr, t.sub, value)
                elif op == "replace":
                    # The matched value is replaced, but keeps what the filter pinned,
                    # so it still is the `type eq "work"` value the IdP addressed.
                    items[n] = {**(seed or {}), **_element(value, t.attr)}
                else:
                    items[n].update(_element(value, t.attr))
            touched.update(hits)
    elif t.sub is not None:
        # `emails.value` without a filter addresses every value of the attribute.
        if op == "remove":
            for item in items:
                _pop(item, t.sub)
        else:
            if not items:
                items.append({})
            for n, item in enumerate(items):
                item[t.sub] = _sub_value(t.attr, t.sub, value)
                touched.add(n)
    elif op == "remove":
        _pop(container, t.attr)
        return
    else:
        new = _elements(value, t.attr)
        if op == "replace":
            items = new
            touched = set(range(len(new)))
        else:
            # add appends; a value already there is not added twice (IdPs retry).
            for element in new:
                if element not in items:
                    items.append(element)
                    touched.add(len(items) - 1)
    if current is None and not items:
        return  # nothing was there and nothing was added: leave the attribute absent
    _one_primary(items, touched)
    container[key] = items


def _manager(value: Any) -> dict[str, Any] | None:
    """{"value": id} from Entra's bare id, {"value": id} or [{"$ref": ..., "value": id}];
    None when the value clears the manager."""
    if isinstance(value, list):
        if len(value) > 1:
            raise PatchError("manager takes one value, got a list of several", "invalidValue")
        value = value[0] if value else None
    if isinstance(value, dict):
        key = _find(value, "value")
        if key is None:
            raise PatchError(
                f"manager needs a value (the manager's user id), got {_show(value)}",
                "invalidValue",
            )
        value = value[key]
    if value is None or value == "":
        return None
    return {"value": _string(value, "manager")}


def _apply_target(doc: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    if op != "remove" and value is None:
        op = "remove"  # "value": null in add/replace clears the attribute
    if t.kind == "dropped":
        return
    if t.kind == "readonly":
        if t.attr == "id" and op != "remove" and str(value) == str(doc.get("id")):
            return  # Okta echoes the resource's own id
        if t.attr == "schemas":
            return  # the server derives schemas from the attributes present
        raise PatchError(f"{t.attr} is read-only", "mutability")
    if t.kind == "extension":
        _apply_extension(doc, op, value)
        return
    if t.kind == "enterprise":
        ext_key = _find(doc, ENTERPRISE_SCHEMA) or ENTERPRISE_SCHEMA
        ext = doc.get(ext_key)
        if ext is None:
            if op == "remove":
                return  # nothing to remove
            ext = {}
        if not isinstance(ext, dict):
            raise PatchError(f"{ENTERPRISE_SCHEMA} must be an object", "invalidValue")
        container = dict(ext)
        doc[ext_key] = container
        schemas = doc.get("schemas")
        if isinstance(schemas, list) and ENTERPRISE_SCHEMA not in schemas and op != "remove":
            doc["schemas"] = [*schemas, ENTERPRISE_SCHEMA]
    else:
        container = doc
    if t.attr in _MULTI_SUBS:
        _apply_multi(container, t, op, value)
    elif t.attr == "name":
        _apply_name(container, t, op, value)
    elif t.attr == "manager":
        if t.sub in ("$ref", "displayName"):
            return  # derived from the manager's id by the server; only the id is stored
        new = None if op == "remove" else _manager(value)
        if new is None:
            _pop(container, "manager")
        else:
            _set(container, "manager", new)
    elif op == "remove":
        if t.attr == "userName":
            raise PatchError("userName is required and cannot be removed", "mutability")
        if t.attr == "active":
            # The saved user would take the default, active, and so be reactivated.
            raise PatchError(
                "active cannot be removed: replace it with false to deactivate the user",
                "mutability",
            )
        _pop(container, t.attr)
    elif t.attr == "active":
        _set(container, t.attr, _bool(value, "active"))
    else:
        _set(container, t.attr, _string(value, t.attr))


def _apply_name(container: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    current = container.get(_find(container, "name") or "name")
    name = dict(current) if isinstance(current, dict) else {}
    if t.sub is not None:
        if op == "remove":
            _pop(name, t.sub)
        else:
            _set(name, t.sub, _string(value, f"name.{t.sub}"))
    elif op == "remove":
        _pop(container, "name")
        return
    else:
        if not isinstance(value, dict):
            raise PatchError(
                f"name must be an object of sub-attributes, got {_show(value)}", "invalidValue"
            )
        # RFC 7644 §3.5.2.3: sub-attributes not in the value are left as they are.
        for k, v in value.items():
            sub = _NAME_SUBS.get(str(k).lower())
            if sub is None:
                raise PatchError(f"name has no sub-attribute {_show(k)}", "invalidValue")
            if v is None:
                _pop(name, sub)
            else:
                _set(name, sub, _string(v, f"name.{sub}"))
    _set(container, "name", name)


def _apply_extension(doc: dict[str, Any], op: str, value: Any) -> None:
    """The whole enterprise extension as the target: remove it, or apply its keys."""
    if op == "remove":
        _pop(doc, ENTERPRISE_SCHEMA)
        return
    if not isinstance(value, dict):
        raise PatchError(
            f"{ENTERPRISE_SCHEMA} must be an object, got {_show(value)}", "invalidValue"
        )
    for key, sub_value in value.items():
        # Its keys are enterprise attributes; unknown ones are IdP extras, ignored.
        _apply_key(doc, f"{ENTERPRISE_SCHEMA}:{key}", op, sub_value, lenient=True)


def _apply_key(doc: dict[str, Any], key: str, op: str, value: Any, *, lenient: bool) -> None:
    try:
        target = _user_target(key)
    except _UnknownAttribute:
        if lenient:
            return  # an IdP extra in a path-less value (Microsoft's own schemas ...)
        raise
    _apply_target(doc, target, op, value)


def _apply_user_op(doc: dict[str, Any], op: PatchOp) -> None:
    if op.path is not None:
        _apply_key(doc, op.path, op.op, op.value, lenient=False)
        return
    if op.op == "remove":
        raise PatchError("A remove operation needs a path", "noTarget")
    if not isinstance(op.value, dict):
        raise PatchError(
            f"An {op.op} without a path needs an object of attributes, got {_show(op.value)}",
            "invalidValue",
        )
    for key, value in op.value.items():
        key = str(key)
        lower = key.lower()
        if lower == USER_SCHEMA.lower():
            # Attributes nested under the core schema's URN are core attributes.
            if not isinstance(value, dict):
                raise PatchError(f"{USER_SCHEMA} must be an object", "invalidValue")
            for core_key, core_value in value.items():
                _apply_key(doc, str(core_key), op.op, core_value, lenient=True)
        elif lower in ("meta", "schemas", "groups"):
            continue  # echoes of read-only data (Okta and Entra send them back)
        else:
            _apply_key(doc, key, op.op, value, lenient=True)


def apply_user_patch(resource: dict[str, Any], ops: list[PatchOp]) -> dict[str, Any]:
    """The User resource with the ops applied in order, as a new dict.

    Raises PatchError at the first op that fails; the caller then saves nothing."""
    doc = copy.deepcopy(resource)
    for n, op in enumerate(ops, start=1):
        try:
            _apply_user_op(doc, op)
        except PatchError as e:
            raise PatchError(f"Operation {n} ({op.op}): {e}", e.scim_type) from None
    return doc


# Groups -----------------------------------------------------------------------------------


@dataclass
class GroupPatchPlan:
    attributes: dict[str, Any] = field(default_factory=dict)
    member_ops: list[tuple[str, list[str]]] = field(default_factory=list)


_GROUP_ATTRIBUTES = _canon("displayName", "externalId", "members", "id")


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
                    f"Nested groups are not supported: member {_show(given.get('value'))} "
                    "is a group, and the members of a group must be users",
                    "invalidValue",
                )
            item = given.get("value")
        # A bare id (SCIMReferenceCode's "string id 1") is accepted as well.
        if not isinstance(item, str) or not item.strip():
            raise PatchError(
                f"Each member needs a value, the user's id as a string; got {_show(item)}",
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
                f'Unsupported member filter in path {_show(path)}: only value eq "<id>" '
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
                f"displayName must be a non-empty string, got {_show(value)}", "invalidValue"
            )
        plan.attributes["displayName"] = value
    elif attr == "externalId":
        removed = op == "remove" or value is None
        plan.attributes["externalId"] = "" if removed else _string(value, "externalId")
    elif attr == "id":
        if op == "remove" or value is None:
            raise PatchError("id is read-only", "mutability")
        plan.attributes["id"] = _string(value, "id")
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
                f"An {op.op} without a path needs an object of attributes, got {_show(op.value)}",
                "invalidValue",
            )
        for key, value in op.value.items():
            _, name = _strip_urn(str(key), (GROUP_SCHEMA,))
            attr = _GROUP_ATTRIBUTES.get(name.lower())
            # Anything else (schemas, meta, Microsoft's extra schema) is ignored.
            if attr is not None:
                _plan(plan, attr, op.op, value)
        return
    _, rest = _strip_urn(op.path, (GROUP_SCHEMA,))
    m = _PATH.match(rest)
    if m is None:
        raise PatchError(f"Invalid path {_show(op.path)}", "invalidPath")
    attr = _GROUP_ATTRIBUTES.get(m.group("attr").lower())
    if attr is None:
        raise PatchError(f"Unknown attribute in path {_show(op.path)}", "invalidPath")
    if m.group("sub") is not None:
        raise PatchError(
            f"Unsupported path {_show(op.path)}: sub-attributes of {attr} cannot be patched",
            "invalidPath",
        )
    if m.group("filter") is not None:
        if attr != "members":
            raise PatchError(
                f"{attr} is not a multi-valued attribute: path {_show(op.path)} cannot filter it",
                "invalidPath",
            )
        if op.op != "remove":
            raise PatchError(
                f"Unsupported path {_show(op.path)}: a member filter is only supported in remove",
                "invalidPath",
            )
        ids = _filter_member_ids(_parse_filter(m.group("filter"), op.path), op.path)
        plan.member_ops.append(("remove", ids))
        return
    _plan(plan, attr, op.op, op.value)
