"""Template helpers of the console's tables: sortable headers, the page jump's hidden
fields, numbers with thousands separators."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

PER_PAGE = (50, 100, 500)


@register.simple_tag
def per_page_choices() -> tuple[int, ...]:
    """The page sizes a console table offers (commandcenter.views.page_of reads them)."""
    return PER_PAGE


@register.filter
def thousands(value: Any) -> str:
    """12345 -> "12,345" (anything that is not a number is shown as it is)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.simple_tag(takes_context=True)
def sort_header(context: dict[str, Any], key: str, label: str, default: str) -> SafeString:
    """A column header that sorts the table by `key`: ascending first, descending when
    clicked again. `default` is the table's order when the query names none."""
    request = context["request"]
    current = request.GET.get("sort") or default
    active = current.removeprefix("-") == key
    desc = active and current.startswith("-")
    query = request.GET.copy()
    query.pop("page", None)
    query["sort"] = key if desc or not active else f"-{key}"
    if not active:
        return format_html(
            '<th scope="col"><a href="?{}" title="Sort by {}">{}</a></th>',
            query.urlencode(),
            label.lower(),
            label,
        )
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="?{}" aria-current="true" data-dir="{}" '
        'title="Sorted {}: click to reverse">{}</a></th>',
        "descending" if desc else "ascending",
        query.urlencode(),
        "desc" if desc else "asc",
        "descending" if desc else "ascending",
        label,
    )


@register.simple_tag(takes_context=True)
def query_fields(context: dict[str, Any], *skip: str) -> SafeString:
    """The current query's parameters as hidden fields, but `skip` (for a GET form that
    changes only those, such as the page jump)."""
    items = [
        (key, value)
        for key, values in context["request"].GET.lists()
        if key not in skip
        for value in values
    ]
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', items)
