// Users table: select every row of the page, count the selection, and enable the bulk
// actions only when something is selected. No build step.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-select-all]");
  if (!all) return;
  const form = document.getElementById(all.dataset.selectAll);
  const boxes = () => [...document.querySelectorAll(`input[name=id][form=${form.id}]`)];
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
    if (event.target.matches(`input[name=id][form=${form.id}]`)) update();
  });
  update();
});
