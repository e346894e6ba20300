/**
 * The dashboard's script: polls `/api/status` every second, turns counter deltas into rates and a
 * response-time sparkline per server, and calls the admin API for the buttons. Plain ES2017 without
 * dependencies, built with DOM calls (never innerHTML), so server names cannot inject markup.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
"use strict";
var HISTORY = 60;
var sparks = {};
var previous = {};
var $ = function (id) { return document.getElementById(id); };

function h(tag, attrs) {
  var el = document.createElement(tag);
  for (var k in attrs || {}) {
    if (k === "text") el.textContent = attrs[k];
    else if (k === "onclick") el.onclick = attrs[k];
    else el.setAttribute(k, attrs[k]);
  }
  for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) el.appendChild(arguments[i]);
  return el;
}

function fmtRate(n) { return n == null ? "–" : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2); }
function fmtMs(n) { return n == null ? "–" : n >= 100 ? n.toFixed(0) + " ms" : n.toFixed(1) + " ms"; }
function fmtUptime(s) {
  var d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d > 0 ? d + "d " + hh + "h" : hh > 0 ? hh + "h " + m + "m" : m + "m " + (s % 60) + "s";
}

function sparkline(values) {
  var w = 120, hgt = 26, svgNs = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", hgt);
  var known = values.filter(function (v) { return v != null; });
  if (known.length === 0) return svg;
  var max = Math.max.apply(null, known.concat([1]));
  var pts = [];
  // Newest sample at the right edge, like every other time series.
  var offset = HISTORY - values.length;
  values.forEach(function (v, i) {
    if (v == null) return;
    var x = (w - 2) * (i + offset) / (HISTORY - 1) + 1;
    var y = hgt - 2 - (hgt - 4) * v / max;
    pts.push(x.toFixed(1) + "," + y.toFixed(1));
  });
  var line = document.createElementNS(svgNs, "polyline");
  line.setAttribute("points", pts.join(" "));
  svg.appendChild(line);
  return svg;
}

function act(pool, server, action) {
  var url = "api/pools/" + encodeURIComponent(pool) + "/servers/" + encodeURIComponent(server) + "/" + action;
  fetch(url, { method: "POST" }).then(function (res) {
    if (!res.ok) return res.json().then(function (b) { throw new Error(b.error || res.statusText); });
    return refresh();
  }).catch(function (e) { $("error").textContent = action + " failed: " + e.message; });
}

function serverRow(pool, s, dt) {
  var key = pool.name + "/" + s.name;
  var errors = s.responses["5xx"] + s.failures;
  var prev = previous[key];
  var rate = null, errRate = null, avg = null;
  if (prev && dt > 0) {
    var dReq = s.requests - prev.requests;
    rate = dReq / dt;
    errRate = dReq > 0 ? (errors - prev.errors) / dReq : 0;
    var dCount = s.latency.count - prev.count;
    avg = dCount > 0 ? (s.latency.sum_ms - prev.sum) / dCount : null;
  }
  previous[key] = { requests: s.requests, errors: errors, count: s.latency.count, sum: s.latency.sum_ms };
  var hist = sparks[key] || (sparks[key] = []);
  hist.push(avg);
  while (hist.length > HISTORY) hist.shift();

  var drained = s.overrides.drain === true || s.status === "draining";
  var buttons = h("td", {});
  if (!drained && s.status !== "disabled") buttons.appendChild(h("button", { "data-action": "drain", text: "Drain", onclick: function () { act(pool.name, s.name, "drain"); } }));
  if (s.status !== "disabled") buttons.appendChild(h("button", { "data-action": "disable", text: "Disable", onclick: function () { act(pool.name, s.name, "disable"); } }));
  if (drained || s.status === "disabled") {
    buttons.appendChild(h("button", { "data-action": "enable", text: "Enable", onclick: function () { act(pool.name, s.name, "enable"); } }));
  }
  var weight = s.weight + (s.weight !== s.config_weight ? " (" + s.config_weight + ")" : "");
  return h("tr", { "class": s.status, "data-server": s.name, "data-status": s.status, "data-drained": drained ? "yes" : "no" },
    h("td", {}, h("span", { "class": "state " + s.status, text: s.status })),
    h("td", {}, h("div", { "class": "name", text: s.name + (s.backup ? " · backup" : "") + (drained && s.status !== "draining" ? " · drained" : "") }),
      h("div", { "class": "url", text: s.url }),
      s.status === "up" || !s.last_reason ? null : h("div", { "class": "reason", title: s.last_reason, text: s.last_reason })),
    h("td", { "class": "num", text: weight }),
    h("td", { "class": "num", text: String(s.in_flight) }),
    h("td", { "class": "num", text: fmtRate(rate) }),
    h("td", { "class": "num" + (errRate > 0 ? " err" : ""), text: errRate == null ? "–" : (errRate * 100).toFixed(1) + "%" }),
    h("td", { "class": "num", text: fmtMs(s.ewma_ms) }),
    h("td", {}, sparkline(hist)),
    buttons);
}

function poolSection(pool, dt) {
  var head = h("tr", {});
  var cols = h("colgroup", {});
  // Fixed widths: every pool's table lines up with the others.
  [["State", 124], ["Server", 0], ["Weight", 72], ["In flight", 80], ["Req/s", 80], ["Errors", 92], ["EWMA", 100], ["Response time", 150], ["", 184]].forEach(function (c, i) {
    head.appendChild(h("th", { "class": i >= 2 && i <= 6 ? "num" : "", text: c[0] }));
    cols.appendChild(h("col", c[1] ? { style: "width:" + c[1] + "px" } : {}));
  });
  var body = h("tbody", {});
  pool.servers.forEach(function (s) { body.appendChild(serverRow(pool, s, dt)); });
  var healthy = pool.healthy + "/" + pool.servers.length + " available";
  return h("section", { "class": "pool", "data-pool": pool.name },
    h("h2", {}, document.createTextNode(pool.name),
      h("span", { "class": "meta", text: pool.balance.replace("_", " ") }),
      h("span", { "class": "pill " + (pool.healthy > 0 ? "ok" : "bad"), text: healthy }),
      pool.queued > 0 ? h("span", { "class": "meta", text: pool.queued + " queued" }) : null),
    h("table", {}, cols, h("thead", {}, head), body));
}

var lastAt = 0;
var lastListeners = {};
function render(st) {
  var t = performance.now() / 1000, dt = lastAt ? t - lastAt : 0;
  lastAt = t;
  $("version").textContent = st.version + " · " + st.runtime;
  $("uptime").textContent = "up " + fmtUptime(st.uptime_s);
  var r = st.reload;
  var rel = $("reload");
  rel.className = "pill " + (r && !r.ok ? "bad" : "ok");
  rel.textContent = r ? (r.ok ? "config ok" : "reload failed") : "";
  rel.title = r ? r.message + " (" + r.trigger + ", " + r.at + ")" : "";
  var ls = $("listeners");
  ls.replaceChildren();
  st.listeners.forEach(function (l) {
    var prev = lastListeners[l.name];
    var rate = prev != null && dt > 0 ? (l.requests.total - prev) / dt : null;
    lastListeners[l.name] = l.requests.total;
    var where = l.bound ? l.bound.hostname + ":" + l.bound.port : "not bound";
    ls.appendChild(h("div", { "class": "listener" }, h("b", { text: l.name }), document.createTextNode(where + " · " + fmtRate(rate) + " req/s")));
  });
  // Per route: what its policies did (redirects, direct answers, 401/403/429, compression).
  var pol = $("policies");
  pol.replaceChildren();
  st.listeners.forEach(function (l) {
    (l.routes || []).forEach(function (rt) {
      if (!rt.policies) return;
      var parts = [];
      Object.keys(rt.policies).forEach(function (name) {
        var c = rt.policies[name];
        var said = Object.keys(c).map(function (k) { return k.replace(/_/g, " ") + " " + c[k]; }).join(" · ");
        parts.push(name + (said ? ": " + said : ""));
      });
      pol.appendChild(h("div", { "class": "listener", "data-route": l.name + "/" + rt.name }, h("b", { text: l.name + " / " + rt.name }), document.createTextNode(parts.join("; "))));
    });
  });
  var certs = $("certificates");
  certs.replaceChildren();
  (st.certificates || []).forEach(function (c) {
    var left = c.days_left == null ? "none yet" : c.days_left + " days left";
    var cls = c.days_left == null || c.days_left < 14 ? "pill bad" : "pill ok";
    certs.appendChild(h("div", { "class": "listener", "data-certificate": c.host },
      h("b", { text: c.host }),
      document.createTextNode(c.listener + " · " + c.source + (c.order_failures > 0 ? " · " + c.order_failures + " failed orders" : "") + " "),
      h("span", { "class": cls, text: left })));
  });
  var pools = $("pools");
  pools.replaceChildren();
  st.pools.forEach(function (p) { pools.appendChild(poolSection(p, dt)); });
}

function refresh() {
  return fetch("api/status", { cache: "no-store" }).then(function (res) {
    if (!res.ok) throw new Error("status " + res.status);
    return res.json();
  }).then(function (st) {
    render(st);
    $("live").className = "";
    $("live").textContent = "live";
    $("error").textContent = "";
  }).catch(function (e) {
    $("live").className = "stale";
    $("live").textContent = "disconnected: " + e.message;
  });
}

refresh();
setInterval(refresh, 1000);
})();
`;
