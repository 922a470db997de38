"""SCIM filters evaluated in SQL through the ORM: scim.filter_syntax parses, this module
maps attributes to columns and compiles the AST to Q objects.

    filter_users(qs, text) / filter_groups(qs, text)
                                        narrow a queryset that already starts from the
                                        request's org, so no filter can reach another org
    user_name_eq(text) -> str | None    the key of the value of a lone `userName eq "..."`,
                                        which the views answer from a prepared query
    user_sort_key(attr) / group_sort_key(attr)
                                        an order_by() key for sortBy; FilterError if unknown

Every attribute a filter may name is mapped explicitly below (the string attributes from
scim.schema's table): anything else is a FilterError, never a silent match.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Literal

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Length, Lower, Right, StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils.dateparse import parse_date, parse_datetime

from directory.models import EndUser, Group, Membership, UserEmail
from directory.names import user_name_key
from scim.filter_syntax import (
    And,
    Compare,
    FilterError,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    as_bool,
    operands,
    parse_filter,
    shown,
)
from scim.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, USER_STRINGS, strings_in

# Attribute paths are compared lower-cased, so are the URNs that may prefix them.
USER_URN = USER_SCHEMA.lower() + ":"
GROUP_URN = GROUP_SCHEMA.lower() + ":"
ENTERPRISE_URN = ENTERPRISE_SCHEMA.lower() + ":"

# Attribute maps --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A single-valued attribute stored in one column of the resource's (or a related) table."""

    name: str
    kind: Literal["string", "bool", "datetime", "uuid"] = "string"
    # RFC 7643 caseExact: only id and externalId among what we map.
    case_exact: bool = False
    nullable: bool = False
    # Strings compared through a key column instead (userName: user_name_key, group
    # displayName: display_name_key), the operand keyed by the same rule in Python, so a
    # filter finds exactly what a create collides with.
    key: str = ""


@dataclass(frozen=True)
class Related:
    """A multi-valued attribute kept as rows of another table, filtered with EXISTS over
    the rows of this resource, so every condition in `attr[...]` holds on ONE row."""

    model: type[models.Model]
    link: str  # that table's foreign key to the resource
    subs: Mapping[str, Column]
    # `emails eq "x"` means emails.value eq "x" (RFC 7644 §3.4.2.2).
    default: str = "value"
    label: str = ""


def _enterprise(attributes: dict[str, Column]) -> dict[str, Column]:
    # Accepted with their URN and, being unambiguous, without it (Entra's `manager eq`).
    return {**attributes, **{ENTERPRISE_URN + k: v for k, v in attributes.items()}}


USER_ATTRIBUTES: Mapping[str, Column | Related] = {
    "id": Column("id", "uuid", case_exact=True),
    "username": Column("user_name", key="user_name_key"),
    **{
        a.path.lower(): Column(a.column, case_exact=a.case_exact)
        for a in USER_STRINGS
        if a.place != "enterprise"
    },
    "active": Column("active", "bool"),
    "meta.created": Column("created_at", "datetime"),
    "meta.lastmodified": Column("updated_at", "datetime"),
    **_enterprise(
        {
            **{
                a.name.lower(): Column(a.column, case_exact=a.case_exact)
                for a in strings_in("enterprise")
            },
            "manager": Column("manager_id", "uuid", case_exact=True, nullable=True),
            "manager.value": Column("manager_id", "uuid", case_exact=True, nullable=True),
        }
    ),
    "emails": Related(
        UserEmail,
        "user",
        {
            "value": Column("value"),
            "type": Column("type"),
            "primary": Column("primary", "bool"),
        },
        label="emails",
    ),
    "groups": Related(
        Membership,
        "user",
        {
            "value": Column("group_id", "uuid", case_exact=True),
            "display": Column("group__display_name", key="group__display_name_key"),
        },
        label="groups",
    ),
}

GROUP_ATTRIBUTES: Mapping[str, Column | Related] = {
    "id": Column("id", "uuid", case_exact=True),
    "externalid": Column("external_id", case_exact=True),
    "displayname": Column("display_name", key="display_name_key"),
    "meta.created": Column("created_at", "datetime"),
    "meta.lastmodified": Column("updated_at", "datetime"),
    # No members.display: our member objects carry none.
    "members": Related(
        Membership,
        "group",
        {"value": Column("user_id", "uuid", case_exact=True)},
        label="members",
    ),
}


# Compilation to SQL ----------------------------------------------------------------------

# Conditions that stay true (false) when negated, unlike an empty Q(), which `not` leaves
# matching everything.
_ALWAYS = Q(pk__isnull=False)
_NEVER = Q(pk__in=[])

_ORDERING: Mapping[str, Callable[[Any, Any], Any]] = {
    "gt": GreaterThan,
    "ge": GreaterThanOrEqual,
    "lt": LessThan,
    "le": LessThanOrEqual,
}


def _present(column: Column) -> Q:
    if column.kind == "string":
        return Q(**{f"{column.name}__isnull": False}) & ~Q(**{column.name: ""})
    if column.nullable:
        return Q(**{f"{column.name}__isnull": False})
    return _ALWAYS


def _string_q(column: Column, node: Compare) -> Q:
    if not isinstance(node.value, str):
        raise FilterError(f"{node.path} compares with a string, not {node.value!r}")
    if column.key:
        # display_name_key is user_name_key: one rule for both (directory.names).
        return _key_q(column.key, node.op, user_name_key(node.value))
    lhs: Any = F(column.name)
    rhs: Any = Value(node.value)
    if not column.case_exact:
        # The database folds both sides, as the LOWER(...) unique indexes do, so a filter
        # finds exactly what a create would collide with; iexact (UPPER) would skip them.
        lhs, rhs = Lower(lhs), Lower(rhs)
    return _compare_q(lhs, node.op, rhs, empty=node.value == "")


def _compare_q(lhs: Any, op: str, rhs: Any, *, empty: bool) -> Q:
    if op in ("co", "sw", "ew"):
        if empty:
            return _ALWAYS
        # Positions rather than LIKE: no wildcards to escape, and SQLite's LIKE ignores
        # case even for case-exact attributes.
        if op == "co":
            return Q(GreaterThan(StrIndex(lhs, rhs), Value(0)))
        if op == "sw":
            return Q(Exact(StrIndex(lhs, rhs), Value(1)))
        return Q(Exact(Right(lhs, Length(rhs)), rhs))
    if op in ("eq", "ne"):
        q = Q(Exact(lhs, rhs))
        return q if op == "eq" else ~q
    return Q(_ORDERING[op](lhs, rhs))


def _key_q(column: str, op: str, key: str) -> Q:
    # A row without a key (a name that collided when keys were introduced: see
    # `manage.py scim collisions`) has no name to match, so it matches no positive
    # comparison and every negated one: `IS NOT NULL` keeps the condition two-valued
    # under `ne` and `not`, where a bare NULL comparison would drop the row both ways.
    if op in ("co", "sw", "ew") and key == "":
        return _ALWAYS
    q = Q(**{f"{column}__isnull": False}) & _compare_q(
        F(column), "eq" if op == "ne" else op, Value(key), empty=False
    )
    return ~q if op == "ne" else q


def _bool_q(column: Column, node: Compare) -> Q:
    if node.op not in ("eq", "ne"):
        raise FilterError(f"{node.path} is a boolean: only eq, ne and pr apply")
    value = as_bool(node.value)
    if not isinstance(value, bool):
        raise FilterError(f"{node.path} compares with true or false, not {node.value!r}")
    return Q(**{column.name: value == (node.op == "eq")})


def _datetime_q(column: Column, node: Compare) -> Q:
    if node.op in ("co", "sw", "ew"):
        raise FilterError(f"{node.path} is a date-time: use eq, ne, gt, ge, lt or le")
    when: datetime | None = None
    if isinstance(node.value, str):
        try:
            when = parse_datetime(node.value)
            day = parse_date(node.value) if when is None else None
        except ValueError:  # well-formed but impossible, like month 13
            day = None
        if day is not None:
            when = datetime.combine(day, time(), tzinfo=UTC)
    if when is None:
        raise FilterError(f"{node.path} compares with an ISO 8601 date-time, not {node.value!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    lookup = {"eq": "exact", "ne": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
    q = Q(**{f"{column.name}__{lookup[node.op]}": when})
    return ~q if node.op == "ne" else q


def _uuid_q(column: Column, node: Compare) -> Q:
    if node.op not in ("eq", "ne"):
        raise FilterError(f"{node.path} is an id: only eq, ne and pr apply")
    if not isinstance(node.value, str):
        raise FilterError(f"{node.path} compares with a string, not {node.value!r}")
    try:
        q = Q(**{column.name: uuid.UUID(node.value)})
    except ValueError:
        q = _NEVER  # not one of our ids, so nothing has it; no database error either
    return q if node.op == "eq" else ~q


_COMPILERS: Mapping[str, Callable[[Column, Compare], Q]] = {
    "string": _string_q,
    "bool": _bool_q,
    "datetime": _datetime_q,
    "uuid": _uuid_q,
}


def _column_q(column: Column, node: Compare | Present) -> Q:
    if isinstance(node, Present):
        return _present(column)
    if node.value is None:
        # RFC 7644: `eq null` is "has no value", the opposite of pr.
        return ~_present(column) if node.op == "eq" else _present(column)
    return _COMPILERS[column.kind](column, node)


def _related_q(related: Related, inner: Node | None, then: Compare | Present | None) -> Q:
    rows = related.model._default_manager.filter(**{related.link: OuterRef("pk")})
    if related.default in related.subs and inner is None and then is None:
        # `emails pr`: at least one address that is not empty.
        then = Present(related.default)
    for node in (inner, then):
        if node is not None:
            rows = rows.filter(_to_q(node, related.subs, related.label))
    return Q(Exists(rows))


def _canonical(path: str, urn: str) -> str:
    path = path.lower()
    return path[len(urn) :] if path.startswith(urn) else path


def _to_q(node: Node, attributes: Mapping[str, Column | Related], scope: str, urn: str = "") -> Q:
    """`scope` names the multi-valued attribute we are inside, "" at the resource."""
    if isinstance(node, And | Or):
        q = Q()
        for operand in operands(node):
            part = _to_q(operand, attributes, scope, urn)
            q = q & part if isinstance(node, And) else q | part
        return q
    if isinstance(node, Not):
        return ~_to_q(node.node, attributes, scope, urn)
    where = f"{scope}.{node.path}" if scope else node.path
    path = _canonical(node.path, urn)
    if isinstance(node, ValuePath):
        target = attributes.get(path)
        if not isinstance(target, Related):
            raise FilterError(f"{where} is not a multi-valued attribute that can be filtered")
        return _related_q(target, node.filter, node.then)
    target = attributes.get(path)
    if target is None:
        head, dot, sub = path.partition(".")
        related = attributes.get(head)
        if dot and isinstance(related, Related):
            # `emails.type eq "work"`: a sub-attribute of any one of the rows.
            return _related_q(related, None, _rename(node, sub))
        raise FilterError(f"Filtering on {shown(where)} is not supported")
    if isinstance(target, Related):
        if isinstance(node, Present):
            return _related_q(target, None, None)
        return _related_q(target, None, _rename(node, target.default))
    return _column_q(target, node)


def _rename(node: Compare | Present, path: str) -> Compare | Present:
    return Present(path) if isinstance(node, Present) else Compare(path, node.op, node.value)


def filter_users(qs: QuerySet[EndUser], text: str) -> QuerySet[EndUser]:
    """The users of `qs` (already the request's org) that match the filter.

    FilterError for a malformed filter or one naming an attribute not mapped here."""
    return qs.filter(_to_q(parse_filter(text), USER_ATTRIBUTES, "", USER_URN))


def user_name_eq(text: str) -> str | None:
    """The key (directory.names.user_name_key) of the value of a filter that is exactly
    `userName eq "..."` (the lookup Okta and Entra send before every create), or None
    for any other filter. The key, because that is what the lookup compares; keying
    it again, as filter_users() does, changes nothing."""
    node = parse_filter(text)
    if (
        isinstance(node, Compare)
        and node.op == "eq"
        and isinstance(node.value, str)
        and _canonical(node.path, USER_URN) == "username"
    ):
        return user_name_key(node.value)
    return None


def filter_groups(qs: QuerySet[Group], text: str) -> QuerySet[Group]:
    """The groups of `qs` (already the request's org) that match the filter.

    FilterError for a malformed filter or one naming an attribute not mapped here."""
    return qs.filter(_to_q(parse_filter(text), GROUP_ATTRIBUTES, "", GROUP_URN))


# Sorting ---------------------------------------------------------------------------------


def _sort_key(attr: str, attributes: Mapping[str, Column | Related], urn: str) -> str | Expression:
    target = attributes.get(_canonical(attr.strip(), urn))
    if not isinstance(target, Column):
        raise FilterError(f"Sorting by {shown(attr)} is not supported")
    if target.kind == "string" and not target.case_exact:
        return Lower(target.name)
    return target.name


def user_sort_key(attr: str) -> str | Expression:
    """The order_by() key for sortBy on Users: any single-valued attribute a filter may
    name, case-insensitively where the attribute is; FilterError for anything else."""
    return _sort_key(attr, USER_ATTRIBUTES, USER_URN)


def group_sort_key(attr: str) -> str | Expression:
    """The order_by() key for sortBy on Groups; FilterError for anything unknown."""
    return _sort_key(attr, GROUP_ATTRIBUTES, GROUP_URN)
