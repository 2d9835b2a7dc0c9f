// Keeps a live part of a page current: an element with data-refresh (a
// same-origin URL) and data-every (seconds) gets its content fetched again
// and replaced when it changed. Nothing is replaced while a form inside it
// is being used (focused or typed into), so a call being logged is never
// lost, and a folded list (details) keeps the state the reader left it
// in. Progressive enhancement: without this file the page is reloaded
// by hand.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    var every = parseInt(region.getAttribute("data-every"), 10);
    var url = region.getAttribute("data-refresh");
    if (!(every > 0) || url.charAt(0) !== "/" || url.charAt(1) === "/") { return; }
    var typed = false;
    region.addEventListener("input", function () { typed = true; });
    var busy = function () {
      var a = document.activeElement;
      return typed || (a && a !== document.body && region.contains(a) && a.form);
    };
    var last = null;
    var poll = function () {
      if (document.hidden || busy()) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" })
        .then(function (r) {
          // Signed out meanwhile (the answer is the sign-in page it was sent
          // to): load the page again, which then asks to sign in, instead
          // of showing that page inside this one.
          if (r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null || html === last || busy()) { return; }
          last = html;
          // A folded list (details with an ID) keeps the state the reader
          // left it in: one opened to read its devices stays open.
          var open = {};
          region.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
          region.innerHTML = html;
          region.querySelectorAll("details[id]").forEach(function (d) {
            if (Object.prototype.hasOwnProperty.call(open, d.id)) { d.open = open[d.id]; }
          });
          document.dispatchEvent(new CustomEvent("portal:refreshed"));
        })
        .catch(function () { /* try again at the next tick */ });
    };
    window.setInterval(poll, every * 1000);
  });
})();
