"""The ACS against responses the tests sign themselves: what signs in, and every attack in
signin.md's checklist refused with INVALID_RESPONSE, no session and a failure event. The
posts carry no cookie at all, as the IdP's cross-site POST does in production."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from directory.models import EndUser, Org, SigninNonce
from directory.services.orgs import org_create
from tests.signin.saml_forge import NS, keys, sign
from tests.signin.saml_scene import (
    Scene,
    configure_saml,
    directory_user,
    make_scene,
    refused,
    signed_in_as,
)


@pytest.fixture
def scene(org: Org) -> Scene:
    return make_scene(org)


CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"


def alice(org: Org) -> EndUser:
    return org.users.get(user_name="alice@acme.example")


def mallory_never_signed_in(org: Org) -> None:
    mallory = org.users.get(user_name="mallory@acme.example")
    assert not mallory.sessions.exists()
    assert mallory.last_signin_at is None and mallory.idp_subject is None
    successes = org.events.filter(action="signin", outcome="success")
    assert not successes.filter(resource_id=mallory.pk).exists()


# --- what signs in -------------------------------------------------------------------


def test_a_signed_assertion_answering_our_request_signs_the_user_in(scene: Scene) -> None:
    r = scene.post(scene.answer())
    signed_in_as(r, alice(scene.org))
    me = Client()
    me.cookies["cc_signin"] = r.cookies["cc_signin"].value
    assert b"alice@acme.example" in me.get("/me/").content
    user = alice(scene.org)
    assert user.idp_subject == "alice@acme.example" and user.last_signin_at is not None


def test_a_response_signed_as_well_as_its_assertion_signs_in(scene: Scene) -> None:
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id).signed()
    xml = sign(scene.response(inner, in_response_to=request_id), keys())
    signed_in_as(scene.post(xml), alice(scene.org))


def test_the_relay_state_is_followed_when_it_is_a_path_of_this_site(scene: Scene) -> None:
    r = scene.post(scene.answer(), relay_state="/me/?tab=groups")
    signed_in_as(r, alice(scene.org), to="/me/?tab=groups")


def test_a_relay_state_to_another_site_ends_at_me(scene: Scene) -> None:
    r = scene.post(scene.answer(), relay_state="https://evil.example")
    signed_in_as(r, alice(scene.org), to="/me/")


def test_during_a_rollover_either_certificate_verifies(org: Org) -> None:
    scene = make_scene(org)
    scene.idp = configure_saml(org, keys("old"), keys("new"))
    for signer in ("old", "new"):
        request_id = scene.start()
        xml = scene.response(
            scene.assertion(in_response_to=request_id).signed(keys(signer)),
            in_response_to=request_id,
        )
        r = scene.post(xml)
        assert r.status_code == 302, signer
    assert alice(org).sessions.count() == 2


def test_a_small_clock_difference_is_tolerated(scene: Scene) -> None:
    # The IdP's clock is a minute ahead: its NotBefore is still in our future.
    r = scene.post(scene.answer(not_before=timedelta(minutes=1)))
    signed_in_as(r, alice(scene.org))


# --- signatures ------------------------------------------------------------------------


def test_an_unsigned_response_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    xml = scene.response(
        scene.assertion(in_response_to=request_id).xml(), in_response_to=request_id
    )
    refused(scene.post(xml), scene.org, because="not signed")


def test_a_response_signed_by_another_key_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    forged = scene.assertion(in_response_to=request_id).signed(keys("attacker"))
    refused(scene.post(scene.response(forged, in_response_to=request_id)), scene.org)


def test_an_assertion_changed_after_signing_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    signed = scene.assertion(in_response_to=request_id).signed()
    tampered = signed.replace("alice@acme.example", "mallory@acme.example")
    refused(scene.post(scene.response(tampered, in_response_to=request_id)), scene.org)
    mallory_never_signed_in(scene.org)


def test_a_signed_response_around_an_unsigned_assertion_is_refused(scene: Scene) -> None:
    # Only the envelope is signed: the SP asks for signed assertions (its metadata says
    # WantAssertionsSigned), so this is refused too.
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id).xml()
    xml = sign(scene.response(inner, in_response_to=request_id), keys())
    refused(scene.post(xml), scene.org, because="not signed")


def test_a_sha1_signature_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id).signed(sha1=True)
    refused(
        scene.post(scene.response(inner, in_response_to=request_id)),
        scene.org,
        because="Deprecated",
    )


# --- XML signature wrapping -------------------------------------------------------------
# The attacker holds a response legitimately signed for alice and wants to be mallory.


def _evil(scene: Scene, request_id: str) -> str:
    return scene.assertion(in_response_to=request_id, name_id="mallory@acme.example").xml()


def _wrapped(scene: Scene, variant: str) -> str:
    request_id = scene.start()
    good = scene.assertion(in_response_to=request_id).signed()
    evil = _evil(scene, request_id)
    if variant == "evil before the signed one":
        return scene.response(evil, good, in_response_to=request_id)
    if variant == "evil after the signed one":
        return scene.response(good, evil, in_response_to=request_id)
    if variant == "evil around the signed one (in its Advice)":
        around = evil.replace(
            "<saml:AuthnStatement", f"<saml:Advice>{good}</saml:Advice><saml:AuthnStatement", 1
        )
        return scene.response(around, in_response_to=request_id)
    if variant == "signed one moved into Extensions":
        return scene.response(evil, in_response_to=request_id, extensions=good)
    if variant == "signed one moved into the Object of a copied signature":
        good_tree = etree.fromstring(good.encode())
        evil_tree = etree.fromstring(evil.encode())
        signature = copy.deepcopy(good_tree.find("ds:Signature", NS))
        assert signature is not None
        evil_tree.set("ID", good_tree.get("ID") or "")
        obj = etree.SubElement(signature, f"{{{C.NS_DS}}}Object")
        obj.append(good_tree)
        issuer = evil_tree.find("saml:Issuer", NS)
        assert issuer is not None
        issuer.addnext(signature)
        return scene.response(etree.tostring(evil_tree).decode(), in_response_to=request_id)
    if variant == "evil with the signed one's ID, the signed one in Extensions":
        good_id = etree.fromstring(good.encode()).get("ID")
        evil_same_id = _evil(scene, request_id).replace('ID="_', f'ID="{good_id}" X="_', 1)
        return scene.response(evil_same_id, in_response_to=request_id, extensions=good)
    raise AssertionError(variant)


@pytest.mark.parametrize(
    "variant",
    [
        "evil before the signed one",
        "evil after the signed one",
        "evil around the signed one (in its Advice)",
        "signed one moved into Extensions",
        "signed one moved into the Object of a copied signature",
        "evil with the signed one's ID, the signed one in Extensions",
    ],
)
def test_signature_wrapping_never_signs_the_attacker_in(scene: Scene, variant: str) -> None:
    r = scene.post(_wrapped(scene, variant))
    # Refused outright; and were it ever accepted, only the signed identity could be it.
    if r.status_code == 302:
        signed_in_as(r, alice(scene.org))
    else:
        refused(r, scene.org)
    mallory_never_signed_in(scene.org)


def test_every_wrapping_variant_is_in_fact_refused(scene: Scene) -> None:
    # The test above would tolerate the signed identity; python3-saml refuses them all.
    for variant in (
        "evil before the signed one",
        "evil around the signed one (in its Advice)",
        "signed one moved into Extensions",
        "signed one moved into the Object of a copied signature",
    ):
        r = scene.post(_wrapped(scene, variant))
        assert r.status_code == 403, variant


# --- audience, recipient, destination, issuer ---------------------------------------------


def test_an_assertion_for_another_audience_is_refused(scene: Scene) -> None:
    xml = scene.answer(audience="https://other-sp.example/metadata")
    refused(scene.post(xml), scene.org, because="audience")


def test_an_assertion_for_another_recipient_is_refused(scene: Scene) -> None:
    xml = scene.answer(recipient="https://other-sp.example/acs")
    refused(scene.post(xml), scene.org, because="SubjectConfirmation")


def test_a_recipient_that_only_starts_with_our_acs_is_refused(scene: Scene) -> None:
    xml = scene.answer(recipient=scene.urls.acs_url + "elsewhere")
    refused(scene.post(xml), scene.org, because="Recipient")


@pytest.mark.parametrize("destination", ["https://other-sp.example/acs", "{acs}elsewhere", ""])
def test_a_response_for_another_destination_is_refused(scene: Scene, destination: str) -> None:
    request_id = scene.start()
    xml = scene.response(
        scene.assertion(in_response_to=request_id).signed(),
        in_response_to=request_id,
        destination=destination.format(acs=scene.urls.acs_url),
    )
    refused(scene.post(xml), scene.org)


def test_an_assertion_from_another_issuer_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id, issuer="https://evil.example/idp").signed()
    refused(
        scene.post(scene.response(inner, in_response_to=request_id)), scene.org, because="issuer"
    )


def test_a_response_envelope_from_another_issuer_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id).signed()
    xml = scene.response(inner, in_response_to=request_id, issuer="https://evil.example/idp")
    refused(scene.post(xml), scene.org, because="issuer")


def test_a_response_for_one_org_is_refused_at_another_orgs_acs(scene: Scene) -> None:
    # Globex trusts the same IdP certificate, but the response was made for acme.
    globex = org_create(slug="globex", name="Globex", seats=10)
    directory_user(globex, "alice@acme.example")
    configure_saml(globex, idp_initiated=True)
    r = scene.post(scene.answer(), slug="globex")
    refused(r, globex)
    assert not globex.users.get().sessions.exists()


# --- InResponseTo ---------------------------------------------------------------------------


def test_a_response_to_a_request_we_never_sent_is_refused(scene: Scene) -> None:
    inner = scene.assertion(in_response_to="_never-sent").signed()
    xml = scene.response(inner, in_response_to="_never-sent")
    refused(scene.post(xml), scene.org, because="no open sign-in request")


def test_a_request_is_answered_once(scene: Scene) -> None:
    request_id = scene.start()
    for name, outcome in (("alice@acme.example", 302), ("mallory@acme.example", 403)):
        # A second, fresh assertion for the same request: the request is used up.
        inner = scene.assertion(in_response_to=request_id, name_id=name).signed()
        r = scene.post(scene.response(inner, in_response_to=request_id))
        assert r.status_code == outcome
    mallory_never_signed_in(scene.org)


def test_a_request_expires_after_five_minutes(scene: Scene) -> None:
    with time_machine.travel(0, tick=False) as traveller:
        traveller.move_to("2031-03-01T10:00:00Z")
        request_id = scene.start()
        traveller.move_to("2031-03-01T10:05:30Z")
        inner = scene.assertion(in_response_to=request_id).signed()
        r = scene.post(scene.response(inner, in_response_to=request_id))
    refused(r, scene.org, because="no open sign-in request")


def test_an_unsolicited_response_is_refused_unless_the_org_allows_idp_initiated_sign_in(
    scene: Scene,
) -> None:
    xml = scene.response(scene.assertion().signed())
    refused(scene.post(xml), scene.org, because="Unsolicited")
    scene.idp.idp_initiated = True
    scene.idp.save()
    signed_in_as(scene.post(scene.response(scene.assertion().signed())), alice(scene.org))


def test_an_envelope_stripped_of_its_in_response_to_is_refused(scene: Scene) -> None:
    # The signed assertion answers our request; an attacker who drops the unsigned
    # envelope's InResponseTo would make it look IdP-initiated.
    scene.idp.idp_initiated = True
    scene.idp.save()
    request_id = scene.start()
    xml = scene.response(scene.assertion(in_response_to=request_id).signed())
    refused(scene.post(xml), scene.org, because="InResponseTo")


# --- time ----------------------------------------------------------------------------------


def test_an_expired_assertion_is_refused(scene: Scene) -> None:
    xml = scene.answer(not_on_or_after=timedelta(minutes=-10))
    refused(scene.post(xml), scene.org, because="expired")


def test_an_assertion_not_yet_valid_is_refused(scene: Scene) -> None:
    xml = scene.answer(not_before=timedelta(minutes=10))
    refused(scene.post(xml), scene.org, because="not yet valid")


def test_an_expired_subject_confirmation_is_refused(scene: Scene) -> None:
    xml = scene.answer(confirmation_not_on_or_after=timedelta(minutes=-1))
    refused(scene.post(xml), scene.org, because="SubjectConfirmation")


def test_the_skew_allowed_is_minutes_not_more(scene: Scene) -> None:
    xml = scene.answer(not_before=timedelta(minutes=4))
    refused(scene.post(xml), scene.org, because="not yet valid")


# --- replay ----------------------------------------------------------------------------------


def test_the_same_response_posted_twice_is_refused_the_second_time(scene: Scene) -> None:
    xml = scene.answer()
    assert scene.post(xml).status_code == 302
    alice(scene.org).sessions.all().delete()
    refused(scene.post(xml), scene.org)


def test_an_assertion_is_accepted_once_even_for_another_request(scene: Scene) -> None:
    # The assertion ID decides, not the envelope: the same assertion answering two
    # requests (possible only for its signer) signs in once.
    assertion = scene.assertion()
    first, second = scene.start(), scene.start()
    for request_id, outcome in ((first, 302), (second, 403)):
        inner = assertion.but(in_response_to=request_id).signed()
        r = scene.post(scene.response(inner, in_response_to=request_id))
        assert r.status_code == outcome
    event = scene.org.events.filter(action="signin").latest("id")
    assert "replay" in event.message


def test_an_idp_initiated_assertion_is_accepted_once(scene: Scene) -> None:
    scene.idp.idp_initiated = True
    scene.idp.save()
    xml = scene.response(scene.assertion().signed())
    assert scene.post(xml).status_code == 302
    alice(scene.org).sessions.all().delete()
    refused(scene.post(xml), scene.org, because="replay")
    assert SigninNonce.objects.filter(kind=SigninNonce.Kind.ASSERTION).count() == 1


# --- XML parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r [<!ENTITY who SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE r [<!ENTITY who "mallory@acme.example">]>',
        "<!DOCTYPE r>",
    ],
)
def test_xml_with_a_doctype_or_entities_is_refused(scene: Scene, doctype: str) -> None:
    request_id = scene.start()
    inner = scene.assertion(in_response_to=request_id, name_id="WHO").signed()
    xml = doctype + scene.response(inner, in_response_to=request_id).replace("WHO", "&who;")
    if "ENTITY" not in doctype:
        xml = xml.replace("&who;", "alice@acme.example")
    refused(scene.post(xml), scene.org)
    mallory_never_signed_in(scene.org)


@pytest.mark.parametrize("value", ["not base64!", "PHg+", "PD94bWwgdmVyc2lvbj0iMS4wIj8+PGE+"])
def test_something_that_is_not_a_saml_response_is_refused(scene: Scene, value: str) -> None:
    r = Client().post("/sso/acme/saml/acs/", {"SAMLResponse": value})
    refused(r, scene.org)


def test_a_post_without_a_response_is_refused(scene: Scene) -> None:
    refused(Client().post("/sso/acme/saml/acs/", {}), scene.org, because="No SAMLResponse")


def test_an_encrypted_assertion_is_refused(scene: Scene) -> None:
    # We publish no encryption key; an IdP that encrypts anyway cannot be read.
    encrypted = (
        f'<saml:EncryptedAssertion xmlns:saml="{C.NS_SAML}">'
        f'<xenc:EncryptedData xmlns:xenc="{C.NS_XENC}"/></saml:EncryptedAssertion>'
    )
    refused(scene.post(scene.response(encrypted)), scene.org)


def test_a_response_reporting_failure_at_the_idp_is_refused(scene: Scene) -> None:
    request_id = scene.start()
    xml = scene.response(in_response_to=request_id, status=C.STATUS_RESPONDER)
    refused(scene.post(xml), scene.org)


# --- the identity ----------------------------------------------------------------------------


def test_a_transient_name_id_identifies_nobody(scene: Scene) -> None:
    xml = scene.answer(name_id="_a1b2c3", name_id_format=C.NAMEID_TRANSIENT)
    refused(scene.post(xml), scene.org, because="does not identify")


def test_a_persistent_name_id_is_the_subject_and_the_email_is_matched(scene: Scene) -> None:
    xml = scene.answer(
        name_id="00u1abcd",
        name_id_format=C.NAMEID_PERSISTENT,
        attributes={"email": "alice@acme.example"},
    )
    signed_in_as(scene.post(xml), alice(scene.org))
    assert alice(scene.org).idp_subject == "00u1abcd"


def test_a_users_later_sign_ins_must_come_with_their_subject(scene: Scene) -> None:
    first = scene.answer(
        name_id="00u1abcd",
        name_id_format=C.NAMEID_PERSISTENT,
        attributes={"email": "alice@acme.example"},
    )
    assert scene.post(first).status_code == 302
    alice(scene.org).sessions.all().delete()
    # The email was reassigned at the IdP to someone with another subject.
    other = scene.answer(
        name_id="00u9zzzz",
        name_id_format=C.NAMEID_PERSISTENT,
        attributes={"email": "alice@acme.example"},
    )
    refused(scene.post(other), scene.org, reason="USER_NOT_PROVISIONED")


@pytest.mark.parametrize(
    "attributes",
    [
        {  # Okta's attribute statements
            "email": "dana@acme.example",
            "firstName": "Dana",
            "lastName": "Scully",
            "displayName": "Dana Scully",
        },
        {  # Entra's claims
            f"{CLAIMS}/emailaddress": "dana@acme.example",
            f"{CLAIMS}/givenname": "Dana",
            f"{CLAIMS}/surname": "Scully",
            "http://schemas.microsoft.com/identity/claims/displayname": "Dana Scully",
        },
    ],
)
def test_a_just_in_time_user_gets_the_idps_attributes(
    scene: Scene, attributes: dict[str, str]
) -> None:
    scene.idp.jit = True
    scene.idp.save()
    r = scene.post(scene.answer(name_id="dana@acme.example", attributes=attributes))
    dana = scene.org.users.get(user_name="dana@acme.example")
    signed_in_as(r, dana)
    assert (dana.given_name, dana.family_name, dana.display_name) == (
        "Dana",
        "Scully",
        "Dana Scully",
    )
    assert dana.primary_email == "dana@acme.example" and dana.source == "jit"


def test_an_unknown_user_is_refused_when_just_in_time_creation_is_off(scene: Scene) -> None:
    refused(
        scene.post(scene.answer(name_id="dana@acme.example")),
        scene.org,
        reason="USER_NOT_PROVISIONED",
    )
    assert not scene.org.users.filter(user_name="dana@acme.example").exists()


# --- not set up ------------------------------------------------------------------------------


def test_the_acs_of_an_org_without_a_ready_saml_idp_refuses(org: Org) -> None:
    r = Client().post("/sso/acme/saml/acs/", {"SAMLResponse": "x"})
    refused(r, org, reason="SSO_NOT_CONFIGURED")


def test_the_acs_of_an_unknown_org_is_a_404(db: None) -> None:
    assert Client().post("/sso/nobody/saml/acs/", {"SAMLResponse": "x"}).status_code == 404


def test_the_acs_takes_only_posts(scene: Scene) -> None:
    assert Client().get("/sso/acme/saml/acs/").status_code == 405
