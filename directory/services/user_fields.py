"""An end user's attributes as a client sets them, and the checks on them that need no
database: SCIM, the console, sign-ins and LDAP all fill in a UserFields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import Any

from directory.errors import InvalidValue
from directory.models import EndUser, ScimDirectory
from directory.services._common import _name_check


@dataclass
class UserFields:
    """Every attribute of an end user that a client may set, already validated for
    type. SCIM PUT/POST and console forms both end up here."""

    user_name: str
    external_id: str = ""
    active: bool = True
    display_name: str = ""
    nick_name: str = ""
    name_formatted: str = ""
    given_name: str = ""
    family_name: str = ""
    middle_name: str = ""
    honorific_prefix: str = ""
    honorific_suffix: str = ""
    title: str = ""
    user_type: str = ""
    preferred_language: str = ""
    locale: str = ""
    timezone: str = ""
    profile_url: str = ""
    emails: list[dict[str, Any]] = field(default_factory=list)
    phone_numbers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    employee_number: str = ""
    cost_center: str = ""
    organization: str = ""
    division: str = ""
    department: str = ""
    manager_id: uuid.UUID | None = None


USER_FIELD_NAMES = [f.name for f in fields(UserFields)]
# Fields the optional name rule applies to.
NAME_FIELDS = {
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "middle_name": "name.middleName",
    "name_formatted": "name.formatted",
    "display_name": "displayName",
    "nick_name": "nickName",
}
FORBIDDEN_NAME_CHARACTERS = set("@,#$!")


_USER_NAME_LENGTH = EndUser._meta.get_field("user_name").max_length or 254


def _user_check(*, fields: UserFields, directory: ScimDirectory | None) -> None:
    _name_check(fields.user_name, label="userName", max_length=_USER_NAME_LENGTH)
    if directory is not None and directory.reject_special_characters:
        for name, label in NAME_FIELDS.items():
            bad = FORBIDDEN_NAME_CHARACTERS & set(getattr(fields, name))
            if bad:
                raise InvalidValue(
                    f"{label} contains characters this org does not allow: {' '.join(sorted(bad))}",
                    field=label,
                )
