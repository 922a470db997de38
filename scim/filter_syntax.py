"""The SCIM filter language (RFC 7644 §3.4.2.2): parsed into an AST, and evaluated against
plain dicts. scim.filters compiles the same AST to SQL.

    FilterError                         a ValueError whose message is safe to show an IdP;
                                        the views turn it into 400 scimType invalidFilter
    parse_filter(text) -> Node          the AST: Compare(path, op, value), Present(path),
                                        And(left, right), Or(left, right), Not(node),
                                        ValuePath(path, filter, then)
    matches(node, item) -> bool         a filter against a plain dict, such as one element of
                                        `emails` or `members` (PATCH value paths)

Grammar: `or` binds looser than `and`, which binds looser than `not`; parentheses; value
paths (`emails[type eq "work" and value co "@x"]`, and Entra's
`emails[type eq "work"].value eq "x"`). Attribute names and operators are
case-insensitive and may carry their schema URN; values are JSON literals.

Why not scim2-filter-parser (installed: django-scim2 needs it for its own filter code,
which this endpoint replaces)? Tried on the malformed filters of tests/scim/test_filters.py,
its parser (0.7.0) accepts what the RFC refuses (`x gt true`, `x lt null`, the invalid
escape `"\\q"`), keeps string literals undecoded, and answers with token reprs
("Parsing error at: Token(type='PR', ...)") or a bare ValueError, which an IdP cannot act
on. Its AST would still need the checks and the Q compiler; this parser is those checks,
with messages that say where the filter went wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from scim.values import unstorable

MAX_FILTER_LENGTH = 4096
# Each `(`, `[` and `not` is a level; evaluation recurses once per level, so this also
# bounds the stack that hostile input can use.
MAX_DEPTH = 50


COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_KEYWORDS = COMPARE_OPS | {"pr", "and", "or", "not"}


class FilterError(ValueError):
    """A filter that cannot be evaluated; the message is safe to show an IdP."""


def shown(text: str) -> str:
    # Error messages echo the IdP's input, but never a whole 4 KB of it.
    return repr(text if len(text) <= 40 else text[:37] + "...")


# AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    path: str  # as written; compare with .lower()
    op: str  # lower-case, one of COMPARE_OPS
    value: Any  # str, bool, int, float or None


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
    """`path[filter]`, optionally followed by `.sub op value` (`then`, Entra's form)."""

    path: str
    filter: Node
    then: Compare | Present | None = None


Node = Union[Compare, Present, And, Or, Not, ValuePath]  # noqa: UP007 - used at runtime


def operands(node: And | Or) -> Iterator[Node]:
    """The operands of a chain `a and b and c` without recursing down it: the parser
    builds chains left-deep, and a 4 KB filter can hold hundreds of terms."""
    right: list[Node] = []
    current: Node = node
    while isinstance(current, And | Or) and type(current) is type(node):
        right.append(current.right)
        current = current.left
    yield current
    yield from reversed(right)


# Parser ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d[\w.+-]*)
  | (?P<subattr>\.[A-Za-z$][\w$-]*)
  | (?P<word>[A-Za-z$][\w:.$-]*)
  | (?P<punct>[()\[\]])
    """,
    re.VERBOSE,
)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int  # 1-based, for messages


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"Unexpected character {text[pos]!r} at position {pos + 1}")
        if m.lastgroup != "ws":
            tokens.append(_Token(m.lastgroup or "", m.group(), pos + 1))
        pos = m.end()
    return tokens


@dataclass
class _Parser:
    tokens: list[_Token]
    i: int = 0
    depth: int = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def peek_keyword(self) -> str | None:
        t = self.peek()
        return t.text.lower() if t is not None and t.kind == "word" else None

    def take(self, what: str) -> _Token:
        t = self.peek()
        if t is None:
            raise FilterError(f"The filter ends where {what} was expected")
        self.i += 1
        return t

    def expect(self, char: str) -> None:
        t = self.take(repr(char))
        if t.text != char:
            raise FilterError(f"Expected {char!r} at position {t.pos}, found {shown(t.text)}")

    def descend(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"The filter is nested more than {MAX_DEPTH} levels deep")

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("The filter is empty")
        node = self.parse_or()
        t = self.peek()
        if t is not None:
            raise FilterError(f"Unexpected {shown(t.text)} at position {t.pos}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.peek_keyword() == "or":
            self.i += 1
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.peek_keyword() == "and":
            self.i += 1
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.peek_keyword() == "not":
            # The RFC wants `not (...)`; a bare `not a eq b` is unambiguous, so accept it.
            self.i += 1
            self.descend()
            node: Node = Not(self.parse_not())
            self.depth -= 1
            return node
        t = self.peek()
        if t is not None and t.text == "(":
            self.i += 1
            self.descend()
            node = self.parse_or()
            self.expect(")")
            self.depth -= 1
            return node
        return self.parse_attribute_expression()

    def parse_attribute_expression(self) -> Node:
        t = self.take("an attribute name")
        if t.kind != "word" or t.text.lower() in _KEYWORDS:
            raise FilterError(
                f"Expected an attribute name at position {t.pos}, found {shown(t.text)}"
            )
        nxt = self.peek()
        if nxt is None or nxt.text != "[":
            return self.parse_comparison(t.text)
        self.i += 1
        self.descend()
        inner = self.parse_or()
        self.expect("]")
        self.depth -= 1
        then: Compare | Present | None = None
        sub = self.peek()
        if sub is not None and sub.kind == "subattr":
            self.i += 1
            then = self.parse_comparison(sub.text[1:])
        return ValuePath(t.text, inner, then)

    def parse_comparison(self, path: str) -> Compare | Present:
        t = self.take(f"an operator after {shown(path)}")
        op = t.text.lower()
        if t.kind != "word" or op not in COMPARE_OPS | {"pr"}:
            raise FilterError(f"Unknown operator {shown(t.text)} at position {t.pos}")
        if op == "pr":
            return Present(path)
        value = self.parse_value()
        # Operators that make no sense for the literal's type fail whatever the attribute.
        if isinstance(value, bool) and op not in ("eq", "ne"):
            raise FilterError(f"{path} {op} {str(value).lower()}: booleans take only eq and ne")
        if value is None and op not in ("eq", "ne"):
            raise FilterError(f"{path} {op} null: null takes only eq and ne")
        if isinstance(value, int | float) and op in ("co", "sw", "ew"):
            raise FilterError(f"{path} {op} {value}: {op} compares strings")
        return Compare(path, op, value)

    def parse_value(self) -> Any:
        v = self.take("a value")
        if v.kind == "string":
            try:
                text: str = json.loads(v.text)
            except ValueError:
                raise FilterError(f"Invalid string at position {v.pos}") from None
            reason = unstorable(text)
            if reason:
                raise FilterError(f"The string at position {v.pos} contains {reason}")
            return text
        if v.kind == "number":
            if not _JSON_NUMBER.fullmatch(v.text):
                raise FilterError(f"Invalid number {shown(v.text)} at position {v.pos}")
            number = json.loads(v.text)
            if isinstance(number, float) and not math.isfinite(number):
                raise FilterError(f"The number at position {v.pos} is too large")
            return number
        literals = {"true": True, "false": False, "null": None}
        if v.kind == "word" and v.text.lower() in literals:
            return literals[v.text.lower()]
        raise FilterError(
            f"Expected a value (a quoted string, a number, true, false or null) at position "
            f"{v.pos}, found {shown(v.text)}"
        )


def parse_filter(text: str) -> Node:
    """Parse a SCIM filter into its AST; FilterError on anything malformed."""
    if not isinstance(text, str):
        raise FilterError("The filter must be a string")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"The filter is longer than {MAX_FILTER_LENGTH} characters")
    return _Parser(_tokenize(text)).parse()


# Evaluation against a dict (PATCH value paths) ------------------------------------------


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    current: Any = item
    for part in path.lower().split("."):
        if not isinstance(current, Mapping):
            return None
        current = next((v for k, v in current.items() if str(k).lower() == part), None)
    return current


def as_bool(value: Any) -> Any:
    # Entra sends booleans as "True"/"False" strings; stored elements may carry them too.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _compare_python(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, bool):
        actual = as_bool(actual)
        same = isinstance(actual, bool) and actual == expected
        return same if op == "eq" else not same
    if isinstance(actual, bool):
        # Python would call True == 1; SCIM would not.
        return op == "ne"
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op in ("eq", "ne"):
        return bool(actual == expected) == (op == "eq")
    if op in ("co", "sw", "ew"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        if op == "co":
            return expected in actual
        return actual.startswith(expected) if op == "sw" else actual.endswith(expected)
    try:
        if op == "gt":
            return bool(actual > expected)
        if op == "ge":
            return bool(actual >= expected)
        if op == "lt":
            return bool(actual < expected)
        return bool(actual <= expected)
    except TypeError:
        return False


def matches(node: Node, item: Mapping[str, Any]) -> bool:
    """Whether a dict (one element of a multi-valued attribute) satisfies the filter.

    Strings compare case-insensitively: the sub-attributes filtered in PATCH paths
    (type, value, display of emails, members, ...) are caseExact false or UUIDs."""
    if isinstance(node, And):
        return all(matches(n, item) for n in operands(node))
    if isinstance(node, Or):
        return any(matches(n, item) for n in operands(node))
    if isinstance(node, Not):
        return not matches(node.node, item)
    if isinstance(node, Present):
        return _lookup(item, node.path) not in (None, "", [], {})
    if isinstance(node, Compare):
        return _compare_python(_lookup(item, node.path), node.op, node.value)
    values = _lookup(item, node.path)
    elements = values if isinstance(values, list) else [values]
    return any(
        isinstance(e, Mapping)
        and matches(node.filter, e)
        and (node.then is None or matches(node.then, e))
        for e in elements
    )
