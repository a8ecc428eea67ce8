// Live "Result" preview: re-compute on every edit, from the form as it stands (nothing saved).
(function () {
  const box = document.getElementById("result-preview");
  const form = box.closest("form");
  let timer = null;
  function refresh() {
    const data = new FormData(form);
    data.set("_object_id", box.dataset.objectId);
    // A two-box chooser (filter_horizontal) selects its chosen options only on submit: send them.
    form.querySelectorAll("select.filtered[id$='_to']").forEach((chosen) => {
      data.delete(chosen.name);
      for (const option of chosen.options) data.append(chosen.name, option.value);
    });
    fetch(box.dataset.url, {method: "POST", body: data, credentials: "same-origin"})
      .then((r) => r.text()).then((html) => { box.innerHTML = html; });
  }
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(refresh, 50); });
  // Moving options between the chooser's boxes fires no event: watch the chosen box instead.
  const watch = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(refresh, 50); });
  function observeChosen() {
    form.querySelectorAll("select.filtered[id$='_to']").forEach((chosen) => {
      watch.observe(chosen, {childList: true});
    });
  }
  // SelectFilter builds its boxes on load, after this script has run.
  if (document.readyState === "complete") observeChosen();
  else window.addEventListener("load", observeChosen);
})();
