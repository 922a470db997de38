"""The SCIM 2.0 endpoint, on django-scim2's views, made multi-tenant.

Every request: authenticate the bearer token (bound to one directory, so one org),
parse, call one directory service (one transaction, event included), render SCIM
JSON. Every failure is a SCIM Error; failed writes are recorded as events too.
"""

from __future__ import annotations

import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_scim import views as scim2_views

from directory import services
from directory.errors import DirectoryError
from directory.models import (
    EndUser,
    Group,
    Membership,
    Org,
    ProvisioningEvent,
    ScimDirectory,
    Source,
)
from directory.prepared import PreparedQuery
from scim import attributes as attrs
from scim.adapters import (
    ScimGroup,
    ScimUser,
    group_fields_from_dict,
    user_fields_from_dict,
)
from scim.errors import SCIM_CONTENT_TYPE, ScimError, bad_request, from_directory_error, not_found
from scim.filters import (
    FilterError,
    filter_groups,
    filter_users,
    group_sort_key,
    user_name_eq,
    user_sort_key,
)
from scim.hooks import SCIM_VISIBLE_USERS, scoped_queryset
from scim.patch import PatchError, apply_user_patch, parse_patch, plan_group_patch
from scim.schemas import (
    LIST_RESPONSE_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
    resource_type_documents,
    schema_documents,
    service_provider_config,
)
from scim.throttle import scim_admit, throttle_event_due
from scim.values import decode_json, storable_text
from tokens.auth import token_from_header, token_touch
from tokens.models import ScimToken

logger = logging.getLogger(__name__)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
WWW_AUTHENTICATE = str(settings.SCIM_SERVICE_PROVIDER["WWW_AUTHENTICATE_HEADER"])
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def scim_response(
    doc: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    body = "" if doc is None else json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, content_type=SCIM_CONTENT_TYPE, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _etag_versions(header: str) -> list[int] | None:
    """Versions named by an If-Match/If-None-Match header; None for `*`."""
    if header.strip() == "*":
        return None
    versions = []
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag.isdigit():
            versions.append(int(tag))
        else:
            versions.append(-1)  # matches no version
    return versions


def _too_large() -> ScimError:
    return ScimError(413, f"The request body is larger than {settings.SCIM_MAX_BODY_BYTES} bytes")


def read_body(request: HttpRequest) -> bytes:
    """The request's body, at most SCIM_MAX_BODY_BYTES of it (413 beyond), sent with a
    Content-Length or chunked. Django reads a body without Content-Length as empty; a
    server that has decoded the chunks and ends the stream (gunicorn sets
    wsgi.input_terminated) lets us read it to its end instead."""
    limit = settings.SCIM_MAX_BODY_BYTES
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not request.META.get("CONTENT_LENGTH"):
        if not request.META.get("wsgi.input_terminated"):
            raise ScimError(411, "Send the body with a Content-Length header")
        try:
            raw: bytes = request.META["wsgi.input"].read(limit + 1)
        except Exception as e:  # the server's decoder: a bad chunk size, a missing CRLF
            raise ScimError(
                400, f"The chunked request body is malformed: {e}", "invalidSyntax"
            ) from None
        if len(raw) > limit:
            raise _too_large()
        return raw
    try:
        return request.body
    except RequestDataTooBig:
        raise _too_large() from None


@dataclass(frozen=True)
class Caller:
    """Who a SCIM request is from, once its token has authenticated: the token, its
    directory and that directory's org, which every query and write is confined to."""

    token: ScimToken
    directory: ScimDirectory
    org: Org


class ScimViewMixin:
    """Authentication, tenancy, body handling and error mapping for every SCIM view.

    Replaces django-scim2's dispatch: its auth check and URL reversing assume one
    tenant, and it turns database outages into 500s.
    """

    resource_type = ""
    request: HttpRequest
    kwargs: dict[str, Any]
    http_method_names: list[str]
    # Set by the gate for an authenticated request; a refused one records its failure
    # event only while this is set (a throttled flood records one event a minute).
    caller: Caller | None = None

    @property
    def scim(self) -> Caller:
        """The authenticated caller (the views run only after the gate has set it)."""
        if self.caller is None:
            raise RuntimeError("SCIM view reached without an authenticated caller")
        return self.caller

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        directory_id = kwargs.pop("directory_id")
        self.request, self.kwargs = request, kwargs
        try:
            response = self._dispatch(request, directory_id, *args, **kwargs)
        except ScimError as e:
            response = e.response()
            self._record_failure(request, e)
        except DirectoryError as e:
            error = from_directory_error(e)
            response = error.response()
            self._record_failure(request, error)
        except (OperationalError, InterfaceError):
            logger.exception("SCIM request failed: database unavailable")
            response = ScimError(
                503,
                "The directory is temporarily unavailable; retry later",
                headers={"Retry-After": "5"},
            ).response()
        except (DataError, UnicodeEncodeError):
            # What the checks before it let through and the database still refused: a
            # number out of its range, or a filter value with a NUL or a lone surrogate.
            error = bad_request(
                "A value is out of the range this directory can store, or holds a character "
                "it cannot store (NUL, a lone UTF-16 surrogate)"
            )
            response = error.response()
            self._record_failure(request, error)
        except Exception:
            logger.exception("SCIM request failed")
            response = ScimError(500, "Internal error while processing the request").response()
        return response

    def _dispatch(
        self, request: HttpRequest, directory_id: uuid.UUID, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        raw = token_from_header(header) if header else ""
        token, allowed = scim_admit(raw, address=request.META.get("REMOTE_ADDR", ""))
        if token is None or token.directory_id != directory_id:
            raise ScimError(
                401,
                "Send a valid SCIM API token of this directory as 'Authorization: Bearer <token>'"
                if header
                else "Authentication required: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": WWW_AUTHENTICATE},
            )
        directory = token.directory
        self.caller = Caller(token=token, directory=directory, org=directory.org)
        if not allowed:
            if throttle_event_due(org=directory.org):
                services.event_record(
                    org=directory.org,
                    directory=directory,
                    action=ProvisioningEvent.Action.REQUEST,
                    outcome=ProvisioningEvent.Outcome.FAILURE,
                    message="Throttled: the IdP sent more requests per second than this "
                    "org's SCIM rate limit allows; they were refused with 429 and retried",
                    status_code=429,
                    client=self.client,
                )
            self.caller = None  # no failure event per refused request
            raise ScimError(
                429,
                "Too many requests: slow down and retry after the Retry-After seconds",
                headers={"Retry-After": "1"},
            )
        token_touch(
            token,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.SCIM_MAX_BODY_BYTES:
            raise _too_large()
        method = (request.method or "GET").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise ScimError(
                405,
                f"{request.method} is not supported on this endpoint",
                headers={"Allow": ", ".join(m.upper() for m in self.http_method_names)},
            )
        response: HttpResponse = getattr(self, method)(request, *args, **kwargs)
        return response

    # Helpers for the resource views ----------------------------------------------

    @property
    def base_url(self) -> str:
        return self.scim.directory.base_url

    @property
    def client(self) -> str:
        return str(self.request.META.get("HTTP_USER_AGENT", ""))[:255]

    def json_body(self, request: HttpRequest) -> Any:
        if request.content_type in _FORM_TYPES:
            raise ScimError(
                415, "Send JSON: Content-Type application/scim+json or application/json"
            )
        raw = read_body(request)
        if not raw.strip():
            raise ScimError(400, "The request body is empty", "invalidSyntax")
        return decode_json(raw, (request.content_params or {}).get("charset"))

    def expected_version(self, request: HttpRequest, current: int) -> int | None:
        """The version an If-Match header lets the write go ahead on, or None without
        a condition. With several tags, `current` (as read before the write) is the one
        to hold the write to if it is among them: the service checks it again under its
        row lock, so a change in between still answers 412."""
        header = request.META.get("HTTP_IF_MATCH")
        if not header:
            return None
        versions = _etag_versions(header)
        if versions is None:
            return None
        return current if current in versions else versions[0]

    def _record_failure(self, request: HttpRequest, error: ScimError) -> None:
        """Record a failed write (or a refused query) as a Failure event, so admins see
        why the IdP reports errors. The request's own transaction has rolled back."""
        if self.caller is None or error.status in (405, 501):
            return
        org = self.caller.org
        if request.method not in WRITE_METHODS and error.status != 400:
            return
        action = _failure_action(self.resource_type, request.method or "", self.kwargs)
        try:
            name = "" if error.status == 413 else _resource_name(request)
            services.event_record(
                org=org,
                directory=self.caller.directory,
                action=action,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                resource_type=self.resource_type,
                resource_id=_uuid_or_none(self.kwargs.get("uuid")),
                resource_name=name,
                message=storable_text(error.detail),
                status_code=error.status,
                client=self.client,
            )
        except Exception:
            # The IdP must still get its SCIM error; losing the event is the lesser harm.
            logger.exception("Could not record a failure event")


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _resource_name(request: HttpRequest) -> str:
    """The userName or displayName a failed POST/PUT was about, for its event."""
    if request.method not in ("POST", "PUT"):
        return ""
    try:
        raw = request.body
        if len(raw) > 100_000:
            return ""
        body = json.loads(raw)
    except (ValueError, RecursionError, RequestDataTooBig):
        return ""
    if not isinstance(body, dict):
        return ""
    for key, value in body.items():
        if key.lower() in ("username", "displayname") and isinstance(value, str):
            return storable_text(value[:255])
    return ""


_FAILURE_ACTIONS = {
    ("User", "POST"): ProvisioningEvent.Action.USER_CREATE,
    ("User", "PUT"): ProvisioningEvent.Action.USER_UPDATE,
    ("User", "PATCH"): ProvisioningEvent.Action.USER_UPDATE,
    ("User", "DELETE"): ProvisioningEvent.Action.USER_DELETE,
    ("Group", "POST"): ProvisioningEvent.Action.GROUP_CREATE,
    ("Group", "PUT"): ProvisioningEvent.Action.GROUP_UPDATE,
    ("Group", "PATCH"): ProvisioningEvent.Action.GROUP_UPDATE,
    ("Group", "DELETE"): ProvisioningEvent.Action.GROUP_DELETE,
}


def _failure_action(resource_type: str, method: str, kwargs: dict[str, Any]) -> str:
    return _FAILURE_ACTIONS.get((resource_type, method), ProvisioningEvent.Action.REQUEST)


# `filter=userName eq "..."`, exactly as filter_users() builds it (same folding of
# case, same scope as scope_kwargs, the org matched the way services.users_of_org_by_name
# does so it reads the unique userName index whatever the statistics), compiled once
# (see directory.prepared). No order: it matches at most one user.
_USERS_NAMED = PreparedQuery(
    lambda org_id, name: filter_users(
        services.users_of_org_by_name(org_id).filter(**SCIM_VISIBLE_USERS),
        "userName eq " + json.dumps(name),
    ),
    samples=(-7_000_001, "prepared-sample-user-name"),
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


def _page(qs: QuerySet[Any], params: ListParams) -> tuple[list[Any], int]:
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


# Users ---------------------------------------------------------------------------


class UsersView(ScimViewMixin, scim2_views.UsersView):
    resource_type = "User"
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def get_object(self) -> EndUser:
        uid = _uuid_or_none(self.kwargs.get("uuid"))
        user: EndUser | None = (
            scoped_queryset(self.scim.org, EndUser).filter(id=uid).first() if uid else None
        )
        if user is None:
            raise not_found("User", str(self.kwargs.get("uuid")))
        return user

    def _groups_of(self, users: list[EndUser]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
        groups: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        rows = (
            Membership.objects.filter(user_id__in=[u.id for u in users])
            .order_by("group__display_name")
            .values_list("user_id", "group_id", "group__display_name")
        )
        for user_id, group_id, name in rows:
            groups[user_id].append((group_id, name))
        return groups

    def render(
        self, user: EndUser, params: ListParams | None = None, groups: bool = True
    ) -> dict[str, Any]:
        group_list = self._groups_of([user])[user.id] if groups else None
        doc = ScimUser(user, base_url=self.base_url, groups=group_list).to_dict()
        if params is not None:
            doc = attrs.project(doc, params.attributes, params.excluded)
        return doc

    def respond(self, user: EndUser, status: int = 200, new: bool = False) -> HttpResponse:
        params = ListParams(self.request.GET.dict())
        adapter = ScimUser(user, base_url=self.base_url)
        # A user created just now is in no group: no need to ask the database.
        wants_groups = not new and attrs.wants("groups", params.attributes, params.excluded)
        return scim_response(
            self.render(user, params, groups=wants_groups),
            status=status,
            headers={"ETag": adapter.etag, "Location": adapter.location},
        )

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            return self.get_many(request)
        user = self.get_object()
        etag = ScimUser(user, base_url=self.base_url).etag
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match:
            versions = _etag_versions(if_none_match)
            if versions is None or user.version in versions:
                return scim_response(None, status=304, headers={"ETag": etag})
        return self.respond(user)

    def get_many(self, request: HttpRequest, params: ListParams | None = None) -> HttpResponse:
        params = params or ListParams(request.GET.dict())
        name = self._user_name_lookup(params)
        if name is not None:
            # The IdP's lookup before a create: at most one user (userName is unique
            # per org), from SQL compiled once.
            found = _USERS_NAMED.all(self.scim.org.pk, name)
            page, total = found[params.start - 1 : params.start - 1 + params.count], len(found)
        else:
            page, total = _page(self.queryset(request, params), params)
        return scim_response(list_response(self.render_many(page, params), total, params.start))

    @staticmethod
    def _user_name_lookup(params: ListParams) -> str | None:
        if not params.filter or params.sort_by:
            return None
        try:
            return user_name_eq(params.filter)
        except FilterError as e:
            raise ScimError(400, str(e), "invalidFilter") from None

    def render_many(self, page: list[EndUser], params: ListParams) -> list[dict[str, Any]]:
        wants_groups = attrs.wants("groups", params.attributes, params.excluded)
        groups = self._groups_of(page) if wants_groups and page else {}
        return [
            attrs.project(
                ScimUser(
                    u, base_url=self.base_url, groups=groups.get(u.id, []) if wants_groups else None
                ).to_dict(),
                params.attributes,
                params.excluded,
            )
            for u in page
        ]

    def queryset(
        self, request: HttpRequest, params: ListParams, *, sort: bool = True
    ) -> QuerySet[EndUser]:
        """The org's users that the filter matches, in the order asked for."""
        qs: QuerySet[EndUser] = scoped_queryset(self.scim.org, EndUser)
        try:
            if params.filter:
                qs = filter_users(qs, params.filter)
            order: list[Any] = ["created_at", "id"]
            if params.sort_by and sort:
                order = [user_sort_key(str(params.sort_by)), "created_at", "id"]
        except FilterError as e:
            raise ScimError(400, str(e), "invalidFilter") from None
        if params.descending:
            order = [o.desc() if hasattr(o, "desc") else f"-{o}" for o in order]
        return qs.order_by(*order)

    def post(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is not None:
            raise ScimError(
                405, "POST a new user to /Users", headers={"Allow": "GET, PUT, PATCH, DELETE"}
            )
        fields = user_fields_from_dict(self.json_body(request))
        user = services.user_create(
            org=self.scim.org,
            fields=fields,
            source=Source.SCIM,
            directory=self.scim.directory,
            client=self.client,
        )
        return self.respond(user, status=201, new=user.version == 1)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "PUT a user at /Users/{id}", headers={"Allow": "GET, POST"})
        user = self.get_object()
        body = self.json_body(request)
        fields = user_fields_from_dict(body)
        if not any(str(k).lower() == "active" for k in body):
            fields.active = user.active  # a PUT without `active` does not (de)activate
        change = services.user_update(
            user=user,
            fields=fields,
            expected_version=self.expected_version(request, user.version),
            directory=self.scim.directory,
            client=self.client,
        )
        if change.deleted:
            return scim_response(self.render(change.user, groups=False))
        return self.respond(change.user)

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "PATCH a user at /Users/{id}", headers={"Allow": "GET, POST"})
        try:
            ops = parse_patch(self.json_body(request))
        except PatchError as e:
            raise ScimError(400, str(e), e.scim_type) from None
        with transaction.atomic():
            user = self.get_object()
            user = EndUser.objects.select_for_update().get(pk=user.pk)
            expected = self.expected_version(request, user.version)
            if expected is not None and user.version != expected:
                raise ScimError(
                    412, f"The user was changed since version {expected} (now {user.version})"
                )
            resource = ScimUser(user, base_url=self.base_url).to_dict()
            try:
                patched = apply_user_patch(resource, ops)
            except PatchError as e:
                raise ScimError(400, str(e), e.scim_type) from None
            change = services.user_update(
                user=user,
                fields=user_fields_from_dict(patched),
                directory=self.scim.directory,
                client=self.client,
            )
        if change.deleted:
            return scim_response(None, status=204)
        return self.respond(change.user)

    def delete(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "DELETE a user at /Users/{id}", headers={"Allow": "GET, POST"})
        user = self.get_object()
        services.user_deprovision(
            user=user,
            directory=self.scim.directory,
            expected_version=self.expected_version(request, user.version),
            client=self.client,
        )
        return scim_response(None, status=204)


# Groups --------------------------------------------------------------------------


class GroupsView(ScimViewMixin, scim2_views.GroupsView):
    resource_type = "Group"
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def get_object(self) -> Group:
        gid = _uuid_or_none(self.kwargs.get("uuid"))
        group: Group | None = (
            scoped_queryset(self.scim.org, Group).filter(id=gid).first() if gid else None
        )
        if group is None:
            raise not_found("Group", str(self.kwargs.get("uuid")))
        return group

    def _members_of(self, groups: list[Group]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
        members: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        rows = (
            Membership.objects.filter(group_id__in=[g.id for g in groups])
            .order_by("id")
            .values_list("group_id", "user_id", "user__user_name")
        )
        for group_id, user_id, user_name in rows:
            members[group_id].append((user_id, user_name))
        return members

    def respond(self, group: Group, status: int = 200) -> HttpResponse:
        params = ListParams(self.request.GET.dict())
        wants_members = attrs.wants("members", params.attributes, params.excluded)
        members = self._members_of([group])[group.id] if wants_members else None
        adapter = ScimGroup(group, base_url=self.base_url, members=members)
        return scim_response(
            attrs.project(adapter.to_dict(), params.attributes, params.excluded),
            status=status,
            headers={"ETag": adapter.etag, "Location": adapter.location},
        )

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            return self.get_many(request)
        group = self.get_object()
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match:
            versions = _etag_versions(if_none_match)
            if versions is None or group.version in versions:
                etag = ScimGroup(group, base_url=self.base_url).etag
                return scim_response(None, status=304, headers={"ETag": etag})
        return self.respond(group)

    def get_many(self, request: HttpRequest, params: ListParams | None = None) -> HttpResponse:
        params = params or ListParams(request.GET.dict())
        page, total = _page(self.queryset(request, params), params)
        return scim_response(list_response(self.render_many(page, params), total, params.start))

    def queryset(
        self, request: HttpRequest, params: ListParams, *, sort: bool = True
    ) -> QuerySet[Group]:
        """The org's groups that the filter matches, in the order asked for."""
        qs: QuerySet[Group] = scoped_queryset(self.scim.org, Group)
        try:
            if params.filter:
                qs = filter_groups(qs, params.filter)
            order: list[Any] = ["created_at", "id"]
            if params.sort_by and sort:
                order = [group_sort_key(str(params.sort_by)), "created_at", "id"]
        except FilterError as e:
            raise ScimError(400, str(e), "invalidFilter") from None
        if params.descending:
            order = [o.desc() if hasattr(o, "desc") else f"-{o}" for o in order]
        return qs.order_by(*order)

    def render_many(self, page: list[Group], params: ListParams) -> list[dict[str, Any]]:
        wants_members = attrs.wants("members", params.attributes, params.excluded)
        members = self._members_of(page) if wants_members and page else {}
        return [
            attrs.project(
                ScimGroup(
                    g,
                    base_url=self.base_url,
                    members=members.get(g.id, []) if wants_members else None,
                ).to_dict(),
                params.attributes,
                params.excluded,
            )
            for g in page
        ]

    def post(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is not None:
            raise ScimError(
                405, "POST a new group to /Groups", headers={"Allow": "GET, PUT, PATCH, DELETE"}
            )
        name, external_id, member_ids = group_fields_from_dict(self.json_body(request))
        group = services.group_create(
            org=self.scim.org,
            display_name=name,
            external_id=external_id,
            member_ids=member_ids or [],
            source=Source.SCIM,
            directory=self.scim.directory,
            client=self.client,
        )
        return self.respond(group, status=201)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "PUT a group at /Groups/{id}", headers={"Allow": "GET, POST"})
        group = self.get_object()
        name, external_id, member_ids = group_fields_from_dict(self.json_body(request))
        group = services.group_update(
            group=group,
            display_name=name,
            external_id=external_id,
            # PUT replaces the whole group: members left out means no members.
            member_ops=[("replace", member_ids or [])],
            expected_version=self.expected_version(request, group.version),
            directory=self.scim.directory,
            client=self.client,
        )
        return self.respond(group)

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "PATCH a group at /Groups/{id}", headers={"Allow": "GET, POST"})
        group = self.get_object()
        try:
            plan = plan_group_patch(parse_patch(self.json_body(request)))
        except PatchError as e:
            raise ScimError(400, str(e), e.scim_type) from None
        if "id" in plan.attributes and str(plan.attributes["id"]) != str(group.id):
            raise ScimError(400, "id is read-only", "mutability")
        group = services.group_update(
            group=group,
            display_name=plan.attributes.get("displayName"),
            external_id=plan.attributes.get("externalId"),
            member_ops=plan.member_ops,
            expected_version=self.expected_version(request, group.version),
            directory=self.scim.directory,
            client=self.client,
        )
        return self.respond(group)

    def delete(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError(405, "DELETE a group at /Groups/{id}", headers={"Allow": "GET, POST"})
        group = self.get_object()
        services.group_delete(
            group=group,
            directory=self.scim.directory,
            expected_version=self.expected_version(request, group.version),
            client=self.client,
        )
        return scim_response(None, status=204)


# Searches ------------------------------------------------------------------------


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


class _SearchMixin(ScimViewMixin):
    list_view: type[UsersView] | type[GroupsView]

    def post(self, request: HttpRequest) -> HttpResponse:
        params = search_params(self.json_body(request))
        view = self.list_view()
        view.request, view.kwargs, view.caller = request, {}, self.caller
        return view.get_many(request, params)


class RootSearchView(ScimViewMixin, scim2_views.SearchView):
    """POST /.search: one SearchRequest over Users and Groups (RFC 7644 §3.4.3).

    The filter is applied to each resource type it can describe (`userName` only to
    Users, `members` only to Groups); one it describes for neither is invalidFilter.
    Users come first, then groups; sortBy orders each type that has the attribute, the
    other keeps its default order. totalResults counts both."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        params = search_params(self.json_body(request))
        sources: list[tuple[UsersView | GroupsView, QuerySet[Any]]] = []
        refused: list[ScimError] = []
        for view in (UsersView(), GroupsView()):
            view.request, view.kwargs, view.caller = request, {}, self.caller
            try:
                qs: QuerySet[Any] = view.queryset(request, params, sort=False)
            except ScimError as e:
                refused.append(e)
                continue
            try:
                qs = view.queryset(request, params)
            except ScimError:
                pass  # sortBy names an attribute this type lacks: its default order
            sources.append((view, qs))
        if not sources:
            raise refused[0]
        totals = [qs.count() for _, qs in sources]
        offset, wanted = params.start - 1, params.count
        resources: list[dict[str, Any]] = []
        for (view, qs), total in zip(sources, totals, strict=True):
            if wanted <= 0:
                break
            if offset >= total:
                offset -= total
                continue
            page = list(qs[offset : offset + wanted])
            resources += view.render_many(page, params)
            wanted, offset = wanted - len(page), 0
        return scim_response(list_response(resources, sum(totals), params.start))


class UserSearchView(_SearchMixin, scim2_views.UserSearchView):
    resource_type = "User"
    http_method_names = ["post"]
    list_view = UsersView


class GroupSearchView(_SearchMixin, scim2_views.GroupSearchView):
    resource_type = "Group"
    http_method_names = ["post"]
    list_view = GroupsView


# Discovery -----------------------------------------------------------------------


class ServiceProviderConfigView(ScimViewMixin, scim2_views.ServiceProviderConfigView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return scim_response(service_provider_config(self.base_url))


class _DiscoveryListView(ScimViewMixin, ABC):
    http_method_names = ["get"]
    kind = ""

    @abstractmethod
    def documents(self) -> list[dict[str, Any]]:
        """Every document of this kind, for this directory's Base URL."""

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        docs = self.documents()
        if uuid is not None:
            for doc in docs:
                if doc["id"] == uuid:
                    return scim_response(doc)
            raise ScimError(404, f"{self.kind} {uuid} not found")
        if request.GET.get("filter"):
            raise ScimError(403, f"Filtering {self.kind}s is not supported")
        return scim_response(list_response(docs, len(docs), 1))


class ResourceTypesView(_DiscoveryListView, scim2_views.ResourceTypesView):
    kind = "ResourceType"

    def documents(self) -> list[dict[str, Any]]:
        return resource_type_documents(self.base_url)


class SchemasView(_DiscoveryListView, scim2_views.SchemasView):
    kind = "Schema"

    def documents(self) -> list[dict[str, Any]]:
        return schema_documents(self.base_url)


class NotImplementedView(ScimViewMixin, scim2_views.SCIMView):
    """/Bulk and /Me: advertised as unsupported, refused properly."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    feature = ""

    def _refuse(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise ScimError(501, f"{self.feature} is not supported by this service provider")

    get = post = put = patch = delete = _refuse


class NotFoundView(ScimViewMixin, scim2_views.SCIMView):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def _missing(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise ScimError(404, f"No SCIM endpoint at {request.path}")

    get = post = put = patch = delete = _missing


def unknown_endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Anything under /scim/v2/ that is not a directory's endpoint."""
    return ScimError(
        404, "No SCIM endpoint here: the Base URL is /scim/v2/<directory id>"
    ).response()
