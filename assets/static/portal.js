// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Ask before irreversible actions, in a dialog that says what the action
  // changes. The text is the form's data-confirm, or, with
  // data-confirm-from="field", that of the chosen radio button or option
  // (none: no question). Its first line is the question. Confirming adds
  // confirmed=1, which the server wants; without this file the server asks
  // on a page of its own instead.
  var confirmText = function (form) {
    var from = form.getAttribute("data-confirm-from");
    if (!from) { return [form.getAttribute("data-confirm"), form]; }
    var field = form.elements[from];
    if (!field) { return [null, null]; }
    var chosen = null;
    if (field.tagName === "SELECT") {
      chosen = field.options[field.selectedIndex];
    } else {
      var list = field.length !== undefined ? field : [field];
      for (var i = 0; i < list.length; i++) { if (list[i].checked) { chosen = list[i]; } }
    }
    return chosen ? [chosen.getAttribute("data-confirm"), chosen] : [null, null];
  };
  var zh = /^zh/.test(document.documentElement.lang);
  var button = function (label, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    return b;
  };
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.querySelector("input[name=confirmed]")) { return; }
    var found = confirmText(form), msg = found[0];
    if (!msg) { return; }
    ev.preventDefault();
    if (typeof HTMLDialogElement !== "function") {
      // A browser without <dialog>: its own question, then the same path.
      if (!window.confirm(msg)) { return; }
    } else {
      var dlg = document.createElement("dialog");
      dlg.className = "confirm-dialog";
      dlg.id = "confirm-dialog";
      var lines = msg.split("\n");
      var h = document.createElement("h2");
      h.id = "confirm-dialog-title";
      h.textContent = lines[0];
      dlg.setAttribute("aria-labelledby", h.id);
      dlg.appendChild(h);
      for (var i = 1; i < lines.length; i++) {
        var p = document.createElement("p");
        p.textContent = lines[i];
        dlg.appendChild(p);
      }
      var row = document.createElement("div");
      row.className = "actions";
      var ok = button(found[1].getAttribute("data-confirm-ok") || form.getAttribute("data-confirm-ok") || (zh ? "确定" : "OK"), "btn");
      ok.id = "confirm-dialog-ok";
      var no = button(form.getAttribute("data-confirm-cancel") || (zh ? "取消" : "Cancel"), "btn secondary");
      no.id = "confirm-dialog-cancel";
      row.appendChild(ok);
      row.appendChild(no);
      dlg.appendChild(row);
      dlg.addEventListener("close", function () { dlg.remove(); });
      no.addEventListener("click", function () { dlg.close(); });
      ok.addEventListener("click", function () {
        dlg.close();
        submitConfirmed(form, ev.submitter);
      });
      document.body.appendChild(dlg);
      dlg.showModal();
      no.focus();
      return;
    }
    submitConfirmed(form, ev.submitter);
  });
  var submitConfirmed = function (form, submitter) {
    var yes = document.createElement("input");
    yes.type = "hidden";
    yes.name = "confirmed";
    yes.value = "1";
    form.appendChild(yes);
    if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
  };
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
  // A secret shown once (a new API token) sits in a read-only field: a
  // click or focus selects all of it, and its Copy button (hidden without
  // this script) puts it on the clipboard.
  document.querySelectorAll("[data-select-all]").forEach(function (el) {
    var all = function () { el.select(); };
    el.addEventListener("focus", all);
    el.addEventListener("click", all);
  });
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var field = document.getElementById(btn.getAttribute("data-copy"));
    if (!field) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var done = function () { btn.textContent = btn.getAttribute("data-copied") || btn.textContent; };
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { if (document.execCommand("copy")) { done(); } });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
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
