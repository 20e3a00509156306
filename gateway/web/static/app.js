// The mailbox's only script: "check all", confirmations, and opening a row with Enter. Nothing needs it:
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
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
