// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });
  // The header's menu button: on a phone the navigation folds behind it.
  // Without this script the button stays hidden and the menu stays open.
  var menubtn = document.querySelector(".menubtn");
  if (menubtn) {
    var bar = document.getElementById("topbar");
    menubtn.hidden = false;
    bar.classList.add("folds");
    menubtn.addEventListener("click", function () {
      var open = menubtn.getAttribute("aria-expanded") !== "true";
      menubtn.setAttribute("aria-expanded", open ? "true" : "false");
      bar.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && bar.classList.contains("open")) {
        menubtn.setAttribute("aria-expanded", "false");
        bar.classList.remove("open");
        menubtn.focus();
      }
    });
  }
  // A form with a kind switch (the add-check form) shows only the fields
  // of the chosen kind: each such field names its kinds in data-kinds.
  // Without this script every field shows, and the server ignores the
  // ones that do not apply.
  document.querySelectorAll("select[data-kind-switch]").forEach(function (sel) {
    var show = function () {
      sel.form.querySelectorAll("[data-kinds]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(sel.value) < 0;
      });
    };
    sel.addEventListener("change", show);
    show();
  });
  // Count down running SLA clocks. The server renders the seconds left at
  // its own time, so the count does not depend on this computer's clock;
  // each clock counts from when it reached the page (a refreshed part of
  // the page brings new ones).
  var two = function (n) { return (n < 10 ? "0" : "") + n; };
  var tick = function () {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-left]").forEach(function (el) {
      if (!el.portalLoaded) { el.portalLoaded = now; }
      var left = parseInt(el.getAttribute("data-left"), 10) - Math.floor((now - el.portalLoaded) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-overdue");
        el.classList.add("overdue");
        return;
      }
      // As views.Countdown writes it: m:ss, or h:mm:ss from an hour on.
      var h = Math.floor(left / 3600), m = Math.floor(left / 60) % 60, s = left % 60;
      var text = h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
      el.textContent = el.getAttribute("data-template").replace("{}", text);
    });
  };
  tick();
  window.setInterval(tick, 1000);
})();
