"""List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the pages they read.

The same rules for a query string and a SearchRequest body: startIndex, count, filter,
sortBy/sortOrder, attributes/excludedAttributes, each of its type, each in range.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from scim import attributes as attrs
from scim.errors import ScimError, bad_request
from scim.schema import (
    LIST_RESPONSE_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
)

# startIndex beyond this is past any directory's end (and still fits every database's
# OFFSET): a larger one, however large, reads an empty page instead of overflowing.
_MAX_START_INDEX = 2**31 - 1


class ListParams:
    """startIndex/count/filter/sortBy/attributes, from a query string or a SearchRequest
    body (where each must also be of its JSON type: `{"count": "5"}` is not a count)."""

    def __init__(self, source: dict[str, Any]) -> None:
        given = {str(k).lower(): v for k, v in source.items()}
        self.filter = self._text(given.get("filter"), "filter", "invalidFilter")
        self.sort_by = self._text(given.get("sortby"), "sortBy")
        order = (self._text(given.get("sortorder"), "sortOrder") or "ascending").lower()
        if order not in ("ascending", "descending"):
            raise bad_request("sortOrder must be ascending or descending")
        self.descending = order == "descending"
        start = self._int(given.get("startindex"), 1, "startIndex")
        self.start = min(max(1, start), _MAX_START_INDEX)
        count = self._int(given.get("count"), settings.SCIM_DEFAULT_PAGE_SIZE, "count")
        self.count = min(max(0, count), settings.SCIM_MAX_PAGE_SIZE)
        self.attributes = attrs.parse_attribute_list(
            self._names(given.get("attributes"), "attributes")
        )
        self.excluded = attrs.parse_attribute_list(
            self._names(given.get("excludedattributes"), "excludedAttributes")
        )

    @staticmethod
    def _text(value: Any, name: str, scim_type: str = "invalidValue") -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ScimError(400, f"{name} must be a string", scim_type)
        return value

    @staticmethod
    def _names(value: Any, name: str) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise bad_request(f"{name} must be a string or a list of strings")

    @staticmethod
    def _int(value: Any, default: int, name: str) -> int:
        if value is None or value == "":
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 10.0 from a client that writes every number as a float
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass  # not a number, or more digits than Python converts
        raise bad_request(f"{name} must be an integer, got {_show(value)}")


def _show(value: Any) -> str:
    """A client's value in an error message: short, and storable in its event."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def page_of(qs: QuerySet[Any], params: ListParams) -> tuple[list[Any], int]:
    """One page and the total. The page is read first: when it is the first page and
    not full (an IdP's userName lookup, say), its length is the total and the COUNT
    query is skipped."""
    if params.count == 0:
        return [], qs.count()
    page = list(qs[params.start - 1 : params.start - 1 + params.count])
    if params.start == 1 and len(page) < params.count:
        return page, len(page)
    return page, qs.count()


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def search_params(body: Any) -> ListParams:
    """The parameters of a SearchRequest body (RFC 7644 §3.4.3)."""
    if not isinstance(body, dict):
        raise ScimError(400, "A search is a SearchRequest JSON object", "invalidSyntax")
    schemas = body.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or SEARCH_REQUEST_SCHEMA not in schemas
    ):
        raise ScimError(
            400, f"schemas must be a list containing {SEARCH_REQUEST_SCHEMA}", "invalidSyntax"
        )
    return ListParams(body)
