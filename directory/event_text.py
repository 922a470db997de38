"""Events in words: what a provisioning event's details say, as one line for people
(the console's Events page, the hourly summary, the admin API's `summary`)."""

from __future__ import annotations

from typing import Any

from directory.models import ProvisioningEvent

# The user fields an update names (directory.services.users.UserFields), as people say
# them; a field not listed reads as its name with spaces.
FIELD_LABELS = {
    "user_name": "userName",
    "external_id": "external ID",
    "display_name": "display name",
    "nick_name": "nickname",
    "name_formatted": "formatted name",
    "given_name": "given name",
    "family_name": "family name",
    "middle_name": "middle name",
    "honorific_prefix": "honorific prefix",
    "honorific_suffix": "honorific suffix",
    "user_type": "user type",
    "preferred_language": "preferred language",
    "profile_url": "profile URL",
    "phone_numbers": "phone numbers",
    "employee_number": "employee number",
    "cost_center": "cost center",
    "manager_id": "manager",
}


def field_label(name: str) -> str:
    """The label of a user field for people (`family_name` -> "family name")."""
    return FIELD_LABELS.get(name, name.replace("_", " "))


def _members(n: int) -> str:
    return f"{n:,} member" + ("" if n == 1 else "s")


def _change(attribute: str, change: Any) -> str:
    if not isinstance(change, dict):
        return ""
    old, new = change.get("old", ""), change.get("new", "")
    if not old:
        return f"{attribute} set to {new}"
    if not new:
        return f"{attribute} cleared (was {old})"
    return f"{attribute} changed from {old} to {new}"


def _detail_parts(event: ProvisioningEvent) -> list[str]:
    details = event.details if isinstance(event.details, dict) else {}
    parts: list[str] = []
    added, removed = details.get("added"), details.get("removed")
    if isinstance(added, int) and isinstance(removed, int):
        parts.append(f"added {_members(added)}, removed {removed:,}")
    elif isinstance(added, int) and added:
        parts.append(f"added {_members(added)}")
    elif isinstance(removed, int) and removed:
        parts.append(f"removed {_members(removed)}")
    changed = details.get("changed")
    if isinstance(changed, list):
        # A userName change is said in full below.
        names = [str(n) for n in changed if not (n == "user_name" and "userName" in details)]
        if names:
            parts.append("changed " + ", ".join(field_label(n) for n in names))
        elif (
            event.action == ProvisioningEvent.Action.USER_UPDATE
            and "userName" not in details
            and not event.message
        ):
            parts.append("nothing changed")
    for key in ("userName", "displayName", "externalId"):
        if key in details:
            text = _change(key, details[key])
            if text:
                parts.append(text)
    return parts


def event_summary(event: ProvisioningEvent) -> str:
    """What happened, in one line: the event's details in words ("Added 1,000 members,
    removed 0", "Changed family name, title", "userName changed from a to b"), then its
    message. Empty when the event holds neither. Reads only the event (no query)."""
    parts = _detail_parts(event)
    text = "; ".join(parts)
    if text and not text.startswith(("userName", "displayName", "externalId")):
        text = text[0].upper() + text[1:]
    message = event.message.strip()
    if text and message:
        return f"{text}. {message}"
    return text or message
