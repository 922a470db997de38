"""SCIM filters (RFC 7644 §3.4.2.2), parsed here and evaluated in SQL through the ORM.

    parse_filter(text) -> Node              the AST, or FilterError
    matches(node, item) -> bool             a filter against a dict (PATCH value paths)
    filter_users(qs, text) / filter_groups(qs, text)
                                            narrow a queryset that already starts from the
                                            request's org, so no filter can reach another org
    user_sort_key(attr) / group_sort_key(attr)
                                            an order_by() expression for sortBy

Grammar: `or` binds looser than `and`, which binds looser than `not`; parentheses; value
paths (`emails[type eq "work" and value co "@x"]`, and Entra's
`emails[type eq "work"].value eq "x"`). Attribute names and operators are
case-insensitive and may carry their schema URN. Every attribute a filter may name is
mapped explicitly below: anything else is a FilterError (400 invalidFilter), never a
silent match.
"""

from __future__ import annotations

import json
import operator
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Union

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.functions import Lower
from django.utils.dateparse import parse_datetime

from directory.models import EndUser, Group, Membership, UserEmail

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 50

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user:"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:group:"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"

COMPARE_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}


class FilterError(ValueError):
    """A filter that cannot be evaluated; the message is safe to show an IdP."""


# AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    path: str  # as written: compare with .lower()
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: str


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`, optionally followed by `.sub op value` (Entra's form)."""

    path: str
    filter: Node
    then: Compare | Present | None = None


Node = Union[Compare, Present, And, Or, Not, ValuePath]  # noqa: UP007 - used at runtime


# Tokenizer -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w:.]))
  | (?P<subattr>\.[A-Za-z$][\w$-]*)
  | (?P<word>[A-Za-z$][\w:.$-]*)
  | (?P<punct>[()\[\]])
    """,
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"Unexpected character {text[pos]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def peek_word(self) -> str | None:
        t = self.peek()
        return t.text.lower() if t is not None and t.kind == "word" else None

    def next(self, what: str) -> _Token:
        t = self.peek()
        if t is None:
            raise FilterError(f"The filter ends where {what} was expected")
        self.i += 1
        return t

    def expect_punct(self, char: str) -> None:
        t = self.next(f"{char!r}")
        if t.text != char:
            raise FilterError(f"Expected {char!r} at position {t.pos + 1}, found {t.text!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("The filter is empty")
        node = self.parse_or()
        t = self.peek()
        if t is not None:
            raise FilterError(f"Unexpected {t.text!r} at position {t.pos + 1}")
        return node

    def parse_or(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"The filter is nested more than {MAX_DEPTH} levels deep")
        node = self.parse_and()
        while self.peek_word() == "or":
            self.i += 1
            node = Or(node, self.parse_and())
        self.depth -= 1
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.peek_word() == "and":
            self.i += 1
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.peek_word() == "not":
            self.i += 1
            return Not(self.parse_not())
        t = self.peek()
        if t is not None and t.text == "(":
            self.i += 1
            node = self.parse_or()
            self.expect_punct(")")
            return node
        return self.parse_attribute_expression()

    def parse_attribute_expression(self) -> Node:
        t = self.next("an attribute name")
        if t.kind != "word" or t.text.lower() in {"and", "or", "not"} | COMPARE_OPS:
            raise FilterError(
                f"Expected an attribute name at position {t.pos + 1}, found {t.text!r}"
            )
        path = t.text
        nxt = self.peek()
        if nxt is not None and nxt.text == "[":
            self.i += 1
            inner = self.parse_or()
            self.expect_punct("]")
            sub = self.peek()
            then: Compare | Present | None = None
            if sub is not None and sub.kind == "subattr":
                self.i += 1
                then = self.parse_comparison(sub.text[1:])
            return ValuePath(path, inner, then)
        return self.parse_comparison(path)

    def parse_comparison(self, path: str) -> Compare | Present:
        t = self.next("an operator")
        op = t.text.lower()
        if t.kind != "word" or op not in COMPARE_OPS | {"pr"}:
            raise FilterError(f"Unknown operator {t.text!r} at position {t.pos + 1}")
        if op == "pr":
            return Present(path)
        v = self.next("a value")
        if v.kind == "string":
            try:
                value: Any = json.loads(v.text)
            except ValueError:
                raise FilterError(f"Invalid string at position {v.pos + 1}") from None
        elif v.kind == "number":
            value = json.loads(v.text)
        elif v.kind == "word" and v.text.lower() in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[v.text.lower()]
        else:
            raise FilterError(
                f"Expected a value (a quoted string, number, true, false or null) at position "
                f"{v.pos + 1}, found {v.text!r}"
            )
        return Compare(path, op, value)


def parse_filter(text: str) -> Node:
    """Parse a SCIM filter; FilterError on anything malformed."""
    if not isinstance(text, str):
        raise FilterError("The filter must be a string")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"The filter is longer than {MAX_FILTER_LENGTH} characters")
    return _Parser(text).parse()


# Evaluation against a dict (PATCH value paths) --------------------------------------------


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    current: Any = item
    for part in path.lower().split("."):
        if not isinstance(current, Mapping):
            return None
        current = next((v for k, v in current.items() if str(k).lower() == part), None)
    return current


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _compare_python(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        a, e = actual.lower(), expected.lower()
    else:
        a, e = actual, expected
    if op == "eq":
        return bool(a == e)
    if op == "ne":
        return bool(a != e)
    if not isinstance(a, str) or not isinstance(e, str):
        if op in ("co", "sw", "ew"):
            return False
    if op == "co":
        return e in a
    if op == "sw":
        return bool(a.startswith(e))
    if op == "ew":
        return bool(a.endswith(e))
    try:
        return bool(_ORDERING[op](a, e))
    except TypeError:
        return False


def matches(node: Node, item: Mapping[str, Any]) -> bool:
    """Whether a dict (one element of a multi-valued attribute) satisfies the filter.
    Strings compare case-insensitively."""
    if isinstance(node, And):
        return matches(node.left, item) and matches(node.right, item)
    if isinstance(node, Or):
        return matches(node.left, item) or matches(node.right, item)
    if isinstance(node, Not):
        return not matches(node.node, item)
    if isinstance(node, Present):
        value = _lookup(item, node.path)
        return value not in (None, "", [], {})
    if isinstance(node, Compare):
        return _compare_python(_lookup(item, node.path), node.op, node.value)
    values = _lookup(item, node.path)
    elements = (
        values if isinstance(values, list) else [values] if isinstance(values, Mapping) else []
    )
    for element in elements:
        if isinstance(element, Mapping) and matches(node.filter, element):
            if node.then is None or matches(node.then, element):
                return True
    return False


# Compilation to SQL --------------------------------------------------------------------

Compiler = Callable[[Compare | Present], Q]


def _string_q(column: str, case_exact: bool = False) -> Compiler:
    def compile_(node: Compare | Present) -> Q:
        if isinstance(node, Present):
            return ~Q(**{column: ""}) & Q(**{f"{column}__isnull": False})
        if node.value is None:
            if node.op in ("eq", "ne"):
                q = Q(**{column: ""}) | Q(**{f"{column}__isnull": True})
                return q if node.op == "eq" else ~q
            raise FilterError(f"{node.path} {node.op} null is not a comparison")
        if not isinstance(node.value, str):
            raise FilterError(f"{node.path} compares with a string, not {node.value!r}")
        # LOWER(col) = 'x' uses the functional indexes; Django's iexact (UPPER) would not.
        key, value = (
            (column, node.value) if case_exact else (f"{column}__lower", node.value.lower())
        )
        lookup = {
            "eq": "exact",
            "ne": "exact",
            "co": "contains",
            "sw": "startswith",
            "ew": "endswith",
            "gt": "gt",
            "ge": "gte",
            "lt": "lt",
            "le": "lte",
        }[node.op]
        q = Q(**{f"{key}__{lookup}": value})
        return ~q if node.op == "ne" else q

    return compile_


def _bool_q(column: str) -> Compiler:
    def compile_(node: Compare | Present) -> Q:
        if isinstance(node, Present):
            return Q()
        if node.op not in ("eq", "ne"):
            raise FilterError(f"{node.path} is a boolean: only eq, ne and pr apply")
        value = node.value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise FilterError(f"{node.path} compares with true or false, not {node.value!r}")
        q = Q(**{column: value})
        return ~q if node.op == "ne" else q

    return compile_


def _datetime_q(column: str) -> Compiler:
    def compile_(node: Compare | Present) -> Q:
        if isinstance(node, Present):
            return Q()
        if node.op in ("co", "sw", "ew"):
            raise FilterError(f"{node.path} is a date-time: use eq, ne, gt, ge, lt or le")
        when = parse_datetime(node.value) if isinstance(node.value, str) else None
        if when is None:
            raise FilterError(
                f"{node.path} compares with an ISO 8601 date-time, not {node.value!r}"
            )
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        lookup = {"eq": "exact", "ne": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
        q = Q(**{f"{column}__{lookup[node.op]}": when})
        return ~q if node.op == "ne" else q

    return compile_


def _uuid_q(column: str, nullable: bool = False) -> Compiler:
    def compile_(node: Compare | Present) -> Q:
        if isinstance(node, Present):
            return Q(**{f"{column}__isnull": False}) if nullable else Q()
        if node.op not in ("eq", "ne"):
            raise FilterError(f"{node.path} is an id: only eq, ne and pr apply")
        try:
            q = Q(**{column: uuid.UUID(str(node.value))})
        except ValueError:
            q = Q(pk__in=[])  # not an id at all: matches nothing
        return ~q if node.op == "ne" else q

    return compile_


def _exists(
    model: type[UserEmail] | type[Membership],
    link: str,
    attributes: dict[str, Compiler],
    label: str,
) -> Callable[[Node | None, Compare | Present | None], Q]:
    """A multi-valued attribute kept in another table: `attr[filter].sub op v` becomes
    EXISTS (a row of this user/group matching the filter and the comparison)."""

    def compile_(inner: Node | None, then: Compare | Present | None) -> Q:
        q = Q()
        if inner is not None:
            q &= _compile(inner, attributes, label)
        if then is not None:
            q &= _compile(then, attributes, label)
        return Q(Exists(model.objects.filter(**{link: OuterRef("pk")}).filter(q)))

    return compile_


_EMAIL_ATTRIBUTES: dict[str, Compiler] = {
    "value": _string_q("value"),
    "type": _string_q("type"),
    "primary": _bool_q("primary"),
}
_USER_GROUP_ATTRIBUTES: dict[str, Compiler] = {
    "value": _uuid_q("group_id"),
    "display": _string_q("group__display_name"),
}
_MEMBER_ATTRIBUTES: dict[str, Compiler] = {
    "value": _uuid_q("user_id"),
    "display": _string_q("user__user_name"),
}

USER_ATTRIBUTES: dict[str, Compiler] = {
    "id": _uuid_q("id"),
    "externalid": _string_q("external_id", case_exact=True),
    "username": _string_q("user_name"),
    "displayname": _string_q("display_name"),
    "nickname": _string_q("nick_name"),
    "title": _string_q("title"),
    "usertype": _string_q("user_type"),
    "preferredlanguage": _string_q("preferred_language"),
    "locale": _string_q("locale"),
    "timezone": _string_q("timezone"),
    "profileurl": _string_q("profile_url", case_exact=True),
    "active": _bool_q("active"),
    "name.formatted": _string_q("name_formatted"),
    "name.familyname": _string_q("family_name"),
    "name.givenname": _string_q("given_name"),
    "name.middlename": _string_q("middle_name"),
    "name.honorificprefix": _string_q("honorific_prefix"),
    "name.honorificsuffix": _string_q("honorific_suffix"),
    "meta.created": _datetime_q("created_at"),
    "meta.lastmodified": _datetime_q("updated_at"),
    ENTERPRISE_URN + "employeenumber": _string_q("employee_number", case_exact=True),
    ENTERPRISE_URN + "costcenter": _string_q("cost_center"),
    ENTERPRISE_URN + "organization": _string_q("organization"),
    ENTERPRISE_URN + "division": _string_q("division"),
    ENTERPRISE_URN + "department": _string_q("department"),
    ENTERPRISE_URN + "manager": _uuid_q("manager_id", nullable=True),
    ENTERPRISE_URN + "manager.value": _uuid_q("manager_id", nullable=True),
}
USER_MULTI_VALUED = {
    "emails": _exists(UserEmail, "user", _EMAIL_ATTRIBUTES, "emails"),
    "groups": _exists(Membership, "user", _USER_GROUP_ATTRIBUTES, "groups"),
}
GROUP_ATTRIBUTES: dict[str, Compiler] = {
    "id": _uuid_q("id"),
    "externalid": _string_q("external_id", case_exact=True),
    "displayname": _string_q("display_name"),
    "meta.created": _datetime_q("created_at"),
    "meta.lastmodified": _datetime_q("updated_at"),
}
GROUP_MULTI_VALUED = {
    "members": _exists(Membership, "group", _MEMBER_ATTRIBUTES, "members"),
}
_ENTERPRISE_SHORT = {
    "employeenumber",
    "costcenter",
    "organization",
    "division",
    "department",
    "manager",
    "manager.value",
}


def _canonical(path: str, resource: str) -> str:
    """Drop the core schema URN; qualify bare enterprise attributes with theirs."""
    core = USER_URN if resource == "User" else GROUP_URN
    if path.startswith(core):
        return path[len(core) :]
    if resource == "User" and path in _ENTERPRISE_SHORT:
        return ENTERPRISE_URN + path
    return path


def _compile(node: Node, attributes: dict[str, Compiler], label: str) -> Q:
    """Compile a node inside a multi-valued attribute's table (no nesting below)."""
    if isinstance(node, And):
        return _compile(node.left, attributes, label) & _compile(node.right, attributes, label)
    if isinstance(node, Or):
        return _compile(node.left, attributes, label) | _compile(node.right, attributes, label)
    if isinstance(node, Not):
        return ~_compile(node.node, attributes, label)
    if isinstance(node, ValuePath):
        raise FilterError(f"Value paths cannot be nested inside {label}[...]")
    compiler = attributes.get(node.path.lower())
    if compiler is None:
        raise FilterError(f"{label}.{node.path} cannot be filtered on")
    return compiler(node)


def _to_q(
    node: Node,
    resource: str,
    attributes: dict[str, Compiler],
    multi: dict[str, Callable[[Node | None, Compare | Present | None], Q]],
) -> Q:
    if isinstance(node, And):
        return _to_q(node.left, resource, attributes, multi) & _to_q(
            node.right, resource, attributes, multi
        )
    if isinstance(node, Or):
        return _to_q(node.left, resource, attributes, multi) | _to_q(
            node.right, resource, attributes, multi
        )
    if isinstance(node, Not):
        return ~_to_q(node.node, resource, attributes, multi)
    path = _canonical(node.path.lower(), resource)
    if isinstance(node, ValuePath):
        if path not in multi:
            raise FilterError(f"{node.path} is not a multi-valued attribute that can be filtered")
        return multi[path](node.filter, node.then)
    head, dot, sub = path.partition(".")
    if head in multi:
        # `emails eq "x"` means emails.value; `emails.type eq "work"` a sub-attribute;
        # `emails pr` any email at all.
        if isinstance(node, Present):
            return multi[head](None, Present(sub) if dot else None)
        return multi[head](None, Compare(sub or "value", node.op, node.value))
    compiler = attributes.get(path)
    if compiler is None:
        raise FilterError(f"{node.path} cannot be filtered on")
    return compiler(node)


def filter_users(qs: QuerySet[EndUser], text: str) -> QuerySet[EndUser]:
    """The users of `qs` (already the request's org) that match the filter."""
    return qs.filter(_to_q(parse_filter(text), "User", USER_ATTRIBUTES, USER_MULTI_VALUED))


def filter_groups(qs: QuerySet[Group], text: str) -> QuerySet[Group]:
    """The groups of `qs` (already the request's org) that match the filter."""
    return qs.filter(_to_q(parse_filter(text), "Group", GROUP_ATTRIBUTES, GROUP_MULTI_VALUED))


# Sorting ---------------------------------------------------------------------------------

_USER_SORT = {
    "id": "id",
    "username": Lower("user_name"),
    "externalid": "external_id",
    "displayname": Lower("display_name"),
    "name.familyname": Lower("family_name"),
    "name.givenname": Lower("given_name"),
    "title": Lower("title"),
    "active": "active",
    "meta.created": "created_at",
    "meta.lastmodified": "updated_at",
    ENTERPRISE_URN + "department": Lower("department"),
    ENTERPRISE_URN + "employeenumber": "employee_number",
}
_GROUP_SORT = {
    "id": "id",
    "displayname": Lower("display_name"),
    "externalid": "external_id",
    "meta.created": "created_at",
    "meta.lastmodified": "updated_at",
}


def _sort_key(attr: str, resource: str, keys: Mapping[str, Any]) -> Any:
    path = _canonical(attr.strip().lower(), resource)
    key = keys.get(path)
    if key is None:
        raise FilterError(f"Cannot sort by {attr!r}")
    return key


def user_sort_key(attr: str) -> str | OrderBy | Lower:
    """The order_by() key for sortBy on Users; FilterError for anything unknown."""
    return _sort_key(attr, "User", _USER_SORT)  # type: ignore[no-any-return]


def group_sort_key(attr: str) -> str | OrderBy | Lower:
    """The order_by() key for sortBy on Groups; FilterError for anything unknown."""
    return _sort_key(attr, "Group", _GROUP_SORT)  # type: ignore[no-any-return]
