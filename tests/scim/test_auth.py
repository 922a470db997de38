from __future__ import annotations

from django.test import Client

from directory.models import ScimDirectory
from directory.services import scim_directory_delete, scim_disable
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.services import token_revoke


def test_it_refuses_a_request_without_a_token(directory: ScimDirectory) -> None:
    r = Client().get(f"/scim/v2/{directory.id}/Users")
    assert_scim_error(r, 401)
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_wrong_token(directory: ScimDirectory, token: str) -> None:
    r = ScimClient(directory, token[:-2] + "xx").get("/Users")
    assert_scim_error(r, 401)
    assert "WWW-Authenticate" in r


def test_it_accepts_a_bare_token_as_okta_header_mode_sends_it(
    directory: ScimDirectory, token: str
) -> None:
    r = Client(HTTP_AUTHORIZATION=token).get(f"/scim/v2/{directory.id}/Users")
    assert r.status_code == 200


def test_it_accepts_the_bearer_scheme_in_any_case(directory: ScimDirectory, token: str) -> None:
    r = Client(HTTP_AUTHORIZATION=f"bearer  {token}").get(f"/scim/v2/{directory.id}/Users")
    assert r.status_code == 200


def test_it_refuses_a_revoked_token_at_once(directory: ScimDirectory, token: str) -> None:
    scim = ScimClient(directory, token)
    assert scim.get("/Users").status_code == 200
    token_revoke(directory=directory, token_id=str(directory.tokens.get().id))
    assert_scim_error(scim.get("/Users"), 401)


def test_it_refuses_another_directorys_token_on_this_base_url(
    directory: ScimDirectory, other_token: str
) -> None:
    r = ScimClient(directory, other_token).get("/Users")
    assert_scim_error(r, 401)


def test_it_refuses_every_request_while_scim_is_disabled(
    scim: ScimClient, directory: ScimDirectory
) -> None:
    scim_disable(org=directory.org, actor=OPERATOR)
    assert_scim_error(scim.get("/Users"), 401)
    assert_scim_error(scim.post("/Users", okta_user("a@acme.example")), 401)
    assert directory.org.users.count() == 0


def test_it_refuses_every_request_once_the_directory_is_deleted(
    scim: ScimClient, directory: ScimDirectory
) -> None:
    scim_directory_delete(org=directory.org, actor=OPERATOR)
    assert_scim_error(scim.get("/ServiceProviderConfig"), 401)


def test_it_answers_scim_json_for_json_and_scim_json_requests(scim: ScimClient) -> None:
    for content_type in (
        "application/json",
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=utf-8",
    ):
        r = scim.post("/Users", okta_user(f"{len(content_type)}@acme.example"), content_type)
        assert r.status_code == 201, (content_type, r.content)
        assert r["Content-Type"] == "application/scim+json"


def test_it_refuses_form_encoded_bodies(scim: ScimClient) -> None:
    r = scim.post("/Users", "userName=x", content_type="application/x-www-form-urlencoded")
    assert_scim_error(r, 415)


def test_it_never_redirects_for_a_trailing_slash(scim: ScimClient) -> None:
    assert scim.get("/Users/").status_code == 200
    assert scim.get("/ServiceProviderConfig/").status_code == 200
    created = scim.post("/Users/", okta_user("slash@acme.example"))
    assert created.status_code == 201
    assert scim.get(f"/Users/{created.json()['id']}/").status_code == 200


def test_it_records_when_and_from_where_the_token_was_used(
    directory: ScimDirectory, token: str
) -> None:
    ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0").get("/Users")
    used = directory.tokens.get()
    assert used.last_used_at is not None
    assert used.last_used_ip == "127.0.0.1"
    assert used.last_used_user_agent == "Okta SCIM Client 1.0.0"


def test_a_host_outside_allowed_hosts_still_gets_a_scim_error(
    directory: ScimDirectory, token: str
) -> None:
    r = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="evil.example").get(
        f"/scim/v2/{directory.id}/Users"
    )
    assert_scim_error(r, 400)
    page = Client(HTTP_HOST="evil.example").get("/accounts/login/")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_tokens_and_passwords_never_reach_the_logs(
    directory: ScimDirectory, token: str, caplog: object
) -> None:
    import logging

    scim = ScimClient(directory, token)
    with caplog.at_level(logging.DEBUG):  # type: ignore[attr-defined]
        scim.post("/Users", okta_user("log@acme.example", password="Hunter2-secret"))
        scim.post("/Users", "{broken")
        ScimClient(directory, token + "x").get("/Users")
    text = caplog.text  # type: ignore[attr-defined]
    assert token not in text and token.removeprefix("ccscim_") not in text
    assert "Hunter2-secret" not in text
