"""The admin API's change feed and webhook endpoints (/api/v1/orgs/<slug>/changes/ and
/webhooks/…): parse, call webhooks.services or the feed, render."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commandcenter.api.views import OrgScoped
from commandcenter.params import parse_when
from directory.change_feed import Cursor, change_feed, change_payload
from directory.errors import InvalidValue, NotFound
from webhooks import services
from webhooks.delivery import endpoint_test
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import EVENT_TYPES


class EndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    secrets = serializers.SerializerMethodField(help_text="The active secrets' prefixes")

    def get_secrets(self, endpoint: WebhookEndpoint) -> list[str]:
        return [s.prefix + "…" for s in services.secrets_active(endpoint=endpoint)]

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "created_at",
            "failures",
            "failing_since",
            "next_attempt_at",
            "disabled_reason",
            "secrets",
        ]


class EndpointWriteSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list
    )
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    enabled = serializers.BooleanField(required=False)


class IssuedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="Shown this once")


class DeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    type = serializers.CharField(source="change.type")
    webhook_id = serializers.SerializerMethodField()

    def get_webhook_id(self, delivery: WebhookDelivery) -> str:
        return f"msg_{delivery.change.uid.hex}"

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "attempted_at",
            "type",
            "webhook_id",
            "attempt",
            "succeeded",
            "status",
            "latency_ms",
            "error",
            "response_excerpt",
        ]


class ChangeFeed(OrgScoped, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after", str, description="The cursor to read on from (none: the start)"
            ),
            OpenApiParameter("limit", int, description="At most this many (1 to 1,000; 100)"),
            OpenApiParameter("types", str, description="Only these event types, comma-separated"),
        ],
        responses={200: dict, 410: dict},
    )
    def get(self, request: Request, slug: str) -> Response:
        """The org's changes in order after a cursor; resume from `next`. A cursor older
        than the events kept answers 410 with `oldest_cursor`."""
        org = self.org
        q = request.query_params
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise InvalidValue("limit is a number from 1 to 1,000", field="limit") from None
        types = [t for t in q.get("types", "").split(",") if t]
        page = change_feed(
            org=org, after=Cursor.parse(q.get("after", "")), limit=limit, types=types or None
        )
        return Response(
            {
                "results": [change_payload(c, org_slug=org.slug) for c in page.changes],
                "next": str(page.cursor),
                "has_more": page.more,
            }
        )


class EndpointList(OrgScoped, APIView):
    @extend_schema(responses=EndpointSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return Response(EndpointSerializer(self.org.webhook_endpoints.all(), many=True).data)

    @extend_schema(request=EndpointWriteSerializer, responses={201: IssuedSerializer})
    def post(self, request: Request, slug: str) -> Response:
        data = EndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.endpoint_add(
            org=self.org,
            url=data.validated_data["url"],
            event_types=data.validated_data["event_types"],
            description=data.validated_data["description"],
            actor=self.actor(),
        )
        return Response(
            {"id": str(issued.endpoint.id), "secret": issued.secret},
            status=status.HTTP_201_CREATED,
        )


class EndpointScoped(OrgScoped):
    def endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        try:
            return services.endpoint_get(org=self.org, endpoint_id=endpoint_id)
        except NotFound:
            raise Http404("No such webhook endpoint") from None


class EndpointDetail(EndpointScoped, APIView):
    @extend_schema(responses=EndpointSerializer)
    def get(self, request: Request, slug: str, endpoint_id: str) -> Response:
        return Response(EndpointSerializer(self.endpoint(endpoint_id)).data)

    @extend_schema(request=EndpointWriteSerializer, responses=EndpointSerializer)
    def patch(self, request: Request, slug: str, endpoint_id: str) -> Response:
        endpoint = self.endpoint(endpoint_id)
        data = EndpointWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        updated = services.endpoint_update(
            endpoint=endpoint,
            url=v.get("url"),
            event_types=v.get("event_types") if "event_types" in request.data else None,
            description=v.get("description") if "description" in request.data else None,
            enabled=v.get("enabled"),
            actor=self.actor(),
        )
        return Response(EndpointSerializer(updated).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, endpoint_id: str) -> Response:
        services.endpoint_remove(endpoint=self.endpoint(endpoint_id), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotate(EndpointScoped, APIView):
    @extend_schema(request=None, responses={201: IssuedSerializer})
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        """A new signing secret; the previous one keeps signing for 24 hours."""
        issued = services.secret_rotate(endpoint=self.endpoint(endpoint_id), actor=self.actor())
        return Response(
            {"id": str(issued.endpoint.id), "secret": issued.secret},
            status=status.HTTP_201_CREATED,
        )


class EndpointRetry(EndpointScoped, APIView):
    @extend_schema(request=None, responses=EndpointSerializer)
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        """Try the waiting change now (and enable an endpoint disabled for failing)."""
        endpoint = services.endpoint_retry(endpoint=self.endpoint(endpoint_id), actor=self.actor())
        return Response(EndpointSerializer(endpoint).data)


class ReplaySerializer(serializers.Serializer[Any]):
    since = serializers.CharField(help_text="ISO 8601 date-time")


class EndpointReplay(EndpointScoped, APIView):
    @extend_schema(request=ReplaySerializer, responses=dict)
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        """Deliver again every change since a time (as far as the feed keeps them)."""
        data = ReplaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        since = parse_when(data.validated_data["since"])
        if since is None:
            raise InvalidValue("since is an ISO 8601 date-time", field="since")
        count = services.endpoint_replay(
            endpoint=self.endpoint(endpoint_id), since=since, actor=self.actor()
        )
        return Response({"changes": count})


class EndpointTest(EndpointScoped, APIView):
    @extend_schema(request=None, responses=dict)
    def post(self, request: Request, slug: str, endpoint_id: str) -> Response:
        """Send a signed webhook.test message now and say how the receiver answered."""
        attempt = endpoint_test(self.endpoint(endpoint_id))
        return Response(
            {
                "succeeded": attempt.succeeded,
                "status": attempt.status,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
                "response_excerpt": attempt.excerpt,
            }
        )


class DeliveryPagination(CursorPagination):
    page_size = 100
    ordering = ("-attempted_at", "-id")


class DeliveryList(EndpointScoped, generics.ListAPIView[WebhookDelivery]):
    serializer_class = DeliverySerializer
    pagination_class = DeliveryPagination

    def get_queryset(self) -> Any:
        endpoint = self.endpoint(self.kwargs["endpoint_id"])
        return endpoint.deliveries.select_related("change")
