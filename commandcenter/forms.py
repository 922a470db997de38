from __future__ import annotations

from typing import Any

from django import forms

from directory.models import IdentityProvider, Org


class IdentityProviderForm(forms.Form):
    provider = forms.ChoiceField(choices=IdentityProvider.Provider.choices)
    protocol = forms.ChoiceField(choices=IdentityProvider.Protocol.choices)
    sso_url = forms.URLField(label="SSO URL (SAML)", required=False, assume_scheme="https")
    entity_id = forms.CharField(label="IdP entity ID (SAML)", required=False, max_length=500)
    issuer = forms.URLField(label="Issuer (OIDC)", required=False, assume_scheme="https")
    client_id = forms.CharField(label="Client ID (OIDC)", required=False, max_length=200)

    # Shown with their protocol only. That a provider and a protocol alone are a saved IdP
    # (as the CLI and the API save it) is directory.services.idp_configure's rule.
    SAML_FIELDS = IdentityProvider.SAML_SETTINGS
    OIDC_FIELDS = IdentityProvider.OIDC_SETTINGS


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
        label="Grace period (days)", min_value=1, max_value=3650, required=False
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
