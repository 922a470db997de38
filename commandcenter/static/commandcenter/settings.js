// Settings > Identity and Access: show the identity provider fields and our values of
// the chosen protocol only (SAML: metadata; OIDC: issuer, client, scopes).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("idp-form");
  if (!form) return;
  const panel = form.closest("section") || document;
  const protocol = form.querySelector("[name=protocol]");
  const show = () => {
    panel.querySelectorAll("[data-protocol]").forEach((field) => {
      field.hidden = field.dataset.protocol !== protocol.value;
    });
  };
  protocol.addEventListener("change", show);
  show();
});
