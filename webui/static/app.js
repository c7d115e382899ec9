// Cobrador's page script: small progressive enhancements only; every page works without it.
// Loaded from the box itself (no inline script: the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Buttons marked data-confirm ask before submitting (deleting a user, an opt-out, a restore...).
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
