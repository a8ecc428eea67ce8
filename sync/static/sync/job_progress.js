// A job's page: ask the server for the job's progress once a second until it is done or failed.
// Loaded as a file (no inline script) so a Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  const FINISHED = ["done", "failed"];
  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 10000;

  function setText(box, selector, text) {
    const element = box.querySelector(selector);
    if (element) element.textContent = text;
  }

  function render(box, data) {
    box.dataset.state = data.state;
    setText(box, ".job-state", data.state_label);
    setText(box, ".job-count", data.count_text);
    setText(box, ".job-duration", data.duration);
    const bar = box.querySelector(".job-bar");
    if (bar) {
      if (data.bar_max === null) {
        bar.removeAttribute("value"); // a busy bar: how much there is is not known yet
      } else {
        bar.max = data.bar_max;
        bar.value = data.bar_value;
      }
      bar.textContent = data.count_text;
    }
    const summaryRow = box.querySelector(".job-summary-row");
    if (summaryRow) summaryRow.hidden = !data.summary;
    setText(box, ".job-summary-label", data.summary_label);
    setText(box, ".job-summary", data.summary);
    const errors = box.querySelector(".job-errors");
    if (errors) errors.hidden = data.error_count === 0;
    setText(box, ".job-error-count", String(data.error_count));
    setText(
      box,
      ".job-errors-note",
      data.error_count > data.errors.length ? `(the first ${data.errors.length} are listed)` : ""
    );
    const list = box.querySelector(".job-error-list");
    if (list) {
      // textContent, never innerHTML: the messages come from vendors and CSV files.
      list.replaceChildren(
        ...data.errors.map((message) => {
          const item = document.createElement("li");
          item.textContent = message;
          return item;
        })
      );
    }
  }

  function poll(box, delay) {
    window.setTimeout(function () {
      fetch(box.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          return response.json();
        })
        .then(function (data) {
          render(box, data);
          if (!FINISHED.includes(data.state)) poll(box, POLL_MS);
        })
        .catch(function () {
          poll(box, Math.min(delay * 2, MAX_BACKOFF_MS)); // a blip: try again, more slowly
        });
    }, delay);
  }

  function start() {
    const box = document.getElementById("job-progress");
    if (box && !FINISHED.includes(box.dataset.state)) poll(box, POLL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
