"""Paging of the console's tables: page numbers, "last", and the page size chosen."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from commandcenter.templatetags.console import PER_PAGE

PAGE_SIZE = 50


def page_of(request: HttpRequest, items: Any) -> Page[Any]:
    """The page the query asks for (`page`: a number or "last"; the first or the last
    page when out of range), of `per_page` rows (one of PER_PAGE, else PAGE_SIZE)."""
    per_page = request.GET.get("per_page", "")
    size = int(per_page) if per_page.isdigit() and int(per_page) in PER_PAGE else PAGE_SIZE
    paginator = Paginator(items, size)
    number = request.GET.get("page")
    return paginator.get_page(paginator.num_pages if number == "last" else number)
