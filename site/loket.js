// loket status site: ticket lookup. Checks the ticket's check symbol as you type
// (the algorithm of src/ticket.rs) and opens the ticket's page. Without this script
// the form still submits to cari/, which the host forwards (see docs/site.md).
(function () {
  "use strict";
  var ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  var BODY = 10;

  // Returns {ticket} or {error: "short"|"format"|"prefix"|"symbol"|"check"}.
  function parseTicket(input, prefix) {
    var upper = input.trim().toUpperCase();
    var dash = upper.indexOf("-");
    if (dash < 0) return { error: upper.length < prefix.length + 11 ? "short" : "format" };
    var p = upper.slice(0, dash);
    if (!/^[A-Z]{2,5}$/.test(p)) return { error: "format" };
    if (prefix && p !== prefix) return { error: "prefix" };
    var symbols = upper.slice(dash + 1).replace(/[- ]/g, "");
    var values = [];
    for (var i = 0; i < symbols.length; i++) {
      var v = ALPHABET.indexOf(symbols[i]);
      if (v < 0) return { error: "symbol" };
      values.push(v);
    }
    if (values.length < BODY) return { error: "short" };
    if (values.length > BODY) return { error: "format" };
    // The check symbol makes the weighted sum (i+1)*v_i divisible by 31.
    var sum = 0;
    for (var j = 0; j < BODY; j++) sum += (j + 1) * values[j];
    if (sum % 31 !== 0) return { error: "check" };
    return { ticket: p + "-" + symbols.slice(0, 5) + "-" + symbols.slice(5) };
  }

  function attach(form) {
    var input = form.querySelector("input[name=t]");
    var msg = form.querySelector(".msg");
    var prefix = form.getAttribute("data-prefix") || "";
    var root = form.getAttribute("data-root") || "";
    function show(result, final) {
      var key = result.ticket ? "ok" : result.error;
      var quiet = !final && (key === "short" || input.value.trim() === "");
      msg.textContent = quiet ? "" : form.getAttribute("data-msg-" + key) || "";
      msg.className = "msg " + (result.ticket ? "ok" : quiet ? "" : "bad");
      if (quiet || result.ticket) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
    }
    input.addEventListener("input", function () { show(parseTicket(input.value, prefix), false); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var r = parseTicket(input.value, prefix);
      show(r, true);
      if (r.ticket) window.location.href = root + "t/" + r.ticket + "/";
      else input.focus();
    });
    // On cari/ (a form sent here without this script's help): go on to the ticket.
    var q = new URLSearchParams(window.location.search).get("t");
    if (q !== null && /\/cari\/(index\.html)?$/.test(window.location.pathname)) {
      input.value = q;
      var r = parseTicket(q, prefix);
      show(r, true);
      if (r.ticket) window.location.replace(root + "t/" + r.ticket + "/");
    }
  }

  var forms = document.querySelectorAll("form.lookup");
  for (var i = 0; i < forms.length; i++) attach(forms[i]);
  window.loketParseTicket = parseTicket;
})();
