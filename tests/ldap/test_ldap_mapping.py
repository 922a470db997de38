"""The Active Directory preset's mapping on AD-shaped entries (no real AD here; the sync
of such entries through slapd is in test_ldap_ad.py)."""

from __future__ import annotations

import uuid

from directory.ldap_client import Entry
from directory.services.ldap_mapping import mapping_for, stable_id, user_from_entry

GUID = uuid.UUID("2f4a3b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")


def _ad_entry(**values: str | bytes) -> Entry:
    attributes: dict[str, list[bytes]] = {
        "userprincipalname": [b"ada@corp.example"],
        "samaccountname": [b"ada"],
        "mail": [b"ada.lovelace@corp.example"],
        "givenname": [b"Ada"],
        "sn": [b"Lovelace"],
        "displayname": [b"Ada Lovelace"],
        "title": [b"Engineer"],
        "department": [b"R&D"],
        "telephonenumber": [b"+44 20 7946 0000"],
        "objectguid": [GUID.bytes_le],
        "useraccountcontrol": [b"512"],
    }
    for key, value in values.items():
        attributes[key.lower()] = [value if isinstance(value, bytes) else value.encode()]
    return Entry(dn="CN=Ada Lovelace,OU=Staff,DC=corp,DC=example", attributes=attributes)


def test_the_ad_preset_maps_an_ad_user() -> None:
    mapped = user_from_entry(_ad_entry(), mapping_for(preset="ad", overrides={}))
    assert mapped.stable_id == str(GUID)  # objectGUID bytes, little-endian, as AD prints it
    assert mapped.login == "ada"
    fields = mapped.fields
    assert fields.user_name == "ada@corp.example"  # userPrincipalName
    assert (fields.given_name, fields.family_name, fields.display_name) == (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert (fields.title, fields.department) == ("Engineer", "R&D")
    assert fields.emails == [
        {"value": "ada.lovelace@corp.example", "type": "work", "primary": True}
    ]
    assert fields.phone_numbers[0]["value"] == "+44 20 7946 0000"
    assert fields.active is True


def test_the_ad_disabled_bit_makes_the_user_inactive() -> None:
    mapping = mapping_for(preset="ad", overrides={})
    assert user_from_entry(_ad_entry(useraccountcontrol="514"), mapping).fields.active is False
    assert user_from_entry(_ad_entry(useraccountcontrol="66048"), mapping).fields.active is True
    assert user_from_entry(_ad_entry(useraccountcontrol="66050"), mapping).fields.active is False


def test_username_can_come_from_another_attribute() -> None:
    mapping = mapping_for(preset="ad", overrides={"user_name": "mail"})
    assert user_from_entry(_ad_entry(), mapping).fields.user_name == "ada.lovelace@corp.example"


def test_a_text_stable_id_is_read_as_a_uuid() -> None:
    assert stable_id([b"{2F4A3B1C-9D8E-4F7A-B6C5-D4E3F2A1B0C9}"]) == str(GUID)
    assert stable_id([]) == ""
