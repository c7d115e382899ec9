// Cobrador — the debtors area's small enhancements (every page works without them).
// Loaded as a file from the box: the Content-Security-Policy forbids inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Debtor form: "Agregar otro teléfono" copies the last phone row, empty, with the next index.
  var rows = document.querySelector("[data-phone-rows]");
  var add = document.querySelector("[data-add-phone]");
  if (rows && add) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var all = rows.querySelectorAll("[data-phone-row]");
      var max = parseInt(rows.getAttribute("data-max"), 10) || 20;
      if (all.length >= max) { add.hidden = true; return; }
      var last = all[all.length - 1];
      var copy = last.cloneNode(true);
      var next = all.length;
      copy.querySelectorAll("[name], [id], [for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(/phones-\d+-/, "phones-" + next + "-")); }
        });
        if (el.tagName === "INPUT" && el.type === "text") { el.value = ""; }
        if (el.tagName === "INPUT" && el.type === "checkbox") { el.checked = el.name.slice(-4) === "-sms"; }
        if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      });
      copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
      copy.querySelectorAll(".field.invalid").forEach(function (el) { el.classList.remove("invalid"); });
      rows.appendChild(copy);
      var input = copy.querySelector("input[type=text]");
      if (input) { input.focus(); }
    });
  }

  // Loan form: show only the part of the plan that was chosen (calculate / type row by row).
  var modes = document.querySelectorAll("[data-plan-mode]");
  function showPlan() {
    var chosen = document.querySelector("[data-plan-mode]:checked");
    document.querySelectorAll("[data-plan]").forEach(function (part) {
      part.hidden = chosen !== null && part.getAttribute("data-plan") !== chosen.value;
    });
  }
  modes.forEach(function (radio) { radio.addEventListener("change", showPlan); });
  if (modes.length) { showPlan(); }

  // Call script: a print button.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
