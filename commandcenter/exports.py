"""CSV exports of the Users and Groups tables, streamed: rows are read from the database
in chunks and written out as they come, so an export of 100,000 users holds a chunk in
memory, never the list (bench/export.py measures it)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from directory.models import EndUser, Group

CHUNK = 2000
USER_COLUMNS = (
    ("id", "id"),
    ("userName", "user_name"),
    ("givenName", "given_name"),
    ("familyName", "family_name"),
    ("displayName", "display_name"),
    ("email", "emails"),
    ("externalId", "external_id"),
    ("source", "source"),
    ("active", "active"),
    ("seat", "has_seat"),
    ("access", "access"),
    ("lastSignIn", "last_signin_at"),
    ("created", "created_at"),
)
GROUP_COLUMNS = (
    ("id", "id"),
    ("displayName", "display_name"),
    ("externalId", "external_id"),
    ("source", "source"),
    ("members", "member_count"),
    ("updated", "updated_at"),
)
# A cell that a spreadsheet would run as a formula (CSV injection: a userName such as
# `=HYPERLINK(...)` pushed by an IdP) is written with a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # emails: the primary one, else the first
        primary = [e for e in value if isinstance(e, dict) and e.get("primary")]
        chosen = (primary or [e for e in value if isinstance(e, dict)] or [{}])[0]
        value = chosen.get("value", "")
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _lines(header: Iterable[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # the BOM: Excel then reads UTF-8
    # One piece of output per 500 rows, not per row: every piece is a write to the socket.
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([_cell(v) for v in row]))
        if len(batch) == 500:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def csv_response(
    items: QuerySet[Any], columns: tuple[tuple[str, str], ...], filename: str
) -> StreamingHttpResponse:
    rows = items.values_list(*(field for _, field in columns)).iterator(chunk_size=CHUNK)
    response = StreamingHttpResponse(
        _lines((name for name, _ in columns), rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def users_csv(users: QuerySet[EndUser], filename: str) -> StreamingHttpResponse:
    return csv_response(users, USER_COLUMNS, filename)


def groups_csv(groups: QuerySet[Group], filename: str) -> StreamingHttpResponse:
    return csv_response(groups, GROUP_COLUMNS, filename)
