"""PLACEHOLDER, replaced by the protocol's implementation before this branch lands."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def start(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    raise NotImplementedError


def metadata(request: HttpRequest, slug: str) -> HttpResponse:
    raise NotImplementedError


def acs(request: HttpRequest, slug: str) -> HttpResponse:
    raise NotImplementedError


def callback(request: HttpRequest, slug: str) -> HttpResponse:
    raise NotImplementedError
