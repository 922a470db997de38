// Users table: select every row of the page, count the selection, and enable the bulk
// actions only when something is selected. No build step.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-select-all]");
  if (!all) return;
  // Not form.id: the form's own fields named "id" (the row boxes) would shadow it.
  const formId = all.dataset.selectAll;
  const form = document.getElementById(formId);
  const boxes = () => [...document.querySelectorAll(`input[name=id][form=${formId}]`)];
  const count = document.getElementById("bulk-count");
  const update = () => {
    const n = boxes().filter((b) => b.checked).length;
    count.textContent = n ? `${n.toLocaleString("en")} selected` : "No user selected";
    form.querySelectorAll("[data-needs-selection]").forEach((b) => { b.disabled = n === 0; });
    all.checked = n > 0 && n === boxes().length;
    all.indeterminate = n > 0 && n < boxes().length;
  };
  all.addEventListener("change", () => {
    boxes().forEach((b) => { b.checked = all.checked; });
    update();
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches(`input[name=id][form=${formId}]`)) update();
  });
  update();
});
