"""SCIM resources <-> directory objects, on django-scim2's SCIMUser/SCIMGroup.

`to_dict` renders what a GET returns; `*_fields_from_dict` validates what a client
sent (in any IdP's shape) and turns it into plain values for directory.services.
No rules live here: uniqueness, seats and policies are the services' business."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django_scim.adapters import SCIMGroup, SCIMUser

from directory.models import EndUser, Group
from directory.services import UserFields
from scim.errors import ScimError, bad_request
from scim.schema import (
    ENTERPRISE_SCHEMA,
    EXTERNAL_ID,
    GROUP,
    GROUP_SCHEMA,
    SUB_VALUE_MAX_LENGTH,
    USER_LISTS,
    USER_SCHEMA,
    USER_STRINGS,
    Place,
    group_max_length,
    strings_in,
)
from scim.values import parse_bool

# SCIM name (lower-cased) -> EndUser field, and the sub-attributes kept of each value.
_MULTI_VALUED = {name.lower(): a.field for name, a in USER_LISTS.items()}
_MULTI_VALUED_SUBS = {a.field: a.sub_attributes for a in USER_LISTS.values()}
_MAX_MULTI_VALUES = 20
_USER_NAME_LENGTH = EndUser._meta.get_field("user_name").max_length or 0


def _lower_keys(d: Mapping[str, Any]) -> dict[str, Any]:
    # Attribute names are case-insensitive (RFC 7643 §2.1).
    return {str(k).lower(): v for k, v in d.items()}


def _string(value: Any, attribute: str, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_request(f"{attribute} must be a string")
    text = str(value)
    if len(text) > max_length:
        raise bad_request(f"{attribute} is longer than {max_length} characters")
    return text


def _multi_valued(value: Any, attribute: str, model_field: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise bad_request(f"{attribute} must be a list")
    if len(value) > _MAX_MULTI_VALUES:
        raise bad_request(f"{attribute} has more than {_MAX_MULTI_VALUES} values", "tooMany")
    subs = _MULTI_VALUED_SUBS[model_field]
    items = []
    for raw in value:
        if not isinstance(raw, dict):
            raise bad_request(f"Each of {attribute} must be an object")
        given = _lower_keys(raw)
        item: dict[str, Any] = {}
        for sub in subs:
            v = given.get(sub.name.lower())
            if v is None:
                continue
            if sub.type == "boolean":
                item[sub.name] = parse_bool(v, f"{attribute}.{sub.name}")
            else:
                item[sub.name] = _string(v, f"{attribute}.{sub.name}", SUB_VALUE_MAX_LENGTH)
        if item.get("value") == "" or (model_field != "addresses" and "value" not in item):
            continue  # an entry without a value carries nothing
        items.append(item)
    return items


def _manager_id(value: Any) -> uuid.UUID | None:
    # Entra sends the manager as a bare id, or as {"value": id}, or [{"value": id}].
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = _lower_keys(value).get("value")
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise bad_request(f"manager {value!r} is not the id of a user in this directory") from None


def user_fields_from_dict(d: Any) -> UserFields:
    """Validate a SCIM User (POST/PUT body, or a PATCHed resource) into UserFields.

    Accepts what Okta and Entra send: string booleans, nulls, the enterprise extension
    under its URN, and extras (password, roles, groups, meta, schemas) that are ignored.
    """
    if not isinstance(d, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    given = _lower_keys(d)
    # The enterprise extension may also arrive flattened as "urn:...:User:attr" keys.
    enterprise: dict[str, Any] = {}
    prefix = ENTERPRISE_SCHEMA.lower() + ":"
    for key, value in given.items():
        if key.startswith(prefix):
            enterprise[key[len(prefix) :]] = value
    block = given.get(ENTERPRISE_SCHEMA.lower())
    if block is not None:
        if not isinstance(block, dict):
            raise bad_request(f"{ENTERPRISE_SCHEMA} must be an object")
        enterprise.update(_lower_keys(block))

    user_name = given.get("username")
    if not isinstance(user_name, str) or not user_name.strip():
        raise bad_request("userName is required and must be a non-empty string")
    values: dict[str, Any] = {
        "user_name": _string(user_name.strip(), "userName", _USER_NAME_LENGTH)
    }
    if "active" in given and given["active"] is not None:
        values["active"] = parse_bool(given["active"], "active")
    name = given.get("name")
    if name is not None and not isinstance(name, dict):
        raise bad_request("name must be an object")
    places = {"": given, "name": _lower_keys(name or {}), "enterprise": enterprise}
    for a in USER_STRINGS:
        raw = places[a.place].get(a.name.lower())
        values[a.column] = _string(raw, a.path, a.max_length)
    for key, model_field in _MULTI_VALUED.items():
        values[model_field] = _multi_valued(given.get(key), key, model_field)
    values["manager_id"] = _manager_id(enterprise.get("manager"))
    return UserFields(**values)


def _strings_of(user: EndUser, place: Place) -> dict[str, str]:
    """A user's string attributes at one place of its SCIM resource (scim.schema)."""
    return {a.name: getattr(user, a.column) for a in strings_in(place)}


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    # Entra wants no nulls in responses: leave out what is empty.
    return {k: v for k, v in d.items() if v not in ("", None, [], {})}


def etag_for(version: int) -> str:
    return f'W/"{version}"'


class ScimUser(SCIMUser):
    """An EndUser as a SCIM User."""

    id_field = "id"
    url_name = "scim:users"
    resource_type = "User"

    def __init__(
        self,
        obj: EndUser,
        *,
        base_url: str,
        groups: Iterable[tuple[uuid.UUID, str]] | None = None,
        request: Any = None,
    ) -> None:
        super().__init__(obj, request=request)
        self.obj: EndUser = obj
        self.base_url = base_url
        self.group_list = groups

    @property
    def location(self) -> str:
        return f"{self.base_url}/Users/{self.obj.id}"

    @property
    def etag(self) -> str:
        return etag_for(self.obj.version)

    def to_dict(self) -> dict[str, Any]:
        u = self.obj
        enterprise = _compact(
            {
                **_strings_of(u, "enterprise"),
                "manager": (
                    {"value": str(u.manager_id), "$ref": f"{self.base_url}/Users/{u.manager_id}"}
                    if u.manager_id
                    else None
                ),
            }
        )
        d: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA] if enterprise else [USER_SCHEMA],
            "id": str(u.id),
        }
        d.update(
            _compact(
                {
                    "userName": u.user_name,
                    "name": _compact(_strings_of(u, "name")),
                    **_strings_of(u, ""),
                    **{name: getattr(u, a.field) for name, a in USER_LISTS.items()},
                }
            )
        )
        d["active"] = u.active
        if self.group_list is not None:
            groups = [
                {"value": str(gid), "display": name, "$ref": f"{self.base_url}/Groups/{gid}"}
                for gid, name in self.group_list
            ]
            if groups:
                d["groups"] = groups
        if enterprise:
            d[ENTERPRISE_SCHEMA] = enterprise
        d["meta"] = {
            "resourceType": "User",
            "created": u.created_at.isoformat(),
            "lastModified": u.updated_at.isoformat(),
            "location": self.location,
            "version": self.etag,
        }
        return d


class ScimGroup(SCIMGroup):
    """A Group as a SCIM Group. Members are rendered only when given: a caller that
    excludes them (excludedAttributes=members) never loads them."""

    id_field = "id"
    url_name = "scim:groups"
    resource_type = "Group"

    def __init__(
        self,
        obj: Group,
        *,
        base_url: str,
        members: Iterable[tuple[uuid.UUID, str]] | None = None,
        request: Any = None,
    ) -> None:
        super().__init__(obj, request=request)
        self.obj: Group = obj
        self.base_url = base_url
        self.member_list = members

    @property
    def location(self) -> str:
        return f"{self.base_url}/Groups/{self.obj.id}"

    @property
    def etag(self) -> str:
        return etag_for(self.obj.version)

    def to_dict(self) -> dict[str, Any]:
        g = self.obj
        d: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(g.id)}
        if g.external_id:
            d["externalId"] = g.external_id
        d["displayName"] = g.display_name
        if self.member_list is not None:
            d["members"] = [
                # No "display": the schema has no such sub-attribute, and clients
                # that echo members back must get exactly what they sent.
                {"value": str(uid), "type": "User", "$ref": f"{self.base_url}/Users/{uid}"}
                for uid, _ in self.member_list
            ]
        d["meta"] = {
            "resourceType": "Group",
            "created": g.created_at.isoformat(),
            "lastModified": g.updated_at.isoformat(),
            "location": self.location,
            "version": self.etag,
        }
        return d


def member_ids_from_list(value: Any, attribute: str = "members") -> list[str]:
    """The user ids of a `members` list; nested groups are refused."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{attribute} must be a list")
    ids = []
    for item in value:
        if isinstance(item, str):
            ids.append(item)
            continue
        if not isinstance(item, dict):
            raise bad_request(f"Each of {attribute} must be an object with a value")
        given = _lower_keys(item)
        if str(given.get("type") or "User").lower() == "group":
            raise bad_request(
                f"Nested groups are not supported: {given.get('value')} is a group, "
                "and a group's members must be users"
            )
        member = given.get("value")
        if not isinstance(member, str) or not member:
            raise bad_request(f"Each of {attribute} needs a value (a user id)")
        ids.append(member)
    return ids


_GROUP_NAME_LENGTH = group_max_length(GROUP.attribute("displayName"))
_GROUP_EXTERNAL_ID_LENGTH = group_max_length(EXTERNAL_ID)


def group_fields_from_dict(d: Any) -> tuple[str, str, list[str] | None]:
    """(displayName, externalId, member ids or None when members were not sent)."""
    if not isinstance(d, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    given = _lower_keys(d)
    name = given.get("displayname")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("displayName is required and must be a non-empty string")
    external_id = _string(given.get("externalid"), "externalId", _GROUP_EXTERNAL_ID_LENGTH)
    members = member_ids_from_list(given["members"]) if "members" in given else None
    return _string(name.strip(), "displayName", _GROUP_NAME_LENGTH), external_id, members
