from __future__ import annotations

import pytest

from directory.models import ScimDirectory
from tests.scim.conftest import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, ScimClient, assert_scim_error

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def test_service_provider_config_advertises_what_works(
    scim: ScimClient, directory: ScimDirectory
) -> None:
    r = scim.get("/ServiceProviderConfig")
    assert r.status_code == 200
    doc = r.json()
    assert doc["patch"] == {"supported": True}
    assert doc["bulk"]["supported"] is False
    assert doc["filter"]["supported"] is True and doc["filter"]["maxResults"] >= 100
    assert doc["sort"] == {"supported": True}
    assert doc["etag"] == {"supported": True}
    assert doc["changePassword"] == {"supported": False}
    assert doc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert doc["meta"]["location"].endswith(f"/scim/v2/{directory.id}/ServiceProviderConfig")


def test_resource_types_is_a_list_response_with_total_results(scim: ScimClient) -> None:
    doc = scim.get("/ResourceTypes").json()
    assert doc["schemas"] == [LIST]
    assert doc["totalResults"] == 2
    by_id = {t["id"]: t for t in doc["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_id["Group"]["schema"] == GROUP_SCHEMA


def test_a_resource_type_can_be_read_by_id(scim: ScimClient) -> None:
    assert scim.get("/ResourceTypes/Group").json()["endpoint"] == "/Groups"
    assert_scim_error(scim.get("/ResourceTypes/Printer"), 404)


def test_schemas_lists_user_group_and_the_enterprise_extension(scim: ScimClient) -> None:
    doc = scim.get("/Schemas").json()
    assert doc["totalResults"] == 3
    ids = {s["id"] for s in doc["Resources"]}
    assert ids == {USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE}


def test_the_enterprise_schema_describes_department_and_manager(scim: ScimClient) -> None:
    doc = scim.get(f"/Schemas/{ENTERPRISE}").json()
    names = {a["name"] for a in doc["attributes"]}
    assert {"employeeNumber", "department", "manager", "costCenter"} <= names


def test_the_user_schema_does_not_advertise_what_is_not_stored(scim: ScimClient) -> None:
    doc = scim.get(f"/Schemas/{USER_SCHEMA}").json()
    names = {a["name"] for a in doc["attributes"]}
    assert {"userName", "name", "emails", "phoneNumbers", "title", "active"} <= names
    assert "password" not in names and "x509Certificates" not in names


def test_an_unknown_schema_is_a_scim_404(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Schemas/urn:nope"), 404)


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"])
def test_discovery_endpoints_refuse_writes_with_405(scim: ScimClient, path: str) -> None:
    assert_scim_error(scim.post(path, {}), 405)
    assert_scim_error(scim.delete(path), 405)


def test_bulk_and_me_are_refused_as_not_implemented(scim: ScimClient) -> None:
    assert_scim_error(scim.post("/Bulk", {"Operations": []}), 501)
    assert_scim_error(scim.get("/Me"), 501)


def test_an_unknown_endpoint_is_a_scim_404_not_html(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Printers"), 404)
    assert_scim_error(scim.get("/scim/v2/Users"), 404)
