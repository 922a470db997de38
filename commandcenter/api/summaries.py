"""A one-line summary for each operation of the admin API's OpenAPI schema (what the
browsable docs list), added by a drf-spectacular post-processing hook: the words below
where an operation has them, else words made from its operation id ("orgs_users_list":
"List users"), so that a new endpoint is never listed without one."""

from __future__ import annotations

from typing import Any

SUMMARIES = {
    "orgs_list": "List the orgs you administer",
    "orgs_retrieve": "Get an org: seats, deprovisioning policy, access groups",
    "orgs_partial_update": "Change an org's deprovisioning policy or access groups",
    "orgs_events_list": "List provisioning and sign-in events, newest first",
    "orgs_groups_list": "List groups with their member counts",
    "orgs_groups_create": "Add a group by hand",
    "orgs_groups_retrieve": "Get a group",
    "orgs_idp_retrieve": "Get the end users' identity provider",
    "orgs_idp_update": "Save the end users' identity provider",
    "orgs_me_summaries_retrieve": "Get your hourly summary email preference",
    "orgs_me_summaries_update": "Set your hourly summary email preference",
    "orgs_scim_retrieve": "Get the SCIM directory: on or off, Base URL, name rule",
    "orgs_scim_partial_update": "Change the SCIM directory's name rule",
    "orgs_scim_destroy": "Delete the SCIM directory (its users and groups stay)",
    "orgs_scim_disable_create": "Turn SCIM provisioning off",
    "orgs_scim_enable_create": "Turn SCIM provisioning on",
    "orgs_scim_requests_list": "List the provisioning log: the IdP's SCIM requests",
    "orgs_scim_requests_retrieve": "Get one SCIM request with its bodies and events",
    "orgs_scim_tokens_list": "List the SCIM API tokens",
    "orgs_scim_tokens_create": "Generate a SCIM API token (shown once)",
    "orgs_scim_tokens_revoke_create": "Revoke a SCIM API token",
    "orgs_users_list": "List users, filtered and searched",
    "orgs_users_create": "Add a user by hand",
    "orgs_users_retrieve": "Get a user",
    "orgs_users_destroy": "Delete a user permanently",
    "orgs_users_access_retrieve": "Ask whether a user may sign in, and why not",
    "orgs_users_seat_create": "Give a user a seat",
    "orgs_users_seat_destroy": "Take a user's seat away",
}
VERBS = {
    "list": "List",
    "retrieve": "Get",
    "create": "Create",
    "update": "Replace",
    "partial_update": "Change",
    "destroy": "Delete",
}


def summary_of(operation_id: str) -> str:
    """Words for an operation id: the verb from its end, the nouns from its path."""
    for suffix, verb in sorted(VERBS.items(), key=lambda kv: -len(kv[0])):
        if operation_id.endswith(f"_{suffix}"):
            nouns = operation_id.removesuffix(f"_{suffix}").split("_")[1:] or ["orgs"]
            return f"{verb} {' '.join(nouns)}"
    return operation_id.replace("_", " ").capitalize()


def add_summaries(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: fill in every operation's summary."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if isinstance(operation, dict) and "operationId" in operation:
                op = operation["operationId"]
                operation.setdefault("summary", SUMMARIES.get(op) or summary_of(op))
    return result
