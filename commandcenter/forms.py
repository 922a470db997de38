from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from directory.models import IdentityProvider, Org
from directory.saml_metadata import MAX_METADATA_BYTES
from directory.services.orgs import MAX_GRACE_DAYS, MAX_REQUEST_LOG_DAYS


class IdentityProviderForm(forms.Form):
    provider = forms.ChoiceField(choices=IdentityProvider.Provider.choices)
    protocol = forms.ChoiceField(choices=IdentityProvider.Protocol.choices)
    metadata_file = forms.FileField(
        label="IdP metadata (XML file)",
        required=False,
        help_text="Okta: Sign On › SAML 2.0 › Metadata details. Entra ID: Single sign-on › "
        "SAML Certificates › Federation Metadata XML.",
    )
    metadata_url = forms.URLField(
        label="or the IdP metadata URL",
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text="Fetched when you save (https). Leave both empty to keep the saved metadata.",
    )
    idp_initiated = forms.BooleanField(
        label="Accept sign-ins started at the IdP (IdP-initiated, e.g. from the Okta dashboard)",
        required=False,
    )
    issuer = forms.URLField(
        label="Issuer", required=False, max_length=1000, assume_scheme="https",
        help_text="The discovery document is read from ISSUER/.well-known/openid-configuration.",
    )  # fmt: skip
    client_id = forms.CharField(label="Client ID", required=False, max_length=200)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=2000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the saved one.",
    )
    scopes = forms.CharField(
        label="Scopes", required=False, max_length=200, initial="openid email profile"
    )
    username_claim = forms.ChoiceField(
        label="Claim matched to userName",
        choices=IdentityProvider.UsernameClaim.choices,
        initial=IdentityProvider.UsernameClaim.EMAIL,
        required=False,
    )

    # Shown with their protocol only (settings.js), and only the chosen protocol's are
    # read: what the other protocol's hidden fields hold is ignored. That a provider and
    # a protocol alone are a saved IdP (as the CLI and the API save it) is
    # directory.services.idp_configure's rule.
    SAML_FIELDS = ("metadata_file", "metadata_url", "idp_initiated")
    OIDC_FIELDS = ("issuer", "client_id", "client_secret", "scopes", "username_claim")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        protocol = cleaned.get("protocol")
        ignored = (
            self.OIDC_FIELDS if protocol == IdentityProvider.Protocol.SAML else self.SAML_FIELDS
        )
        for name in ignored:
            self.errors.pop(name, None)
            cleaned.pop(name, None)
        upload = cleaned.get("metadata_file")
        if upload and cleaned.get("metadata_url"):
            self.add_error("metadata_url", "Give the metadata as a file or as a URL, not both.")
        if upload and upload.size > MAX_METADATA_BYTES:
            self.add_error(
                "metadata_file", f"The file is larger than {MAX_METADATA_BYTES:,} bytes."
            )
        return cleaned

    def idp_settings(self) -> dict[str, Any]:
        """The keyword arguments of idp_configure for the chosen protocol: what is left
        empty (no new metadata, no new secret) keeps its saved value."""
        data = self.cleaned_data
        settings: dict[str, Any] = {"provider": data["provider"], "protocol": data["protocol"]}
        if data["protocol"] == IdentityProvider.Protocol.SAML:
            if data.get("metadata_file"):
                settings["metadata_xml"] = data["metadata_file"].read()
            elif data.get("metadata_url"):
                settings["metadata_url"] = data["metadata_url"]
            settings["idp_initiated"] = bool(data.get("idp_initiated"))
        else:
            settings.update(
                issuer=data.get("issuer") or "",
                client_id=data.get("client_id") or "",
                scopes=data.get("scopes") or "",
                username_claim=data.get("username_claim") or IdentityProvider.UsernameClaim.EMAIL,
            )
            if data.get("client_secret"):
                settings["client_secret"] = data["client_secret"]
        return settings

    def field_for(self, service_field: str | None) -> str | None:
        """The form field to show a service error on (None: the whole form)."""
        if service_field == "metadata":
            return "metadata_file" if self.cleaned_data.get("metadata_file") else "metadata_url"
        if service_field == "metadata_xml":
            return "metadata_file"
        return service_field if service_field in self.fields else None


class JitForm(forms.Form):
    jit = forms.BooleanField(
        label="Create unknown users when they first sign in (just-in-time)", required=False
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        required=False,
        max_length=100,
        help_text="Where it is used, e.g. “Okta production”.",
    )


class DeprovisionForm(forms.Form):
    deprovision = forms.ChoiceField(
        label="When the IdP deactivates or removes a user",
        choices=[
            (Org.Deprovision.DISABLE, "Disable: keep the user, marked disabled"),
            (Org.Deprovision.DELETE, "Delete: remove the user and free the seat"),
            (
                Org.Deprovision.DISABLE_THEN_DELETE,
                "Disable, then delete after a grace period (unless reactivated first)",
            ),
        ],
        widget=forms.RadioSelect,
    )
    grace_days = forms.IntegerField(
        label="Grace period (days)", min_value=1, max_value=MAX_GRACE_DAYS, required=False
    )
    # Set by the confirmation dialog of a change that deletes users.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RequestLogForm(forms.Form):
    retention_days = forms.IntegerField(
        label="Keep requests for (days)", min_value=1, max_value=MAX_REQUEST_LOG_DAYS
    )
    masks_personal_data = forms.BooleanField(
        label="Mask names, emails, phone numbers and addresses too", required=False
    )


class SummaryForm(forms.Form):
    summary_emails = forms.BooleanField(
        label="Send me the hourly summary of provisioning events", required=False
    )


class ConfirmSlugForm(forms.Form):
    confirm = forms.CharField(label="Type the org's short name to confirm", max_length=63)

    def __init__(self, *args: object, slug: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.slug = slug

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip()
        if value != self.slug:
            raise forms.ValidationError(f"Type {self.slug} to confirm.")
        return value


class ManualUserForm(forms.Form):
    user_name = forms.EmailField(label="Email (userName)", max_length=254)
    given_name = forms.CharField(label="Given name", max_length=255, required=False)
    family_name = forms.CharField(label="Family name", max_length=255, required=False)


class ManualGroupForm(forms.Form):
    display_name = forms.CharField(label="Group name", max_length=255)


class AccessPolicyForm(forms.Form):
    access_groups = forms.MultipleChoiceField(
        label="Only members of these groups get access",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unchecked to let every user in.",
    )

    def __init__(self, *args: Any, group_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_groups"].choices = [(n, n) for n in group_names]  # type: ignore[attr-defined]


class NameRuleForm(forms.Form):
    reject_special_characters = forms.BooleanField(
        label="Refuse names containing @ , # $ ! from the IdP",
        required=False,
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(label="Key name", max_length=100, required=False)
    read_only = forms.BooleanField(label="Read-only", required=False)


class SignInForm(AuthenticationForm):
    """The console's sign-in: its field is labelled Email, and so is its error."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password. The password is case-sensitive.",
    }
