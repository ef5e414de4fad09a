// Gatehouse console: live dashboard, live fleet, tap-to-enroll. No framework, no CDN.
(function () {
  "use strict";

  function poll(url, every, onData) {
    var stopped = false;
    function tick() {
      if (stopped) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) { stopped = true; return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (data) { if (data) onData(data); })
        .catch(function () {})
        .finally(function () { if (!stopped) setTimeout(tick, every); });
    }
    setTimeout(tick, every);
    return function () { stopped = true; };
  }

  // Dashboard: tiles and fragments refresh every 2 s.
  var dash = document.querySelector("[data-live-dashboard]");
  if (dash) {
    poll(dash.getAttribute("data-live-dashboard"), 2000, function (data) {
      Object.keys(data.tiles || {}).forEach(function (key) {
        var tile = document.getElementById("tile-" + key);
        if (!tile) return;
        var v = data.tiles[key];
        tile.querySelector(".value").textContent = v.value;
        tile.querySelector(".detail").textContent = v.detail;
        tile.className = "tile " + v.tone;
      });
      Object.keys(data.fragments || {}).forEach(function (key) {
        var el = document.getElementById("live-" + key);
        if (el && el.innerHTML !== data.fragments[key]) el.innerHTML = data.fragments[key];
      });
    });
  }

  // Gates: online state, version and outbox refresh every 5 s.
  var fleet = document.querySelector("[data-live-gates]");
  if (fleet) {
    poll(fleet.getAttribute("data-live-gates"), 5000, function (data) {
      Object.keys(data.gates || {}).forEach(function (id) {
        var row = document.getElementById("gate-" + id);
        if (!row) return;
        var g = data.gates[id];
        var state = row.querySelector("[data-online]");
        if (state) {
          state.textContent = state.getAttribute(g.online ? "data-on" : "data-off");
          state.className = "badge " + (g.online ? "good" : "bad");
        }
        var outbox = row.querySelector("[data-outbox]");
        if (outbox) outbox.textContent = g.outbox;
        var version = row.querySelector("[data-version]");
        if (version) version.textContent = g.version;
      });
    });
  }

  // Tap to enroll: show the UID the gate reports and fill it into the card form.
  var box = document.querySelector("[data-enroll-taps]");
  if (box) {
    var after = parseInt(box.getAttribute("data-after") || "0", 10);
    var input = document.getElementById(box.getAttribute("data-target"));
    var status = box.querySelector("[data-enroll-status]");
    var stop = poll(box.getAttribute("data-enroll-taps") + "&after=" + after, 500, function (data) {
      var taps = data.taps || [];
      if (!taps.length) return;
      var tap = taps[taps.length - 1];
      if (input) { input.value = tap.uid; input.focus(); }
      status.textContent = tap.registered
        ? box.getAttribute(tap.mine ? "data-mine" : "data-taken") + " " + tap.uid
        : box.getAttribute("data-got") + " " + tap.uid;
      box.setAttribute("data-uid", tap.uid);
      stop();
    });
  }

  // Selects that submit their form on change (the language switch).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Buttons that ask first.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
})();
