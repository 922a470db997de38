"""The admin API of an org's LDAP / Active Directory sync: /api/v1/orgs/<slug>/ldap/...

Settings (the bind password is written, never read back), Test connection, Sync now and
the last runs. Views parse, call a directory service and render, as in views.py. "Sync
now" is queued for a worker (directory.tasks.ldap_sync_start): 200 with the run when it
has ended by the time the answer goes, else 202."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commandcenter.api.views import OrgScoped
from directory.ldap_client import LdapError
from directory.models import LdapDirectory, LdapSyncRun
from directory.services.ldap_directory import (
    ldap_configure,
    ldap_directory_get,
    ldap_remove,
    ldap_test,
)
from directory.services.ldap_mapping import PRESETS, mapping_for
from directory.services.ldap_sync import ldap_runs
from directory.tasks import ldap_sync_start


class LdapDirectorySerializer(serializers.ModelSerializer[LdapDirectory]):
    bind_password_set = serializers.SerializerMethodField(
        help_text="Whether a bind password is saved (it is never shown)"
    )
    mapping = serializers.SerializerMethodField(
        help_text="The attribute each value is read from: the preset's, with `attributes`"
    )

    class Meta:
        model = LdapDirectory
        fields = [
            "url",
            "security",
            "ca_certificate",
            "bind_dn",
            "bind_password_set",
            "user_base",
            "user_filter",
            "group_base",
            "group_filter",
            "preset",
            "attributes",
            "mapping",
            "page_size",
            "enabled",
            "updated_at",
        ]

    def get_bind_password_set(self, ldap: LdapDirectory) -> bool:
        return bool(ldap.bind_password)

    def get_mapping(self, ldap: LdapDirectory) -> dict[str, str]:
        return mapping_for(preset=ldap.preset, overrides=ldap.attributes)


class LdapDirectoryUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=500)
    security = serializers.ChoiceField(
        choices=LdapDirectory.Security.choices, required=False, default=""
    )
    ca_certificate = serializers.CharField(required=False, allow_blank=True, default="")
    bind_dn = serializers.CharField(max_length=500)
    bind_password = serializers.CharField(
        required=False, write_only=True, help_text="Left out: the saved one is kept"
    )
    user_base = serializers.CharField(max_length=500)
    user_filter = serializers.CharField(max_length=1000, required=False, default="")
    group_base = serializers.CharField(max_length=500, required=False, default="")
    group_filter = serializers.CharField(max_length=1000, required=False, default="")
    preset = serializers.ChoiceField(choices=sorted(PRESETS))
    attributes = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=100), required=False, default={}
    )
    page_size = serializers.IntegerField(min_value=1, max_value=5000, required=False)
    enabled = serializers.BooleanField(required=False, default=True)


class LdapSampleSerializer(serializers.Serializer[Any]):
    dn = serializers.CharField()
    stable_id = serializers.CharField()
    user_name = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.CharField()
    title = serializers.CharField()
    department = serializers.CharField()
    active = serializers.BooleanField()


class LdapTestSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    users = serializers.IntegerField()
    groups = serializers.IntegerField()
    samples = LdapSampleSerializer(many=True)


class LdapRunSerializer(serializers.ModelSerializer[LdapSyncRun]):
    duration_seconds = serializers.FloatField(allow_null=True, read_only=True)
    totals = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = LdapSyncRun
        fields = [
            "id",
            "started_at",
            "finished_at",
            "duration_seconds",
            "status",
            "trigger",
            "totals",
            "error",
        ]


class LdapDetail(OrgScoped, APIView):
    @extend_schema(responses=LdapDirectorySerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(LdapDirectorySerializer(ldap_directory_get(org=self.org)).data)

    @extend_schema(request=LdapDirectoryUpdateSerializer, responses=LdapDirectorySerializer)
    def put(self, request: Request, slug: str) -> Response:
        data = LdapDirectoryUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("bind_password", None)
        ldap = ldap_configure(org=self.org, actor=self.actor(), **values)
        return Response(LdapDirectorySerializer(ldap).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, slug: str) -> Response:
        ldap_remove(org=self.org, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LdapTest(OrgScoped, APIView):
    @extend_schema(request=None, responses=LdapTestSerializer)
    def post(self, request: Request, slug: str) -> Response:
        ldap = ldap_directory_get(org=self.org)
        try:
            result = ldap_test(ldap=ldap)
        except LdapError as e:
            return Response({"ok": False, "error": str(e), "users": 0, "groups": 0, "samples": []})
        samples = [
            {
                "dn": s.dn,
                "stable_id": s.stable_id,
                "user_name": s.fields.user_name,
                "given_name": s.fields.given_name,
                "family_name": s.fields.family_name,
                "display_name": s.fields.display_name,
                "email": s.fields.emails[0]["value"] if s.fields.emails else "",
                "title": s.fields.title,
                "department": s.fields.department,
                "active": s.fields.active,
            }
            for s in result.samples
        ]
        body = {
            "ok": True,
            "error": "",
            "users": result.users,
            "groups": result.groups,
            "samples": samples,
        }
        return Response(body)


class LdapSyncStartSerializer(serializers.Serializer[Any]):
    queued = serializers.BooleanField(help_text="Waiting for a worker: see ldap/runs/ later")
    run = LdapRunSerializer(allow_null=True, help_text="The run, once it started or ended")


class LdapSync(OrgScoped, APIView):
    @extend_schema(
        request=None, responses={200: LdapSyncStartSerializer, 202: LdapSyncStartSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        run = ldap_sync_start(org=self.org, trigger="api")
        body = {"queued": run is None, "run": LdapRunSerializer(run).data if run else None}
        finished = run is not None and run.status != LdapSyncRun.Status.RUNNING
        return Response(body, status=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED)


class LdapRunList(OrgScoped, APIView):
    @extend_schema(responses=LdapRunSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        org = self.org
        ldap_directory_get(org=org)
        return Response(LdapRunSerializer(ldap_runs(org=org, limit=20), many=True).data)
