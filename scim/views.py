"""The SCIM 2.0 endpoint, on django-scim2's views, made multi-tenant.

Every request: authenticate the bearer token (bound to one directory, so one org),
parse, call one directory service (one transaction, event included), render SCIM
JSON. Every failure is a SCIM Error; failed writes are recorded as events too.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django_scim import views as scim2_views

from directory import selectors, services
from directory.ids import uuid_or_none
from directory.models import (
    EndUser,
    Group,
    Membership,
    Source,
)
from scim import attributes as attrs
from scim.adapters import (
    ScimGroup,
    ScimUser,
    group_fields_from_dict,
    user_fields_from_dict,
)
from scim.discovery import (
    resource_type_documents,
    schema_documents,
    service_provider_config,
)
from scim.errors import ScimError, not_found
from scim.filter_syntax import FilterError
from scim.filters import (
    filter_groups,
    filter_users,
    group_sort_key,
    user_name_eq,
    user_sort_key,
)
from scim.gate import ScimViewMixin, etag_versions, scim_response
from scim.group_patch import plan_group_patch
from scim.lists import ListParams, list_response, page_of, search_params
from scim.patch import PatchError, parse_patch
from scim.scope import scoped_queryset
from scim.user_patch import apply_user_patch

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)


def matching(
    qs: QuerySet[M],
    params: ListParams,
    compile_filter: Callable[[QuerySet[M], str], QuerySet[M]],
    sort_key: Callable[[str], Any] | None,
) -> QuerySet[M]:
    """`qs` narrowed by the filter and in the order asked for: sortBy through `sort_key`
    (None: the default order), then creation. invalidFilter for either one unknown."""
    try:
        if params.filter:
            qs = compile_filter(qs, params.filter)
        order: list[Any] = ["created_at", "id"]
        if params.sort_by and sort_key is not None:
            order = [sort_key(params.sort_by), "created_at", "id"]
    except FilterError as e:
        raise ScimError(400, str(e), "invalidFilter") from None
    if params.descending:
        order = [o.desc() if hasattr(o, "desc") else f"-{o}" for o in order]
    return qs.order_by(*order)


# Users ---------------------------------------------------------------------------


class _UserResource(ScimViewMixin):
    """What /Users and /Users/{id} share: the org's users, found and rendered."""

    resource_type = "User"

    def get_object(self) -> EndUser:
        uid = uuid_or_none(self.kwargs.get("uuid"))
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

    def get_many(self, request: HttpRequest, params: ListParams | None = None) -> HttpResponse:
        params = params or ListParams(request.GET.dict())
        name = self._user_name_lookup(params)
        if name is not None:
            # The IdP's lookup before a create: at most one user (userName is unique
            # per org), from SQL compiled once.
            found = selectors.idp_users_named(org_id=self.scim.org.pk, key=name)
            page, total = found[params.start - 1 : params.start - 1 + params.count], len(found)
        else:
            page, total = page_of(self.queryset(request, params), params)
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
        users: QuerySet[EndUser] = scoped_queryset(self.scim.org, EndUser)
        return matching(users, params, filter_users, user_sort_key if sort else None)


class UsersView(_UserResource, scim2_views.UsersView):
    """/Users: list and filter (GET), create (POST)."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.get_many(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        fields = user_fields_from_dict(self.json_body(request))
        user = services.user_create(
            org=self.scim.org,
            fields=fields,
            source=Source.SCIM,
            directory=self.scim.directory,
            actor=self.actor,
        )
        return self.respond(user, status=201, new=user.version == 1)


class UserView(_UserResource, scim2_views.UsersView):
    """/Users/{id}: read, replace, patch, deprovision."""

    http_method_names = ["get", "put", "patch", "delete"]

    def get(self, request: HttpRequest, uuid: str) -> HttpResponse:
        user = self.get_object()
        etag = ScimUser(user, base_url=self.base_url).etag
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match:
            versions = etag_versions(if_none_match)
            if versions is None or user.version in versions:
                return scim_response(None, status=304, headers={"ETag": etag})
        return self.respond(user)

    def put(self, request: HttpRequest, uuid: str) -> HttpResponse:
        user = self.get_object()
        body = self.json_body(request)
        fields = user_fields_from_dict(body)
        if not any(str(k).lower() == "active" for k in body):
            fields.active = user.active  # a PUT without `active` does not (de)activate
        change = services.user_update(
            user=user,
            fields=fields,
            expected_version=self.expected_version(request),
            directory=self.scim.directory,
            actor=self.actor,
        )
        if change.deleted:
            return scim_response(self.render(change.user, groups=False))
        return self.respond(change.user)

    def patch(self, request: HttpRequest, uuid: str) -> HttpResponse:
        try:
            ops = parse_patch(self.json_body(request))
        except PatchError as e:
            raise ScimError(400, str(e), e.scim_type) from None

        def apply(user: EndUser) -> services.UserFields:
            resource = ScimUser(user, base_url=self.base_url).to_dict()
            try:
                return user_fields_from_dict(apply_user_patch(resource, ops))
            except PatchError as e:
                raise ScimError(400, str(e), e.scim_type) from None

        change = services.user_patch(
            user=self.get_object(),
            patch=apply,
            expected_version=self.expected_version(request),
            directory=self.scim.directory,
            actor=self.actor,
        )
        if change.deleted:
            return scim_response(None, status=204)
        return self.respond(change.user)

    def delete(self, request: HttpRequest, uuid: str) -> HttpResponse:
        user = self.get_object()
        services.user_deprovision(
            user=user,
            directory=self.scim.directory,
            expected_version=self.expected_version(request),
            actor=self.actor,
        )
        return scim_response(None, status=204)


# Groups --------------------------------------------------------------------------


class _GroupResource(ScimViewMixin):
    """What /Groups and /Groups/{id} share: the org's groups, found and rendered."""

    resource_type = "Group"

    def get_object(self) -> Group:
        gid = uuid_or_none(self.kwargs.get("uuid"))
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

    def get_many(self, request: HttpRequest, params: ListParams | None = None) -> HttpResponse:
        params = params or ListParams(request.GET.dict())
        page, total = page_of(self.queryset(request, params), params)
        return scim_response(list_response(self.render_many(page, params), total, params.start))

    def queryset(
        self, request: HttpRequest, params: ListParams, *, sort: bool = True
    ) -> QuerySet[Group]:
        """The org's groups that the filter matches, in the order asked for."""
        groups: QuerySet[Group] = scoped_queryset(self.scim.org, Group)
        return matching(groups, params, filter_groups, group_sort_key if sort else None)

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


class GroupsView(_GroupResource, scim2_views.GroupsView):
    """/Groups: list and filter (GET), create (POST)."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.get_many(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        name, external_id, member_ids = group_fields_from_dict(self.json_body(request))
        group = services.group_create(
            org=self.scim.org,
            display_name=name,
            external_id=external_id,
            member_ids=member_ids or [],
            source=Source.SCIM,
            directory=self.scim.directory,
            actor=self.actor,
        )
        return self.respond(group, status=201)


class GroupView(_GroupResource, scim2_views.GroupsView):
    """/Groups/{id}: read, replace, patch (members included), delete."""

    http_method_names = ["get", "put", "patch", "delete"]

    def get(self, request: HttpRequest, uuid: str) -> HttpResponse:
        group = self.get_object()
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match:
            versions = etag_versions(if_none_match)
            if versions is None or group.version in versions:
                etag = ScimGroup(group, base_url=self.base_url).etag
                return scim_response(None, status=304, headers={"ETag": etag})
        return self.respond(group)

    def put(self, request: HttpRequest, uuid: str) -> HttpResponse:
        group = self.get_object()
        name, external_id, member_ids = group_fields_from_dict(self.json_body(request))
        group = services.group_update(
            group=group,
            display_name=name,
            external_id=external_id,
            # PUT replaces the whole group: members left out means no members.
            member_ops=[("replace", member_ids or [])],
            expected_version=self.expected_version(request),
            directory=self.scim.directory,
            actor=self.actor,
        )
        return self.respond(group)

    def patch(self, request: HttpRequest, uuid: str) -> HttpResponse:
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
            expected_version=self.expected_version(request),
            directory=self.scim.directory,
            actor=self.actor,
        )
        return self.respond(group)

    def delete(self, request: HttpRequest, uuid: str) -> HttpResponse:
        group = self.get_object()
        services.group_delete(
            group=group,
            directory=self.scim.directory,
            expected_version=self.expected_version(request),
            actor=self.actor,
        )
        return scim_response(None, status=204)


# Searches ------------------------------------------------------------------------


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
