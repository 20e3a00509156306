// The web app's only script: "check all", confirmations, and copy buttons. Nothing needs it: every
// action is a plain form that works without script (an address to copy is shown as text too).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("check-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"][type="checkbox"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    // Copy an address: data-copy names the field that holds it (a record's Bcc address), or is the
    // address itself (the settings page). The clipboard API where the page may use it, else select and copy.
    // "Copied" is said in the page's language (data-copied), in #copy-done when there is one, else on the button.
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var text = field ? field.value : button.getAttribute("data-copy");
      var done = document.getElementById("copy-done");
      var copied = button.getAttribute("data-copied") || "Copied";
      var said = function () { if (field && done) { done.textContent = copied; } else { button.textContent = copied; } };
      var select = function () {
        var area = field || document.createElement("textarea");
        if (!field) { area.value = text; document.body.appendChild(area); }
        area.focus();
        area.select();
        if (document.execCommand("copy")) { said(); }
        if (!field) { area.remove(); button.focus(); }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(said, select);
      } else {
        select();
      }
    });
  });
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
