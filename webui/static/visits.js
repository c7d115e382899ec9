// Visitas: the print view's button opens the browser's print window (the page prints without it too).
// Loaded from the box itself (no inline script: the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
