"""SCIM PATCH of a User (RFC 7644 §3.5.2) in every shape Okta and Entra ID send. Pure Python.

    apply_user_patch(resource, ops) -> dict
        Applies the ops, in order, to the full SCIM User dict (core attributes at the top,
        enterprise attributes under ENTERPRISE_SCHEMA) and returns a NEW dict; the input is
        never mutated. The view validates and saves the result like a PUT, in one
        transaction, so an error in any op means nothing is saved.

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

Attributes this server does not store (ims, photos, entitlements, roles,
x509Certificates) are accepted and ignored, not applied.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from scim.filter_syntax import And, Compare, Node, matches
from scim.patch import (
    PATH,
    PatchError,
    PatchOp,
    UnknownAttribute,
    bool_value,
    canon,
    path_filter,
    shown,
    string_value,
    strip_urn,
)
from scim.schema import (
    ENTERPRISE_SCHEMA,
    ENTERPRISE_USER,
    NAME,
    USER_DROPPED,
    USER_LISTS,
    USER_READ_ONLY,
    USER_SCHEMA,
    strings_in,
)

_STRINGS = canon("userName", *(a.name for a in strings_in("")))
_MULTI_VALUED = canon(*USER_LISTS)
# Known attributes that are accepted and dropped: never stored (password) or not kept by
# this server. Okta sends a random password on every create; Entra sends `roles: []`.
_DROPPED = canon(*USER_DROPPED)
# Read-only: the server sets them. In a path-less value they are echoes and ignored.
_READ_ONLY = canon(*USER_READ_ONLY, "schemas")
_CORE = {**_STRINGS, **_MULTI_VALUED, **canon("name", "active")}
_ENTERPRISE_STRINGS = canon(*(a.name for a in strings_in("enterprise")))
_ENTERPRISE = {**_ENTERPRISE_STRINGS, **canon("manager")}

_NAME_SUBS = canon(*(a.name for a in NAME.sub_attributes))
_MANAGER_SUBS = canon(*(a.name for a in ENTERPRISE_USER.attribute("manager").sub_attributes))
_MULTI_SUBS: dict[str, dict[str, str]] = {
    name: canon(*(sub.name for sub in a.sub_attributes)) for name, a in USER_LISTS.items()
}


@dataclass(frozen=True)
class _Target:
    attr: str  # canonical name; for kind "core"/"enterprise"
    kind: str  # "core" | "enterprise" | "dropped" | "readonly" | "extension"
    filter: Node | None = None
    sub: str | None = None


def _user_target(path: str) -> _Target:
    """What a User path names. UnknownAttribute for a name that is no attribute."""
    if path.lower() == ENTERPRISE_SCHEMA.lower():
        return _Target(ENTERPRISE_SCHEMA, "extension")
    urn, rest = strip_urn(path, (ENTERPRISE_SCHEMA, USER_SCHEMA))
    m = PATH.match(rest)
    if m is None:
        head = re.match(r"[A-Za-z$][\w$-]*", rest)
        if head is None or head.group().lower() not in {**_CORE, **_ENTERPRISE, **_DROPPED}:
            # Not even an attribute name: a key of another schema (Microsoft's ...).
            raise UnknownAttribute(f"Unknown attribute in path {shown(path)}")
        raise PatchError(f"Invalid path {shown(path)}", "invalidPath")
    name, filter_text, sub = m.group("attr").lower(), m.group("filter"), m.group("sub")
    if urn is None and name not in _CORE and name in _ENTERPRISE:
        # A bare `manager` or `department` (Entra's tutorial) is unambiguous.
        urn = ENTERPRISE_SCHEMA
    if urn == ENTERPRISE_SCHEMA:
        if name not in _ENTERPRISE:
            raise UnknownAttribute(f"Unknown enterprise attribute in path {shown(path)}")
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
        raise UnknownAttribute(f"Unknown attribute in path {shown(path)}")
    node = None
    if filter_text is not None:
        if attr not in _MULTI_SUBS:
            raise PatchError(
                f"{attr} is not a multi-valued attribute: path {shown(path)} cannot filter it",
                "invalidPath",
            )
        node = path_filter(filter_text, path)
    sub_name = None
    if sub is not None:
        subs = _MULTI_SUBS.get(attr) or {"name": _NAME_SUBS, "manager": _MANAGER_SUBS}.get(attr)
        if subs is None:
            raise PatchError(
                f"{attr} has no sub-attributes: path {shown(path)} is invalid", "invalidPath"
            )
        if sub.lower() not in subs:
            raise PatchError(f"Unknown sub-attribute {attr}.{sub} in path", "invalidPath")
        sub_name = subs[sub.lower()]
    return _Target(attr, kind, node, sub_name)


# Values -----------------------------------------------------------------------------------


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
    return bool_value(value, label) if sub == "primary" else string_value(value, label)


def _element(value: Any, attr: str) -> dict[str, Any]:
    """One value of a multi-valued attribute, with canonical sub-attribute names."""
    if not isinstance(value, dict):
        raise PatchError(
            f"Each value of {attr} must be an object, got {shown(value)}", "invalidValue"
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
        raise PatchError(f"{attr} must be a list of objects, got {shown(value)}", "invalidValue")
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
                f"manager needs a value (the manager's user id), got {shown(value)}",
                "invalidValue",
            )
        value = value[key]
    if value is None or value == "":
        return None
    return {"value": string_value(value, "manager")}


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
        _set(container, t.attr, bool_value(value, "active"))
    else:
        _set(container, t.attr, string_value(value, t.attr))


def _apply_name(container: dict[str, Any], t: _Target, op: str, value: Any) -> None:
    current = container.get(_find(container, "name") or "name")
    name = dict(current) if isinstance(current, dict) else {}
    if t.sub is not None:
        if op == "remove":
            _pop(name, t.sub)
        else:
            _set(name, t.sub, string_value(value, f"name.{t.sub}"))
    elif op == "remove":
        _pop(container, "name")
        return
    else:
        if not isinstance(value, dict):
            raise PatchError(
                f"name must be an object of sub-attributes, got {shown(value)}", "invalidValue"
            )
        # RFC 7644 §3.5.2.3: sub-attributes not in the value are left as they are.
        for k, v in value.items():
            sub = _NAME_SUBS.get(str(k).lower())
            if sub is None:
                raise PatchError(f"name has no sub-attribute {shown(k)}", "invalidValue")
            if v is None:
                _pop(name, sub)
            else:
                _set(name, sub, string_value(v, f"name.{sub}"))
    _set(container, "name", name)


def _apply_extension(doc: dict[str, Any], op: str, value: Any) -> None:
    """The whole enterprise extension as the target: remove it, or apply its keys."""
    if op == "remove":
        _pop(doc, ENTERPRISE_SCHEMA)
        return
    if not isinstance(value, dict):
        raise PatchError(
            f"{ENTERPRISE_SCHEMA} must be an object, got {shown(value)}", "invalidValue"
        )
    for key, sub_value in value.items():
        # Its keys are enterprise attributes; unknown ones are IdP extras, ignored.
        _apply_key(doc, f"{ENTERPRISE_SCHEMA}:{key}", op, sub_value, lenient=True)


def _apply_key(doc: dict[str, Any], key: str, op: str, value: Any, *, lenient: bool) -> None:
    try:
        target = _user_target(key)
    except UnknownAttribute:
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
            f"An {op.op} without a path needs an object of attributes, got {shown(op.value)}",
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
