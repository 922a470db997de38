"""Discovery documents: ServiceProviderConfig, ResourceTypes and Schemas (RFC 7644 §4),
rendered from scim.schema's table, so what is advertised is what the server does."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from scim.schema import (
    RESOURCE_TYPE_SCHEMA,
    RESOURCE_TYPES,
    SCHEMA_SCHEMA,
    SCHEMAS,
    SPC_SCHEMA,
)


def schema_documents(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            **schema.definition(),
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema.id}"},
        }
        for schema in SCHEMAS
    ]


def resource_type_documents(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": rt.id,
            "name": rt.id,
            "endpoint": rt.endpoint,
            "description": rt.description,
            "schema": rt.schema.id,
            "schemaExtensions": [{"schema": s.id, "required": False} for s in rt.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{rt.id}",
            },
        }
        for rt in RESOURCE_TYPES
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
