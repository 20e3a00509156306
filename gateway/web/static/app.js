// The web app's only script: "check all", confirmations, copying a record's Bcc address. Nothing needs it:
// every action is a plain form that works without script.
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
});
