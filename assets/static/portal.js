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
  // Submit the language switcher as soon as a language is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
    var btn = sel.form.querySelector("[data-autosubmit-button]");
    if (btn) { btn.hidden = true; }
  });
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
  // its own time, so the count does not depend on this computer's clock.
  var clocks = document.querySelectorAll(".countdown[data-left]");
  if (clocks.length) {
    var loaded = Date.now();
    var tick = function () {
      var gone = Math.floor((Date.now() - loaded) / 1000);
      clocks.forEach(function (el) {
        var left = parseInt(el.getAttribute("data-left"), 10) - gone;
        if (left <= 0) {
          el.textContent = el.getAttribute("data-overdue");
          el.classList.add("overdue");
          return;
        }
        // As views.Countdown writes it: m:ss, or h:mm:ss from an hour on.
        var two = function (n) { return (n < 10 ? "0" : "") + n; };
        var h = Math.floor(left / 3600), m = Math.floor(left / 60) % 60, s = left % 60;
        var text = h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
        el.textContent = el.getAttribute("data-template").replace("{}", text);
      });
    };
    window.setInterval(tick, 1000);
  }
})();
