// Import pages (webui/imports.py): the progress bar follows the check or import running on the box, and the
// upload and import buttons say they are working. Every page works without this file (the progress page then
// refreshes itself). No inline script: the Content-Security-Policy forbids it.
"use strict";
(function () {
  function follow(box) {
    var url = box.getAttribute("data-url");
    var bar = document.getElementById("import-bar");
    var text = document.getElementById("import-percent");
    var saving = box.getAttribute("data-saving") || "";
    var failures = 0;
    if (!window.fetch) { window.setTimeout(function () { window.location.reload(); }, 2000); return; }
    function poll() {
      window.fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          if (data.state !== "running") { window.location.assign(data.next); return; }
          bar.value = data.percent;
          bar.textContent = data.percent + " %";
          text.textContent = data.percent >= 99 && saving ? saving : data.percent + " %";
          window.setTimeout(poll, 1000);
        })
        .catch(function () {
          // the session may have expired (the answer is then the login page): after a few tries, reload
          failures += 1;
          if (failures >= 3) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
        });
    }
    window.setTimeout(poll, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("import-progress");
    if (box) { follow(box); }
    document.querySelectorAll("form button[data-busy]").forEach(function (button) {
      button.form.addEventListener("submit", function () {
        // after the browser has taken the form's data: a second click would only send it twice
        window.setTimeout(function () { button.disabled = true; button.textContent = button.getAttribute("data-busy"); }, 0);
      });
    });
  });
}());
