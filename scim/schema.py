"""The User and EnterpriseUser string attributes this server stores, each named once.

Each row gives the attribute's SCIM name, where it lives (at the top of a User, inside
`name`, or in the enterprise extension), its EndUser column and its case rule (RFC 7643
caseExact). Its length limit is its column's. Everything that handles these attributes
derives from this table: reading a body (scim.adapters.user_fields_from_dict), rendering
a user (ScimUser.to_dict), PATCH paths (scim.patch) and filters (scim.filters). /Schemas
advertises the library's RFC 7643 definitions trimmed to what is stored, and a test holds
them to this table.

Adding a string attribute is one row here plus its column. userName (required, unique by
its case key), `active`, the multi-valued attributes (emails, phoneNumbers, addresses)
and `manager` have rules of their own and stay with their code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from directory.models import EndUser

Place = Literal["", "name", "enterprise"]


@dataclass(frozen=True)
class StringAttribute:
    name: str  # as SCIM spells it
    column: str  # the EndUser field
    place: Place = ""  # "" top level, "name" inside name, "enterprise" the extension
    case_exact: bool = False

    @cached_property
    def max_length(self) -> int:
        length = getattr(EndUser._meta.get_field(self.column), "max_length", None)
        if not isinstance(length, int):
            raise TypeError(f"EndUser.{self.column} is not a string column")
        return length

    @property
    def path(self) -> str:
        """The attribute's path as filters and PATCH name it (without a URN)."""
        return f"name.{self.name}" if self.place == "name" else self.name


USER_STRINGS: tuple[StringAttribute, ...] = (
    StringAttribute("externalId", "external_id", case_exact=True),
    StringAttribute("displayName", "display_name"),
    StringAttribute("nickName", "nick_name"),
    StringAttribute("profileUrl", "profile_url"),
    StringAttribute("title", "title"),
    StringAttribute("userType", "user_type"),
    StringAttribute("preferredLanguage", "preferred_language"),
    StringAttribute("locale", "locale"),
    StringAttribute("timezone", "timezone"),
    StringAttribute("formatted", "name_formatted", "name"),
    StringAttribute("familyName", "family_name", "name"),
    StringAttribute("givenName", "given_name", "name"),
    StringAttribute("middleName", "middle_name", "name"),
    StringAttribute("honorificPrefix", "honorific_prefix", "name"),
    StringAttribute("honorificSuffix", "honorific_suffix", "name"),
    StringAttribute("employeeNumber", "employee_number", "enterprise"),
    StringAttribute("costCenter", "cost_center", "enterprise"),
    StringAttribute("organization", "organization", "enterprise"),
    StringAttribute("division", "division", "enterprise"),
    StringAttribute("department", "department", "enterprise"),
)


def strings_in(place: Place) -> tuple[StringAttribute, ...]:
    """The string attributes at one place of a User, in the table's order."""
    return tuple(a for a in USER_STRINGS if a.place == place)
