"""scim.schema's table against what the endpoint advertises and does: every stored string
attribute is in /Schemas as it is in the table, every string attribute /Schemas offers is
stored, and each one round-trips through POST, GET, filters and PATCH."""

from __future__ import annotations

from typing import Any

import pytest
from django_scim.schemas import ALL as RFC_SCHEMAS

from scim.schema import RESOURCE_TYPES, SCHEMAS, USER_STRINGS, StringAttribute
from tests.scim.conftest import ENTERPRISE, USER_SCHEMA, ScimClient, okta_user

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
# What /Schemas lists as strings but the table rightly leaves to code of its own.
OWN_RULES = {"id", "userName", "password"}
# RFC 7643 §3.1: common to every resource, so in no resource's schema.
COMMON = {("", "externalId")}


def _advertised(scim: ScimClient) -> dict[tuple[str, str], dict[str, Any]]:
    """(place, name) -> definition of every single-valued string attribute advertised."""
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for urn, place in ((USER_SCHEMA, ""), (ENTERPRISE, "enterprise")):
        for a in schemas[urn]["attributes"]:
            if a["type"] in ("string", "reference") and not a.get("multiValued"):
                found[(place, a["name"])] = a
            if a["name"] == "name":
                for sub in a["subAttributes"]:
                    found[("name", sub["name"])] = sub
    return found


def test_the_table_and_the_advertised_schemas_agree(scim: ScimClient) -> None:
    advertised = _advertised(scim)
    table = {(a.place, a.name): a for a in USER_STRINGS if (a.place, a.name) not in COMMON}
    offered = {key for key in advertised if key[1] not in OWN_RULES}
    assert offered == set(table), "advertised but not stored, or stored but not advertised"
    for key, attribute in table.items():
        assert advertised[key].get("caseExact", False) == attribute.case_exact, key


# Where this server's schemas depart from RFC 7643 §8.7, each said in scim/schema.py:
# (schema name, attribute path) -> {characteristic: what we advertise}. Descriptions are
# our own and not compared.
DEPARTURES: dict[tuple[str, str], dict[str, Any]] = {
    ("User", "active"): {"required": True},
    ("User", "addresses.primary"): {"added": True},
    ("Group", "displayName"): {"required": True, "uniqueness": "server"},
    ("Group", "members.type"): {"canonicalValues": ["User"]},
}
_COMPARED = ("type", "multiValued", "required", "caseExact", "mutability", "returned")
_COMPARED_TOO = ("uniqueness", "canonicalValues", "referenceTypes")


def _flatten(attributes: list[dict[str, Any]], prefix: str = "") -> dict[str, dict[str, Any]]:
    out = {}
    for a in attributes:
        out[prefix + a["name"]] = a
        out.update(_flatten(a.get("subAttributes", []), prefix + a["name"] + "."))
    return out


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_the_table_says_what_rfc_7643_says_except_where_it_says_otherwise(schema: Any) -> None:
    rfc = {s["id"]: s for s in RFC_SCHEMAS}[schema.id]
    ours = _flatten(schema.definition()["attributes"])
    theirs = _flatten(rfc["attributes"])
    dropped = {a.name for a in schema.attributes if not a.stored}
    for path in theirs:
        if path.split(".")[0] in dropped:
            assert path not in ours, f"{path} is not stored and must not be advertised"
            continue
        assert path in ours, f"RFC attribute {schema.name}.{path} is missing from the table"
    for path, mine in ours.items():
        departures = DEPARTURES.get((schema.name, path), {})
        if departures.get("added"):
            assert path not in theirs
            continue
        rfc_def = theirs[path]
        for key in _COMPARED + _COMPARED_TOO:
            if key in departures:
                assert mine.get(key) == departures[key], (path, key)
            elif key in _COMPARED or key in rfc_def:
                want = rfc_def.get(key, False if key != "uniqueness" else "none")
                if key == "caseExact" and mine["type"] not in ("string", "reference"):
                    continue
                assert mine.get(key, False) == want, (schema.name, path, key)
        assert mine["description"], path


def test_discovery_documents_come_from_the_table(scim: ScimClient) -> None:
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    assert schemas == {
        s.id: {**s.definition(), "schemas": [SCHEMA_URN], "meta": schemas[s.id]["meta"]}
        for s in SCHEMAS
    }
    types = scim.get("/ResourceTypes").json()["Resources"]
    assert [(t["id"], t["endpoint"], t["schema"]) for t in types] == [
        (rt.id, rt.endpoint, rt.schema.id) for rt in RESOURCE_TYPES
    ]
    user = next(t for t in types if t["id"] == "User")
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]


def _value(a: StringAttribute) -> str:
    return f"{a.name}-value-{'x' * 5}"


def _body(user_name: str) -> dict[str, Any]:
    body = okta_user(user_name)
    body["name"] = {}
    body[ENTERPRISE] = {}
    for a in USER_STRINGS:
        target = {"": body, "name": body["name"], "enterprise": body[ENTERPRISE]}[a.place]
        target[a.name] = _value(a)
    return body


def _read(doc: dict[str, Any], a: StringAttribute) -> Any:
    where = {"": doc, "name": doc.get("name", {}), "enterprise": doc.get(ENTERPRISE, {})}
    return where[a.place].get(a.name)


def test_every_string_attribute_is_stored_rendered_and_filtered(scim: ScimClient) -> None:
    created = scim.post("/Users", _body("all@acme.example"))
    assert created.status_code == 201, created.content
    got = scim.get(f"/Users/{created.json()['id']}").json()
    for a in USER_STRINGS:
        assert _read(got, a) == _value(a), a.path
        path = a.path if a.place != "enterprise" else f"{ENTERPRISE}:{a.name}"
        found = scim.get("/Users", {"filter": f'{path} eq "{_value(a)}"'}).json()
        assert found["totalResults"] == 1, path


@pytest.mark.parametrize("a", USER_STRINGS, ids=lambda a: a.path)
def test_every_string_attribute_is_patched_and_length_checked(
    scim: ScimClient, a: StringAttribute
) -> None:
    user = scim.post("/Users", okta_user("patch@acme.example")).json()
    path = a.path if a.place != "enterprise" else f"{ENTERPRISE}:{a.name}"
    r = scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": path, "value": "new"})
    assert r.status_code == 200, r.content
    assert _read(r.json(), a) == "new"
    too_long = "x" * (a.max_length + 1)
    r = scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": path, "value": too_long})
    assert r.status_code == 400 and str(a.max_length) in r.json()["detail"]
