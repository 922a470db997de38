"""Every SCIM attribute this server knows, described once, and the URNs that name them.

One row per attribute of the User, EnterpriseUser and Group schemas (RFC 7643 §4, §8.7):
its type, whether it is multi-valued, its sub-attributes, mutability, `returned`,
uniqueness, case rule, canonical values and, for what is stored as it is, the directory
column (whose length is the attribute's limit). What derives from this table:

- /Schemas and /ResourceTypes (scim.discovery renders the rows),
- reading a body and rendering a resource (scim.adapters: the string attributes, the
  multi-valued ones and their sub-attributes),
- PATCH paths (scim.patch: what is read-only, what is accepted and dropped, the
  sub-attributes of each complex attribute),
- filters (scim.filters: the string attributes and their columns).

Adding a string attribute is one row here plus its column. Attributes with `stored=False`
are accepted and dropped (Okta sends a random `password` on every create, Entra sends
`roles: []`) and are not advertised. userName (unique by its case key), `active`,
`manager` and group `members` have rules of their own in the code that handles them;
their rows still say what /Schemas advertises.

Where this server departs from RFC 7643's definitions, the row says so in a comment;
tests/scim/test_schema_table.py holds every other characteristic to the RFC's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

Type = Literal["string", "boolean", "decimal", "integer", "dateTime", "reference", "complex"]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]
Place = Literal["", "name", "enterprise"]

# The length of each value inside a multi-valued attribute (an email address, a street).
SUB_VALUE_MAX_LENGTH = 512


@dataclass(frozen=True)
class Attribute:
    name: str  # as SCIM spells it
    description: str
    type: Type = "string"
    multi_valued: bool = False
    sub_attributes: tuple[Attribute, ...] = ()
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    # A single-valued string kept as it is in this column of the resource's model.
    column: str = ""
    # For a multi-valued attribute, the EndUser field holding its list.
    field: str = ""
    # False: accepted in bodies and PATCH, and dropped; not advertised.
    stored: bool = True

    def sub(self, name: str) -> Attribute:
        for a in self.sub_attributes:
            if a.name.lower() == name.lower():
                return a
        raise KeyError(f"{self.name} has no sub-attribute {name}")

    def definition(self) -> dict[str, Any]:
        """This attribute as /Schemas advertises it (RFC 7643 §7)."""
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in ("string", "reference"):
            d["caseExact"] = self.case_exact
        if self.canonical_values:
            d["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            d["referenceTypes"] = list(self.reference_types)
        d["mutability"] = self.mutability
        d["returned"] = self.returned
        d["uniqueness"] = self.uniqueness
        if self.sub_attributes:
            d["subAttributes"] = [a.definition() for a in self.sub_attributes]
        return d


@dataclass(frozen=True)
class Schema:
    id: str  # its URN
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute:
        for a in self.attributes:
            if a.name.lower() == name.lower():
                return a
        raise KeyError(f"{self.name} has no attribute {name}")

    @property
    def advertised(self) -> tuple[Attribute, ...]:
        return tuple(a for a in self.attributes if a.stored)

    def definition(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.definition() for a in self.advertised],
        }


@dataclass(frozen=True)
class ResourceType:
    id: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()


def _s(name: str, description: str, **kw: Any) -> Attribute:
    return Attribute(name, description, **kw)


def _primary(of: str) -> Attribute:
    return _s("primary", f"Whether this is the primary {of}.", type="boolean")


def _plural(name: str, description: str, subs: tuple[Attribute, ...], **kw: Any) -> Attribute:
    return Attribute(
        name, description, type="complex", multi_valued=True, sub_attributes=subs, **kw
    )


def _dropped(name: str, description: str) -> Attribute:
    return Attribute(name, description, type="complex", multi_valued=True, stored=False)


# RFC 7643 §3.1: common to every resource, so in no resource's schema document.
ID = _s(
    "id",
    "Unique identifier of the resource, issued by this server.",
    case_exact=True,
    mutability="readOnly",
    returned="always",
    uniqueness="server",
)
EXTERNAL_ID = _s(
    "externalId",
    "Identifier of the resource as the provisioning client knows it.",
    case_exact=True,
    column="external_id",
)
META = Attribute(
    "meta", "Resource metadata, set by this server.", type="complex", mutability="readOnly"
)
COMMON = (ID, EXTERNAL_ID, META)

NAME = Attribute(
    "name",
    "The components of the user's real name.",
    type="complex",
    sub_attributes=(
        _s("formatted", "The full name, formatted for display.", column="name_formatted"),
        _s("familyName", "The family name (last name in Western languages).", column="family_name"),
        _s("givenName", "The given name (first name in Western languages).", column="given_name"),
        _s("middleName", "The middle name(s).", column="middle_name"),
        _s("honorificPrefix", "The honorific prefix, such as 'Ms.'.", column="honorific_prefix"),
        _s("honorificSuffix", "The honorific suffix, such as 'III'.", column="honorific_suffix"),
    ),
)


def _contact(name: str, what: str, types: tuple[str, ...], field: str) -> Attribute:
    return _plural(
        name,
        f"The user's {what}es." if what.endswith("s") else f"The user's {what}s.",
        (
            _s("value", f"The {what}."),
            _s("display", f"The {what} as displayed."),
            _s("type", f"The kind of {what}.", canonical_values=types),
            _primary(what),
        ),
        field=field,
    )


USER = Schema(
    USER_SCHEMA,
    "User",
    "User Account",
    (
        _s(
            "userName",
            "The unique identifier the user signs in with; unique in the org, case-insensitively.",
            required=True,
            uniqueness="server",
        ),
        NAME,
        _s("displayName", "The name of the user, suitable for display.", column="display_name"),
        _s("nickName", "The casual way to address the user.", column="nick_name"),
        _s(
            "profileUrl",
            "A URI of the user's online profile.",
            type="reference",
            reference_types=("external",),
            column="profile_url",
        ),
        _s("title", "The user's title, such as 'Vice President'.", column="title"),
        _s("userType", "The relationship to the org, such as 'Employee'.", column="user_type"),
        _s(
            "preferredLanguage",
            "The user's preferred language (RFC 7231 Accept-Language form).",
            column="preferred_language",
        ),
        _s("locale", "The user's default location, for localisation.", column="locale"),
        _s("timezone", "The user's time zone (IANA name).", column="timezone"),
        # Required here: every user is active or not; a create without it means active.
        _s("active", "Whether the user may use the service.", type="boolean", required=True),
        _s(
            "password",
            "Not kept: accepted and dropped.",
            mutability="writeOnly",
            returned="never",
            stored=False,
        ),
        _contact("emails", "email address", ("work", "home", "other"), "emails"),
        _contact(
            "phoneNumbers",
            "phone number",
            ("work", "home", "mobile", "fax", "pager", "other"),
            "phone_numbers",
        ),
        _dropped("ims", "Not kept: accepted and dropped."),
        _dropped("photos", "Not kept: accepted and dropped."),
        _plural(
            "addresses",
            "The user's physical mailing addresses.",
            (
                _s("formatted", "The full mailing address, formatted for display."),
                _s("streetAddress", "The street address."),
                _s("locality", "The city or locality."),
                _s("region", "The state or region."),
                _s("postalCode", "The zip code or postal code."),
                _s("country", "The country (ISO 3166-1 alpha-2 code)."),
                _s("type", "The kind of address.", canonical_values=("work", "home", "other")),
                # RFC 7643 §4.1.2 gives addresses a primary flag, though §8.7.1 omits it.
                _primary("address"),
            ),
            field="addresses",
        ),
        # Membership is managed through /Groups, never through a user.
        _plural(
            "groups",
            "The groups the user belongs to, managed through /Groups.",
            (
                _s("value", "The id of the group.", mutability="readOnly"),
                _s(
                    "$ref",
                    "The URI of the group.",
                    type="reference",
                    reference_types=("User", "Group"),
                    mutability="readOnly",
                ),
                _s("display", "The group's displayName.", mutability="readOnly"),
                _s(
                    "type",
                    "How the user is a member.",
                    canonical_values=("direct", "indirect"),
                    mutability="readOnly",
                ),
            ),
            mutability="readOnly",
        ),
        _dropped("entitlements", "Not kept: accepted and dropped."),
        _dropped("roles", "Not kept: accepted and dropped."),
        _dropped("x509Certificates", "Not kept: accepted and dropped."),
    ),
)

ENTERPRISE_USER = Schema(
    ENTERPRISE_SCHEMA,
    "EnterpriseUser",
    "Enterprise User",
    (
        _s("employeeNumber", "The user's number in the org.", column="employee_number"),
        _s("costCenter", "The user's cost center.", column="cost_center"),
        _s("organization", "The user's organization.", column="organization"),
        _s("division", "The user's division.", column="division"),
        _s("department", "The user's department.", column="department"),
        Attribute(
            "manager",
            "The user's manager, another user of this directory.",
            type="complex",
            sub_attributes=(
                _s("value", "The id of the manager's User."),
                _s(
                    "$ref",
                    "The URI of the manager's User.",
                    type="reference",
                    reference_types=("User",),
                ),
                _s("displayName", "The manager's displayName.", mutability="readOnly"),
            ),
        ),
    ),
)

GROUP = Schema(
    GROUP_SCHEMA,
    "Group",
    "Group",
    (
        # Required and unique here: the name identifies a group in the org, and is how a
        # pushed group finds a console group to take over.
        _s(
            "displayName",
            "A name for the group, unique in the org case-insensitively.",
            required=True,
            uniqueness="server",
            column="display_name",
        ),
        _plural(
            "members",
            "The users in the group (groups cannot be members: no nesting).",
            (
                _s("value", "The id of the member's User.", mutability="immutable"),
                _s(
                    "$ref",
                    "The URI of the member's User.",
                    type="reference",
                    reference_types=("User", "Group"),
                    mutability="immutable",
                ),
                # Only users: nested groups are not supported.
                _s(
                    "type",
                    "The kind of member.",
                    canonical_values=("User",),
                    mutability="immutable",
                ),
            ),
        ),
    ),
)

SCHEMAS = (USER, ENTERPRISE_USER, GROUP)

RESOURCE_TYPES = (
    ResourceType("User", "/Users", "An end user of the org", USER, (ENTERPRISE_USER,)),
    ResourceType(
        "Group", "/Groups", "A group of end users (nested groups are not supported)", GROUP
    ),
)

# User attributes accepted in bodies and dropped.
USER_DROPPED = tuple(a.name for a in USER.attributes if not a.stored)
# User attributes the server sets: in a path-less PATCH value they are echoes, ignored.
USER_READ_ONLY = tuple(a.name for a in (ID, META, *USER.attributes) if a.mutability == "readOnly")
# Multi-valued User attributes stored as lists: SCIM name -> EndUser field.
USER_LISTS = {a.name: a for a in USER.attributes if a.stored and a.multi_valued and a.field}


# The single-valued strings stored as they are ------------------------------------------


@dataclass(frozen=True)
class StringAttribute:
    name: str  # as SCIM spells it
    column: str  # the EndUser field
    place: Place = ""  # "" top level, "name" inside name, "enterprise" the extension
    case_exact: bool = False

    @cached_property
    def max_length(self) -> int:
        from directory.models import EndUser  # noqa: PLC0415 (this module loads before apps)

        length = getattr(EndUser._meta.get_field(self.column), "max_length", None)
        if not isinstance(length, int):
            raise TypeError(f"EndUser.{self.column} is not a string column")
        return length

    @property
    def path(self) -> str:
        """The attribute's path as filters and PATCH name it (without a URN)."""
        return f"name.{self.name}" if self.place == "name" else self.name


def _strings() -> tuple[StringAttribute, ...]:
    rows: list[tuple[Place, Attribute]] = [
        *(("", a) for a in (EXTERNAL_ID, *USER.attributes)),
        *(("name", a) for a in NAME.sub_attributes),
        *(("enterprise", a) for a in ENTERPRISE_USER.attributes),
    ]
    return tuple(
        StringAttribute(a.name, a.column, place, a.case_exact)
        for place, a in rows
        if a.column and not a.multi_valued
    )


USER_STRINGS: tuple[StringAttribute, ...] = _strings()


def strings_in(place: Place) -> tuple[StringAttribute, ...]:
    """The string attributes at one place of a User, in the table's order."""
    return tuple(a for a in USER_STRINGS if a.place == place)


def group_max_length(attribute: Attribute) -> int:
    """A Group string attribute's limit: its column's."""
    from directory.models import Group  # noqa: PLC0415 (this module loads before apps)

    length = getattr(Group._meta.get_field(attribute.column), "max_length", None)
    if not isinstance(length, int):
        raise TypeError(f"Group.{attribute.column} is not a string column")
    return length
