// Settings > Identity and Access: show the identity provider fields of the chosen
// protocol only (SAML: SSO URL and entity ID; OIDC: issuer and client ID).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("idp-form");
  if (!form) return;
  const protocol = form.querySelector("[name=protocol]");
  const show = () => {
    form.querySelectorAll("[data-protocol]").forEach((field) => {
      field.hidden = field.dataset.protocol !== protocol.value;
    });
  };
  protocol.addEventListener("change", show);
  show();
});
