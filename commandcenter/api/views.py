"""The admin REST API, /api/v1/: what the console does, scriptable.

Every view parses, calls one directory/tokens service or selector, and renders; the
rules are the services'. Every org resource goes through get_org_for_admin (404 for
anyone who does not administer the org, with a key or a session alike)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commandcenter.api.serializers import (
    AccessSerializer,
    DirectorySerializer,
    DirectoryUpdateSerializer,
    EndUserCreateSerializer,
    EndUserSerializer,
    EventSerializer,
    GroupSerializer,
    IdentityProviderSerializer,
    IdentityProviderUpdateSerializer,
    IssuedTokenSerializer,
    OrgSerializer,
    OrgUpdateSerializer,
    ScimRequestDetailSerializer,
    ScimRequestSerializer,
    ScimTokenSerializer,
    SeatSerializer,
    SummaryPreferenceSerializer,
    TokenIssueSerializer,
)
from commandcenter.params import parse_when
from commandcenter.views import get_org_for_admin
from directory import request_log, selectors, services
from directory.audit import Actor
from directory.errors import NotFound
from directory.models import (
    EndUser,
    Group,
    Org,
    OrgAdmin,
    ProvisioningEvent,
    ScimDirectory,
    ScimRequest,
    Source,
)
from directory.services.sessions import access_decision, refusal_message
from tokens.services import token_issue, token_issue_once, token_revoke


class OrgScoped:
    """Views under /orgs/<slug>/: the org, for an admin of it only (404 otherwise)."""

    @property
    def org(self) -> Org:
        view: Any = self
        return get_org_for_admin(view.request, view.kwargs["slug"])

    def actor(self) -> Actor:
        view: Any = self
        return Actor(
            who=view.request.user.get_username(), via="api", ip=view.request.META.get("REMOTE_ADDR")
        )


class OrgList(generics.ListAPIView[Org]):
    serializer_class = OrgSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.org_list_for_admin(user=self.request.user)


class OrgDetail(OrgScoped, APIView):
    @extend_schema(responses=OrgSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(OrgSerializer(self.org).data)

    @extend_schema(request=OrgUpdateSerializer, responses=OrgSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        data = OrgUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        org, values = self.org, data.validated_data
        if "name" in values or "seats" in values:
            org = services.org_update(org=org, name=values.get("name"), seats=values.get("seats"))
        if "deprovision" in values or "deprovision_grace_days" in values:
            org = services.org_deprovision_set(
                org=org,
                deprovision=values.get("deprovision", org.deprovision),
                grace_days=values.get("deprovision_grace_days"),
                actor=self.actor(),
            )
        if "access_groups" in values:
            services.org_access_groups_set(
                org=org, names=values["access_groups"], actor=self.actor()
            )
        if {"request_log_retention_days", "request_log_masks_personal_data"} & set(values):
            org = services.org_request_log_set(
                org=org,
                retention_days=values.get(
                    "request_log_retention_days", org.request_log_retention_days
                ),
                masks_personal_data=values.get(
                    "request_log_masks_personal_data", org.request_log_masks_personal_data
                ),
                actor=self.actor(),
            )
        if "change_retention_days" in values:
            org = services.changes_retention_set(
                org=org, days=values["change_retention_days"], actor=self.actor()
            )
        return Response(OrgSerializer(org).data)


class IdpDetail(OrgScoped, APIView):
    @extend_schema(responses=IdentityProviderSerializer)
    def get(self, request: Request, slug: str) -> Response:
        idp = selectors.idp_get(org=self.org)
        if idp is None:
            raise Http404("No identity provider saved")
        return Response(IdentityProviderSerializer(idp).data)

    @extend_schema(request=IdentityProviderUpdateSerializer, responses=IdentityProviderSerializer)
    def put(self, request: Request, slug: str) -> Response:
        data = IdentityProviderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        jit = values.pop("jit", None)
        org, actor = self.org, self.actor()
        with transaction.atomic():
            idp = services.idp_configure(org=org, actor=actor, **values)
            if jit is not None:
                idp = services.idp_jit_set(org=org, enabled=jit, actor=actor)
        return Response(IdentityProviderSerializer(idp).data)


class DirectoryDetail(OrgScoped, APIView):
    def directory(self) -> ScimDirectory:
        directory = selectors.scim_directory_get(org=self.org)
        if directory is None:
            raise Http404("SCIM is not set up for this org")
        return directory

    @extend_schema(responses=DirectorySerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(DirectorySerializer(self.directory()).data)

    @extend_schema(request=DirectoryUpdateSerializer, responses=DirectorySerializer)
    def patch(self, request: Request, slug: str) -> Response:
        data = DirectoryUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org, values = self.org, data.validated_data
        self.directory()
        if "reject_special_characters" in values:
            services.scim_name_rule_set(
                org=org, enabled=values["reject_special_characters"], actor=self.actor()
            )
        return Response(DirectorySerializer(self.directory()).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str) -> Response:
        services.scim_directory_delete(org=self.org, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DirectoryEnable(OrgScoped, APIView):
    @extend_schema(request=None, responses=DirectorySerializer)
    def post(self, request: Request, slug: str) -> Response:
        directory = services.scim_enable(org=self.org, actor=self.actor())
        return Response(DirectorySerializer(directory).data)


class DirectoryDisable(OrgScoped, APIView):
    @extend_schema(request=None, responses=DirectorySerializer)
    def post(self, request: Request, slug: str) -> Response:
        directory = services.scim_disable(org=self.org, actor=self.actor())
        return Response(DirectorySerializer(directory).data)


class TokenList(OrgScoped, APIView):
    @extend_schema(responses=ScimTokenSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        directory = DirectoryDetail.directory(self)  # type: ignore[arg-type]
        tokens = directory.tokens.select_related("created_by").order_by("created_at")
        return Response(ScimTokenSerializer(tokens, many=True).data)

    @extend_schema(
        request=TokenIssueSerializer,
        responses={201: IssuedTokenSerializer, 200: IssuedTokenSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="A retry with the same key returns the same token (without "
                "its plaintext) instead of issuing another",
            )
        ],
    )
    def post(self, request: Request, slug: str) -> Response:
        data = TokenIssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        directory = DirectoryDetail.directory(self)  # type: ignore[arg-type]
        key = request.META.get("HTTP_IDEMPOTENCY_KEY", "").strip()[:100]
        if key:
            token, plaintext = token_issue_once(
                directory=directory,
                name=data.validated_data["name"],
                created_by=request.user,  # type: ignore[arg-type]
                idempotency_key=key,
                actor=self.actor(),
            )
        else:
            issued = token_issue(
                directory=directory,
                name=data.validated_data["name"],
                created_by=request.user,  # type: ignore[arg-type]
                actor=self.actor(),
            )
            token, plaintext = issued.token, issued.plaintext
        body = {
            **ScimTokenSerializer(token).data,
            "token": plaintext,
            "base_url": directory.base_url,
        }
        replayed = plaintext is None
        response = Response(
            body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        )
        response["Cache-Control"] = "no-store"
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class TokenRevoke(OrgScoped, APIView):
    @extend_schema(request=None, responses=ScimTokenSerializer)
    def post(self, request: Request, slug: str, token_id: str) -> Response:
        directory = DirectoryDetail.directory(self)  # type: ignore[arg-type]
        token = token_revoke(directory=directory, token_id=token_id, actor=self.actor())
        return Response(ScimTokenSerializer(token).data)


class UserPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class UserList(OrgScoped, generics.ListAPIView[EndUser]):
    serializer_class = EndUserSerializer
    pagination_class = UserPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="part of a userName, name or email"),
            OpenApiParameter("status", str, enum=["active", "disabled", "removed"]),
            OpenApiParameter("source", str, enum=Source.values),
            OpenApiParameter("group", str, description="a group id"),
            OpenApiParameter("seat", str, enum=["none", "access"]),
            OpenApiParameter("signin", str, enum=["never", "signed-in"]),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        f = {
            k: self.request.query_params.get(k, "")
            for k in ("q", "status", "source", "group", "seat", "signin")
        }
        return selectors.user_list(org=self.org, **f)

    @extend_schema(request=EndUserCreateSerializer, responses={201: EndUserSerializer})
    def post(self, request: Request, slug: str) -> Response:
        data = EndUserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_add(
            org=self.org,
            email=data.validated_data["user_name"],
            given_name=data.validated_data["given_name"],
            family_name=data.validated_data["family_name"],
            actor=self.actor(),
        )
        return Response(EndUserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetail(OrgScoped, APIView):
    def user(self, user_id: str) -> EndUser:
        user = selectors.user_get(org=self.org, user_id=user_id)
        if user is None:
            raise Http404("No such user")
        return user

    @extend_schema(responses=EndUserSerializer)
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        return Response(EndUserSerializer(self.user(user_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, user_id: str) -> Response:
        services.user_delete(user=self.user(user_id), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserAccess(UserDetail):
    """Whether the user may use the org's services now: the sign-in gate's own decision,
    for the services that act on this directory (so they never re-implement it)."""

    @extend_schema(responses=AccessSerializer)
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        decision = access_decision(self.user(user_id))
        return Response(
            {
                "allowed": decision.allowed,
                "reason": decision.reason or None,
                "message": refusal_message(decision.reason) if decision.reason else "",
            }
        )


class UserSeat(UserDetail):
    @extend_schema(request=SeatSerializer, responses=EndUserSerializer)
    def post(self, request: Request, slug: str, user_id: str) -> Response:
        data = SeatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = self.user(user_id)
        if data.validated_data["seat"]:
            user = services.seat_assign(user=user, actor=self.actor())
        else:
            user = services.seat_revoke(user=user, actor=self.actor())
        return Response(EndUserSerializer(user).data)


class GroupList(OrgScoped, generics.ListAPIView[Group]):
    serializer_class = GroupSerializer
    pagination_class = UserPagination

    def get_queryset(self) -> Any:
        return selectors.group_list(org=self.org, q=self.request.query_params.get("q", ""))

    @extend_schema(request=GroupSerializer, responses={201: GroupSerializer})
    def post(self, request: Request, slug: str) -> Response:
        data = GroupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = services.group_create(
            org=self.org,
            display_name=data.validated_data["display_name"],
            source=Source.MANUAL,
            actor=self.actor(),
        )
        return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)


class GroupDetail(OrgScoped, APIView):
    @extend_schema(responses=GroupSerializer)
    def get(self, request: Request, slug: str, group_id: str) -> Response:
        group = selectors.group_list(org=self.org).filter(id=_uuid(group_id)).first()
        if group is None:
            raise Http404("No such group")
        return Response(GroupSerializer(group).data)


def _uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404("No such group") from None


class EventPagination(CursorPagination):
    page_size = 100
    ordering = ("-created_at", "-id")


class EventList(OrgScoped, generics.ListAPIView[ProvisioningEvent]):
    serializer_class = EventSerializer
    pagination_class = EventPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("outcome", str, enum=ProvisioningEvent.Outcome.values),
            OpenApiParameter("action", str, enum=ProvisioningEvent.Action.values),
            OpenApiParameter("from", str, description="ISO 8601 date-time, inclusive"),
            OpenApiParameter("to", str, description="ISO 8601 date-time, exclusive"),
            OpenApiParameter(
                "q", str, description="The user's userName or group's displayName starts with"
            ),
            OpenApiParameter("resource", str, description="The id of a user or group"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        q = self.request.query_params
        return selectors.event_list(
            org=self.org,
            outcome=q.get("outcome", ""),
            action=q.get("action", ""),
            since=parse_when(q.get("from", "")),
            until=parse_when(q.get("to", "")),
            q=q.get("q", ""),
            resource_id=q.get("resource", "") or None,
        )


class SummaryPreference(OrgScoped, APIView):
    def membership(self) -> OrgAdmin:
        return OrgAdmin.objects.get(org=self.org, user=self.request.user)  # type: ignore[misc]

    @extend_schema(responses=SummaryPreferenceSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response({"summary_emails": self.membership().summary_emails})

    @extend_schema(request=SummaryPreferenceSerializer, responses=SummaryPreferenceSerializer)
    def put(self, request: Request, slug: str) -> Response:
        data = SummaryPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.org_admin_summaries_set(
            org=self.org,
            user=request.user,  # type: ignore[arg-type]
            enabled=data.validated_data["summary_emails"],
        )
        return Response({"summary_emails": membership.summary_emails})


class ScimRequestList(OrgScoped, generics.ListAPIView[ScimRequest]):
    serializer_class = ScimRequestSerializer
    pagination_class = EventPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(request_log.SCIM_REQUEST_STATUS_CLASSES)),
            OpenApiParameter("method", str, enum=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            OpenApiParameter("resource", str, enum=list(request_log.SCIM_REQUEST_RESOURCES)),
            OpenApiParameter("resource_id", str, description="The id of a user or group"),
            OpenApiParameter("idp", str, enum=ScimRequest.Idp.values),
            OpenApiParameter("from", str, description="ISO 8601 date-time, inclusive"),
            OpenApiParameter("to", str, description="ISO 8601 date-time, exclusive"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        q = self.request.query_params
        return request_log.scim_request_list(
            org=self.org,
            status_class=q.get("status", ""),
            method=q.get("method", ""),
            resource=q.get("resource", ""),
            resource_id=q.get("resource_id") or None,
            idp=q.get("idp", ""),
            since=parse_when(q.get("from", "")),
            until=parse_when(q.get("to", "")),
        )


class ScimRequestDetail(OrgScoped, APIView):
    @extend_schema(responses=ScimRequestDetailSerializer)
    def get(self, request: Request, slug: str, request_id: str) -> Response:
        try:
            row = request_log.scim_request_get(org=self.org, request_id=request_id)
        except NotFound:
            raise Http404("No such SCIM request") from None
        return Response(
            ScimRequestDetailSerializer(
                row, context={"events": request_log.scim_request_events(row=row)}
            ).data
        )
