// Cobrador — scripts of the template editor and the reports (loaded by those pages only; no inline script:
// the Content-Security-Policy forbids it). Both are conveniences: every page works without them.
//
// 1. The template editor (a form with data-preview-url): while one types, the texts are sent to the box's
//    JSON preview (the same CSRF token the form carries) and each preview box is filled with the rendered
//    text, its alphabet, SMS parts and characters left. Text is put with textContent (never as HTML).
// 2. A button with data-print opens the browser's print window (print or save as PDF: the board pack).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var sequence = 0;

  function setPart(box, part, value) {
    var element = box.querySelector('[data-part="' + part + '"]');
    if (element) { element.textContent = value === undefined || value === null ? "—" : String(value); }
  }

  function showError(field, message) {
    var input = form.querySelector('[name="' + field + '"]');
    if (!input) { return; }
    var holder = input.closest(".field");
    if (!holder) { return; }
    var live = holder.querySelector(".error.live");
    if (!message) {
      holder.classList.remove("invalid");
      if (live) { live.remove(); }
      return;
    }
    holder.classList.add("invalid");
    if (!live) {
      live = document.createElement("p");
      live.className = "error live";
      live.setAttribute("role", "alert");
      holder.appendChild(live);
    }
    live.textContent = message;
  }

  function show(answer) {
    var variants = answer.variants || {};
    var errors = answer.errors || {};
    form.querySelectorAll("[data-preview]").forEach(function (box) {
      var name = box.getAttribute("data-preview");
      var result = variants[name];
      box.classList.toggle("empty", !result);
      setPart(box, "sent", result ? result.sent : "");
      setPart(box, "encoding", result && result.encoding);
      setPart(box, "segments", result && result.segments);
      setPart(box, "chars_left", result && result.chars_left);
      setPart(box, "length", result && result.length);
    });
    ["es", "es_compartido", "en", "en_compartido", "debtor"].forEach(function (field) {
      showError(field, errors[field]);
    });
    var debtor = form.querySelector("[data-preview-debtor]");
    if (debtor && answer.debtor) { debtor.textContent = answer.debtor; }
  }

  function update() {
    var mine = ++sequence;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin",
                 headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) { if (mine === sequence) { show(answer); } })
      .catch(function () { /* the server-rendered preview still works with the button */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 400);
  }

  form.querySelectorAll("textarea, input[name=debtor]").forEach(function (input) {
    input.addEventListener("input", later);
  });
  form.querySelectorAll("input[name=transliterate]").forEach(function (input) {
    input.addEventListener("change", update);
  });
});
