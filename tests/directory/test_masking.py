from __future__ import annotations

import json

from directory.masking import BODY_CAP, body_mask, body_pretty


def test_secrets_are_masked_at_any_depth() -> None:
    raw = json.dumps(
        {
            "userName": "ada@acme.example",
            "password": "p",
            "Password": "p",
            "clientSecret": "s",
            "meta": {"refresh_token": "t", "keep": "k"},
            "list": [{"apiToken": "t"}, "plain"],
        }
    )
    doc = json.loads(body_mask(raw))
    assert doc["userName"] == "ada@acme.example" and doc["meta"]["keep"] == "k"
    assert doc["password"] == doc["Password"] == doc["clientSecret"] == "***"
    assert doc["meta"]["refresh_token"] == "***" and doc["list"] == [{"apiToken": "***"}, "plain"]


def test_a_patch_value_for_a_secret_path_is_masked() -> None:
    ops = [
        {"op": "replace", "path": "password", "value": "p"},
        {"op": "replace", "path": "title", "value": "Engineer"},
        {"op": "replace", "value": {"password": "p", "active": False}},
    ]
    doc = json.loads(body_mask(json.dumps({"Operations": ops})))
    assert [op.get("value") for op in doc["Operations"]] == [
        "***",
        "Engineer",
        {"password": "***", "active": False},
    ]


def test_a_body_that_is_not_json_is_not_kept() -> None:
    assert body_mask(b"password=hunter2") == "(not JSON, 16 bytes: not kept)"
    assert body_mask(b"") == ""


def test_a_large_body_is_cut_at_the_cap() -> None:
    kept = body_mask(json.dumps({"v": "x" * (BODY_CAP * 2)}))
    assert kept.startswith('{"v": "xxx') and len(kept) < BODY_CAP + 60
    assert f"cut at {BODY_CAP}" in kept


def test_a_kept_body_is_pretty_printed_for_reading() -> None:
    assert body_pretty('{"a":1}') == '{\n  "a": 1\n}'
    assert body_pretty("(not JSON)") == "(not JSON)"


def test_a_body_without_secrets_is_kept_as_sent() -> None:
    raw = b'{"userName": "ada@acme.example", "name": {"givenName": "Ada"}}'
    assert body_mask(raw) == raw.decode()


def test_a_secret_spelt_with_escapes_is_masked_too() -> None:
    raw = '{"\\u0070assword": "hunter2"}'
    assert json.loads(body_mask(raw)) == {"password": "***"}
