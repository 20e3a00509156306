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
    // Copy a record's Bcc address: the clipboard API where the page may use it, else select and copy.
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var done = document.getElementById("copy-done");
      var said = function () { if (done) { done.textContent = "Copied"; } };
      var select = function () {
        field.focus();
        field.select();
        if (document.execCommand("copy")) { said(); }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(said, select);
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
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      var done = function () { button.textContent = "Copied"; };
      var fallback = function () {
        var area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        if (document.execCommand("copy")) { done(); }
        area.remove();
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
});
