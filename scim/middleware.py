"""A short path through Django's middleware for SCIM requests.

The SCIM endpoint authenticates by bearer token and answers JSON: it has no use for
sessions, CSRF cookies, the console's login, flash messages, sign-in throttling or
static files, and running them cost about a tenth of a SCIM request's CPU. Placed
right after SecurityMiddleware (whose headers SCIM responses keep), this answers
/scim/v2/ requests itself and hands everything else on down the chain.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLResolver
from django.urls.resolvers import RegexPattern

PREFIX = "/scim/v2/"


class ScimMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # The same routes as commandcenter.urls includes at PREFIX (all of scim.urls
        # under it resolve, down to its catch-all), resolved without the console's.
        self.resolver = URLResolver(RegexPattern("^" + PREFIX), "scim.urls")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS applies here as everywhere (400 if not allowed)
        match = self.resolver.resolve(request.path_info)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        if not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
