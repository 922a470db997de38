"""The admin API's serializers: what each endpoint reads and writes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from directory import selectors
from directory.event_text import event_summary
from directory.models import (
    EndUser,
    Group,
    IdentityProvider,
    Org,
    ProvisioningEvent,
    ScimDirectory,
    ScimRequest,
)
from directory.services.idp import sp_values
from tokens.models import ScimToken


class OrgSerializer(serializers.ModelSerializer[Org]):
    access_groups = serializers.SerializerMethodField(
        help_text="Only members of these groups get access; empty: every user does"
    )

    class Meta:
        model = Org
        fields = [
            "slug",
            "name",
            "seats",
            "seats_used",
            "deprovision",
            "deprovision_grace_days",
            "access_groups",
            "request_log_retention_days",
            "request_log_masks_personal_data",
            "change_retention_days",
            "created_at",
        ]
        read_only_fields = ["slug", "seats_used", "created_at"]

    def get_access_groups(self, org: Org) -> list[str]:
        return [g.display_name for g in selectors.access_group_list(org=org)]


class OrgUpdateSerializer(serializers.ModelSerializer[Org]):
    access_groups = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Group names; [] lifts the limit"
    )

    class Meta:
        model = Org
        fields = [
            "name",
            "seats",
            "deprovision",
            "deprovision_grace_days",
            "access_groups",
            "request_log_retention_days",
            "request_log_masks_personal_data",
            "change_retention_days",
        ]


class CertificateSerializer(serializers.Serializer[Any]):
    sha256 = serializers.CharField(help_text="SHA-256 fingerprint, AB:CD:...")
    not_after = serializers.CharField(help_text="Expiry, ISO 8601 UTC")


class SpValuesSerializer(serializers.Serializer[Any]):
    signin_url = serializers.CharField()
    entity_id = serializers.CharField(help_text="SAML: our entity ID (audience)")
    acs_url = serializers.CharField(help_text="SAML: our Assertion Consumer Service URL")
    metadata_url = serializers.CharField(help_text="SAML: our metadata")
    oidc_redirect_uri = serializers.CharField()


class IdentityProviderSerializer(serializers.ModelSerializer[IdentityProvider]):
    # The IdP's URLs; "" while not set (so plain strings in the schema, not "uri").
    sso_url = serializers.CharField(read_only=True, help_text="SAML: the IdP's SSO URL")
    metadata_url = serializers.CharField(read_only=True, help_text="SAML: the IdP's metadata URL")
    issuer = serializers.CharField(read_only=True, help_text="OIDC: the issuer")
    entity_id = serializers.CharField(read_only=True, help_text="SAML: the IdP's entity ID")
    certificates = CertificateSerializer(many=True, read_only=True)
    client_secret_set = serializers.SerializerMethodField()
    signin_ready = serializers.BooleanField(read_only=True)
    sp = serializers.SerializerMethodField(help_text="What to paste into the IdP")

    class Meta:
        model = IdentityProvider
        fields = [
            "provider",
            "protocol",
            "signin_ready",
            "entity_id",
            "sso_url",
            "metadata_url",
            "certificates",
            "idp_initiated",
            "issuer",
            "client_id",
            "client_secret_set",
            "scopes",
            "username_claim",
            "jit",
            "sp",
            "saved_at",
        ]
        read_only_fields = fields

    def get_client_secret_set(self, idp: IdentityProvider) -> bool:
        return bool(idp.client_secret)

    @extend_schema_field(SpValuesSerializer)
    def get_sp(self, idp: IdentityProvider) -> dict[str, str]:
        return vars(sp_values(org=idp.org))


class IdentityProviderUpdateSerializer(serializers.Serializer[Any]):
    """Left out, a setting keeps its saved value (the client secret is never shown)."""

    provider = serializers.ChoiceField(choices=IdentityProvider.Provider.choices)
    protocol = serializers.ChoiceField(choices=IdentityProvider.Protocol.choices)
    metadata_xml = serializers.CharField(
        required=False, write_only=True, help_text="SAML: the IdP's metadata XML"
    )
    metadata_url = serializers.CharField(
        required=False, max_length=1000, help_text="SAML: the IdP's metadata URL, fetched now"
    )
    idp_initiated = serializers.BooleanField(required=False)
    issuer = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    client_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    client_secret = serializers.CharField(
        required=False, write_only=True, max_length=2000, trim_whitespace=False
    )
    scopes = serializers.CharField(required=False, allow_blank=True, max_length=200)
    username_claim = serializers.ChoiceField(
        choices=IdentityProvider.UsernameClaim.choices, required=False
    )
    jit = serializers.BooleanField(required=False)


class DirectorySerializer(serializers.ModelSerializer[ScimDirectory]):
    base_url = serializers.CharField(read_only=True)

    class Meta:
        model = ScimDirectory
        fields = ["id", "enabled", "base_url", "reject_special_characters", "created_at"]


class DirectoryUpdateSerializer(serializers.Serializer[Any]):
    reject_special_characters = serializers.BooleanField(required=False)


class ScimTokenSerializer(serializers.ModelSerializer[ScimToken]):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = ScimToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "created_by",
            "last_used_at",
            "last_used_ip",
            "last_used_user_agent",
            "revoked_at",
        ]


class TokenIssueSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class IssuedTokenSerializer(ScimTokenSerializer):
    token = serializers.CharField(
        allow_null=True, help_text="The plaintext, shown once; null on an Idempotency-Key replay"
    )
    base_url = serializers.CharField()

    class Meta(ScimTokenSerializer.Meta):
        fields = [*ScimTokenSerializer.Meta.fields, "token", "base_url"]


class EndUserSerializer(serializers.ModelSerializer[EndUser]):
    class Meta:
        model = EndUser
        fields = [
            "id",
            "user_name",
            "external_id",
            "active",
            "display_name",
            "given_name",
            "family_name",
            "emails",
            "title",
            "department",
            "source",
            "has_seat",
            "access",
            "removed_by_idp_at",
            "last_signin_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccessSerializer(serializers.Serializer[Any]):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True,
        help_text="When refused: USER_DISABLED, NOT_IN_ACCESS_GROUPS or NO_SEAT",
    )
    message = serializers.CharField(help_text="What to tell the user; empty when allowed")


class EndUserCreateSerializer(serializers.Serializer[Any]):
    user_name = serializers.EmailField(max_length=254)
    given_name = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    family_name = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True
    )


class SeatSerializer(serializers.Serializer[Any]):
    seat = serializers.BooleanField(help_text="true gives the user a seat, false takes it")


class GroupSerializer(serializers.ModelSerializer[Group]):
    member_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Group
        fields = ["id", "display_name", "external_id", "source", "member_count", "created_at"]
        read_only_fields = ["id", "external_id", "source", "member_count", "created_at"]


class EventSerializer(serializers.ModelSerializer[ProvisioningEvent]):
    summary = serializers.SerializerMethodField(
        help_text="What happened, in words (the details, then the message)"
    )

    def get_summary(self, event: ProvisioningEvent) -> str:
        return event_summary(event)

    class Meta:
        model = ProvisioningEvent
        fields = [
            "id",
            "created_at",
            "action",
            "outcome",
            "resource_type",
            "resource_id",
            "resource_name",
            "message",
            "status_code",
            "client",
            "details",
            "summary",
            "request_id",
        ]


class SummaryPreferenceSerializer(serializers.Serializer[Any]):
    summary_emails = serializers.BooleanField()


class ScimRequestSerializer(serializers.ModelSerializer[ScimRequest]):
    """One provisioning log entry, without its bodies (the detail has them)."""

    class Meta:
        model = ScimRequest
        fields = [
            "id",
            "created_at",
            "method",
            "path",
            "query",
            "status",
            "scim_type",
            "detail",
            "latency_ms",
            "client_address",
            "user_agent",
            "idp",
            "token_name",
            "token_prefix",
            "resource_type",
            "resource_id",
            "aggregated",
            "count",
        ]


class ScimRequestDetailSerializer(ScimRequestSerializer):
    """One provisioning log entry with its masked bodies and the events it caused."""

    events = serializers.SerializerMethodField(help_text="The events the request caused")

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, row: ScimRequest) -> Any:
        return EventSerializer(self.context.get("events", []), many=True).data

    class Meta(ScimRequestSerializer.Meta):
        fields = [*ScimRequestSerializer.Meta.fields, "request_body", "response_body", "events"]
