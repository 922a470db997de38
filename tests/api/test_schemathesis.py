"""Schemathesis against the live admin API: no 5xx, no response outside the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from directory import outbound
from directory.models import Org
from directory.outbound import OutboundError
from directory.services import UserFields, group_create, idp_configure, scim_enable, user_create
from tests.actors import OPERATOR
from tests.conftest import examples
from tokens.services import api_key_issue

pytestmark = pytest.mark.django_db(transaction=True)


def _no_outbound_requests(host: str, port: int, **_: Any) -> str:
    raise OutboundError(f"{host}: no outbound requests in this test")


def test_schemathesis_finds_no_server_errors_or_schema_violations(
    live_server: Any, settings: Any, org: Org, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The IdP endpoint fetches the metadata URL it is given: the generated ones must not
    # reach out to the internet.
    monkeypatch.setattr(outbound, "_resolve", _no_outbound_requests)
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min"},
    }
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    key = api_key_issue(user=admin).plaintext
    cli = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(cli), "run", f"{live_server.url}/api/v1/schema/",
            "--header", f"Authorization: Bearer {key}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", str(examples(15)),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    summary = result.stdout[-3000:]
    print(summary)
    assert result.returncode == 0, summary
