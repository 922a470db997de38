"""Migration tokens 0003: Idempotency-Key replays recorded before it answer, after it,
only in the org of the token they issued."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from directory.models import Org, ScimDirectory
from directory.services import idp_configure, scim_enable
from tests.actors import OPERATOR
from tokens.models import TokenIssueReplay
from tokens.services import token_issue, token_issue_once

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = ("tokens", "0002_admin_api_keys")


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_replays_recorded_before_keep_their_tokens_org(
    admin: User, directory: ScimDirectory, other_org: Org
) -> None:
    idp_configure(org=other_org, provider="entra", protocol="oidc", actor=OPERATOR)
    other = scim_enable(org=other_org, actor=OPERATOR)
    ours = token_issue(directory=directory, name="acme", created_by=admin).token
    theirs = token_issue(directory=other, name="globex", created_by=admin).token
    old = _migrate([BEFORE])
    try:
        replay = old.get_model("tokens", "TokenIssueReplay")
        replay.objects.create(user_id=admin.pk, key="k-acme", token_id=ours.pk)
        replay.objects.create(user_id=admin.pk, key="k-globex", token_id=theirs.pk)
    finally:
        executor = MigrationExecutor(connection)
        _migrate(executor.loader.graph.leaf_nodes())
    filled = {r.key: r.org_id for r in TokenIssueReplay.objects.all()}
    assert filled == {"k-acme": directory.org_id, "k-globex": other_org.pk}
    # The old acme key replays in acme; in globex it is a new request.
    again, plaintext = token_issue_once(
        directory=directory, name="x", created_by=admin, idempotency_key="k-acme"
    )
    assert again == ours and plaintext is None
    fresh, plaintext = token_issue_once(
        directory=other, name="x", created_by=admin, idempotency_key="k-acme"
    )
    assert fresh != ours and plaintext is not None
