// Console behaviour: the phone-width menu, dialogs and copy buttons. No build step.
function copyText(text, input) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP fallback: copy from a selected field.
  let field = input;
  if (!field) {
    field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "fixed";
    field.style.opacity = "0";
    document.body.appendChild(field);
  }
  field.select();
  const ok = document.execCommand("copy");
  if (!input) field.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
}

document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (toggle) {
    const open = toggle.closest(".topbar").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
    return;
  }
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    document.getElementById(opener.dataset.openDialog).showModal();
    return;
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) {
    closer.closest("dialog").close();
    return;
  }
  const copier = event.target.closest("[data-copy], [data-copy-text]");
  if (copier) {
    const input = copier.dataset.copy ? document.querySelector(copier.dataset.copy) : null;
    if (input) input.select();
    const label = copier.textContent;
    copyText(input ? input.value : copier.dataset.copyText, input).then(
      () => {
        copier.textContent = "Copied";
        setTimeout(() => { copier.textContent = label; }, 2000);
      },
      () => {
        copier.textContent = "Press Ctrl+C";
        setTimeout(() => { copier.textContent = label; }, 3000);
      },
    );
  }
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("dialog[data-open-on-load]").forEach((d) => {
    d.showModal();
    // The token was rendered by a POST: a reload must not post again, or show it again.
    if (d.dataset.replaceUrl) {
      history.replaceState(null, "", d.dataset.replaceUrl);
    }
  });
});
