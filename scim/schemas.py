"""Discovery documents: ServiceProviderConfig, ResourceTypes and Schemas.

The schema definitions are django-scim2's copies of RFC 7643 §8.7, trimmed to the
attributes this server stores, so what is advertised is what works."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django_scim.schemas import ALL as LIBRARY_SCHEMAS

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# User attributes we accept but do not store (IdPs send `password` and `roles: []`).
_USER_ATTRIBUTES_NOT_STORED = {
    "password",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509Certificates",
}


def _schema_definitions() -> dict[str, dict[str, Any]]:
    by_id = {s["id"]: copy.deepcopy(s) for s in LIBRARY_SCHEMAS}
    user = by_id[USER_SCHEMA]
    user["attributes"] = [
        a for a in user["attributes"] if a["name"] not in _USER_ATTRIBUTES_NOT_STORED
    ]
    for attribute in user["attributes"]:
        if attribute["name"] == "groups":
            # Group membership is managed through /Groups, never through a user.
            attribute["mutability"] = "readOnly"
        if attribute["name"] == "active":
            # Every user here is either active or not: the attribute is never unassigned
            # (a create without it means active).
            attribute["required"] = True
    group = by_id[GROUP_SCHEMA]
    for attribute in group["attributes"]:
        if attribute["name"] == "displayName":
            # The name identifies a group in the org (unique, and how a pushed group
            # finds a console group to take over): a group must have one.
            attribute["required"] = True
        if attribute["name"] == "members":
            for sub in attribute.get("subAttributes", []):
                if sub["name"] == "type":
                    # Nested groups are not supported: members are users.
                    sub["canonicalValues"] = ["User"]
    return {k: by_id[k] for k in (USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA)}


SCHEMA_DEFINITIONS = _schema_definitions()


def schema_documents(base_url: str) -> list[dict[str, Any]]:
    docs = []
    for schema_id, definition in SCHEMA_DEFINITIONS.items():
        doc = copy.deepcopy(definition)
        doc["schemas"] = [SCHEMA_SCHEMA]
        doc["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema_id}"}
        docs.append(doc)
    return docs


def resource_type_documents(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "An end user of the org",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of end users (nested groups are not supported)",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/Group",
            },
        },
    ]


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": settings.SCIM_MAX_PAGE_SIZE},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM API token generated in the Command Center console, "
                "sent as 'Authorization: Bearer <token>'",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }
