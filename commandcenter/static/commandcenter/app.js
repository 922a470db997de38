// Console behaviour: dialogs, copy buttons and the org switcher. No build step.
document.addEventListener("click", (event) => {
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
  const copier = event.target.closest("[data-copy]");
  if (copier) {
    const input = document.querySelector(copier.dataset.copy);
    input.select();
    const done = () => {
      copier.textContent = "Copied";
      setTimeout(() => { copier.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => document.execCommand("copy") && done());
    } else if (document.execCommand("copy")) {
      done();
    }
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
  const switcher = document.querySelector("[data-org-switch] select");
  if (switcher) {
    switcher.addEventListener("change", () => { window.location = switcher.value; });
  }
});
