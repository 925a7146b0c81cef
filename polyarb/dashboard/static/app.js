// polyarb dashboard: polls the JSON API and renders it. No libraries, no external requests.
// Text always goes in through textContent: ids, alert messages and reasons come from files.
"use strict";

const NUMBERS = [
  ["frames", "frames"], ["opportunities_total", "opportunities"], ["orders", "orders"],
  ["fills", "fills"], ["fees", "fees $"], ["realised_pnl", "realised $"],
  ["marked_pnl", "marked $"], ["total_pnl", "total PnL $"], ["alerts_fired", "alerts fired"],
  ["halts", "halts"],
];
const MONEY = new Set(["fees", "realised_pnl", "marked_pnl", "total_pnl"]);
const SVG_NS = "http://www.w3.org/2000/svg";

let selected = null; // {session, run}
let liveStates = {}; // "session/run" -> heartbeat state (running, crashed, finished, failed)

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function count(n) {
  return n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US");
}

function usd(text) {
  return text.startsWith("-") ? "-$" + text.slice(1) : "$" + text;
}

function named(name, id) {
  // The market's question/outcome when known, the (shortened) id beside it.
  if (!name) return shortId(id);
  return el("span", { title: String(id || "") }, name);
}

function badge(node, status) {
  node.textContent = status || "-";
  node.className = "badge " + (status || "");
}

function parseHash() {
  const text = decodeURIComponent(location.hash.slice(1));
  const i = text.indexOf("/");
  return i > 0 ? { session: text.slice(0, i), run: text.slice(i + 1) } : null;
}

function newestRun(sessions) {
  let best = null;
  for (const s of sessions) {
    for (const r of s.runs) {
      if (!r.complete) continue;
      const t = r.last_recv_ns || 0;
      if (!best || t > best.t) best = { session: s.id, run: r.run_id, t };
    }
  }
  return best && { session: best.session, run: best.run };
}

function renderSessions(sessions) {
  const body = document.querySelector("#sessions tbody");
  body.replaceChildren();
  for (const s of sessions) {
    const runs = el("td");
    for (const r of s.runs) {
      const a = el("a", { href: "#" + encodeURIComponent(s.id + "/" + r.run_id) }, r.run_id);
      if (selected && selected.session === s.id && selected.run === r.run_id) {
        a.className = "selected";
      }
      const live = liveStates[s.id + "/" + r.run_id];
      if (!r.complete) a.title = live ? "no run.json yet: " + live : "no run.json yet: running or crashed";
      runs.append(a);
    }
    if (!s.runs.length) runs.append("-");
    body.append(el("tr", { "data-session": s.id },
      el("td", {}, s.id), el("td", {}, utc(s.start_ns)), el("td", {}, s.span),
      el("td", { class: "num" }, count(s.frames)), el("td", { class: "num" }, s.assets),
      el("td", { class: "num" }, s.markets), el("td", {}, s.sealed ? "yes" : "NO"), runs));
  }
}

function renderRun(run) {
  const live = liveStates[run.session_id + "/" + run.run_id];
  document.getElementById("run-title").textContent =
    `${run.session_id} / ${run.run_id}` + (run.complete ? "" : ` (${live || "running or crashed"})`);
  const parity = document.getElementById("parity");
  parity.textContent = run.parity_status ? "parity " + run.parity_status : "no parity check";
  parity.className = "badge " + (run.parity_status || "");
  const dl = document.getElementById("numbers");
  dl.replaceChildren();
  for (const [key, label] of NUMBERS) {
    const value = MONEY.has(key) ? run.formatted[key] : count(run.numbers[key]);
    dl.append(el("div", {}, el("dt", {}, label), el("dd", { id: "n-" + key }, value ?? "-")));
  }
  const up = run.connected_pct === null || run.connected_pct === undefined
    ? "-" : run.connected_pct.toFixed(2) + " %";
  dl.append(el("div", {}, el("dt", {}, "connected"), el("dd", { id: "n-connected_pct" }, up)));
}

function renderPnl(pnl) {
  document.getElementById("pnl-final").textContent =
    pnl.final_usd === null ? "(no rows)" : `final ${usd(pnl.final_usd)}, ${count(pnl.rows)} rows`;
  const box = document.getElementById("pnl-chart");
  box.replaceChildren();
  const W = 900, H = 240, L = 100, R = 20, T = 15, B = 30;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, id: "pnl-svg", role: "img" });
  const pts = pnl.points;
  if (!pts.length) {
    const t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#667" });
    t.textContent = "no PnL rows";
    chart.append(t);
    box.append(chart);
    return;
  }
  // ns timestamps exceed 2**53; the precision lost is far below one pixel.
  const x0 = pts[0].ts_ns, x1 = pts[pts.length - 1].ts_ns;
  const totals = pts.map((p) => p.total).concat(pts.map((p) => p.realised), [0]);
  const y0 = Math.min(...totals), y1 = Math.max(...totals);
  const sx = (x) => L + (x1 > x0 ? ((x - x0) / (x1 - x0)) * (W - L - R) : (W - L - R) / 2);
  const sy = (y) => T + (y1 > y0 ? (1 - (y - y0) / (y1 - y0)) * (H - T - B) : (H - T - B) / 2);
  chart.append(svg("line", { x1: L, x2: W - R, y1: sy(0), y2: sy(0), stroke: "#bbb" }));
  const line = (key, attrs) => {
    const d = pts.map((p) => `${sx(p.ts_ns).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points: d, fill: "none", "stroke-width": 2, ...attrs }));
  };
  line("realised", { stroke: "#8a9", "stroke-dasharray": "4 3", class: "realised" });
  line("total", { stroke: "#1f5fbf", class: "total" });
  const label = (x, y, text, anchor) => {
    const t = svg("text", { x, y, "text-anchor": anchor, "font-size": 12, fill: "#445" });
    t.textContent = text;
    chart.append(t);
  };
  label(L - 6, sy(y1) + 4, usd(pnl.max_usd), "end");
  label(L - 6, sy(y0) + 4, usd(pnl.min_usd), "end");
  label(L, H - 8, utc(x0), "start");
  label(W - R, H - 8, utc(x1), "end");
  label(W - R, T + 10, "— total   - - realised", "end");
  box.append(chart);
}

function renderAlerts(data) {
  document.getElementById("alerts-active").textContent =
    `${data.total} transitions; active: ${data.active.length ? data.active.join(", ") : "none"}`;
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  for (const a of data.alerts.slice(-20).reverse()) {
    body.append(el("tr", {}, el("td", {}, utc(a.ts_ns)), el("td", {}, a.rule),
      el("td", { class: "level-" + a.level }, a.level), el("td", {}, a.state),
      el("td", {}, a.message)));
  }
  if (!data.alerts.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "no alerts")));
}

function renderDecisions(data) {
  document.getElementById("decisions-total").textContent = `${count(data.total)} in the run`;
  const body = document.querySelector("#decisions tbody");
  body.replaceChildren();
  for (const d of data.decisions.slice().reverse()) {
    const market = d.market || d.asset_id || (d.assets && d.assets[0]);
    body.append(el("tr", {}, el("td", { class: "num" }, d.seq), el("td", {}, d.type),
      el("td", { class: "market" }, named(d.market_name, market)),
      el("td", {}, shortId(d.decision_id)), el("td", {}, d.side),
      el("td", {}, [d.verdict, d.reason].filter(Boolean).join(" / "))));
  }
  if (!data.decisions.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "no decisions")));
}

function renderPromotion(p) {
  const box = document.getElementById("promotion");
  box.replaceChildren();
  if (!p.present) {
    box.append("no report yet (polyarb promote-check --phase N)");
    return;
  }
  const r = p.report;
  const b = el("span", { id: "promotion-verdict" });
  badge(b, r.verdict);
  box.append(b, ` phase ${r.phase}, ${r.evaluated_at || ""}`);
  if (r.failed && r.failed.length) box.append(el("div", {}, "failed: " + r.failed.join(", ")));
}

function renderGoNoGo(g) {
  const box = document.getElementById("go-no-go");
  box.replaceChildren();
  if (!g.present) {
    box.append("no result yet (polyarb go-no-go --phase N)");
    return;
  }
  const b = el("span", { id: "go-no-go-status" });
  badge(b, g.status);
  box.append(b, ` phase ${g.phase}, ${g.ts || ""}`);
  const bad = g.checks.filter((c) => c.status !== "PASS").map((c) => `${c.name} ${c.status}`);
  if (bad.length) box.append(el("div", {}, bad.join(", ")));
}

function ms(us) {
  return us === null || us === undefined ? "-" : (us / 1000).toFixed(1) + " ms";
}

function liveAlerts(r) {
  // heartbeat.json names each active alert with its level (older heartbeats: names only)
  const rows = r.alerts || (r.active_alerts || []).map((rule) => ({ rule, level: null }));
  return rows.map((a) => a.level ? `${a.rule} (${a.level})` : a.rule).join(", ") || "none";
}

function renderLive(data) {
  liveStates = {};
  const body = document.querySelector("#live-runs tbody");
  body.replaceChildren();
  for (const r of data.runs) {
    const key = r.session_id + "/" + r.run_id;
    liveStates[key] = r.state;
    const link = el("a", { href: "#" + encodeURIComponent(key) }, key);
    const pct = r.connected_pct === null || r.connected_pct === undefined ? "-" : r.connected_pct + " %";
    const when = utc(r.ts_ns) + (r.state === "running" ? "" : ` (${r.heartbeat_age_s} s ago)`);
    body.append(el("tr", { "data-live": key },
      el("td", {}, link), el("td", { class: "state-" + r.state, "data-state": r.state }, r.state),
      el("td", {}, when), el("td", { class: "num" }, (r.frames_per_s ?? "-") + " /s"),
      el("td", { class: "num" }, `${r.connected} / ${r.connections} up`),
      el("td", { class: "num" }, count(r.reconnects)), el("td", { class: "num" }, pct),
      el("td", { class: "num" }, `${ms(r.latency_p50_us)} / ${ms(r.latency_p95_us)} / ${ms(r.latency_p99_us)}`),
      el("td", { class: "num" }, count(r.opportunities)), el("td", { class: "num" }, count(r.orders)),
      el("td", { class: "num" }, r.pnl_usd === null ? "-" : usd(r.pnl_usd)),
      el("td", {}, liveAlerts(r))));
  }
  const running = data.runs.filter((r) => r.state === "running").length;
  const crashed = data.runs.filter((r) => r.state === "crashed").length;
  document.getElementById("live-summary").textContent = data.runs.length
    ? `${running} running, ${crashed} crashed, ${data.runs.length - running - crashed} stopped`
    : "no shadow or live run has written a heartbeat";
}

async function refreshRun() {
  if (!selected) return;
  const base = `/api/runs/${encodeURIComponent(selected.session)}/${encodeURIComponent(selected.run)}`;
  const [run, pnl, alerts, decisions] = await Promise.all([
    api(base), api(base + "/pnl"), api(base + "/alerts"), api(base + "/decisions?limit=20"),
  ]);
  renderRun(run);
  renderPnl(pnl);
  renderAlerts(alerts);
  renderDecisions(decisions);
}

async function refresh() {
  const health = document.getElementById("health");
  try {
    const [h, sessions, promotion, gonogo, live] = await Promise.all([
      api("/api/health"), api("/api/sessions"), api("/api/promotion"), api("/api/go-no-go"),
      api("/api/live"),
    ]);
    renderLive(live);
    health.textContent = `v${h.version} · ${h.sessions} sessions · ${h.runs} runs · ${h.recordings}`;
    health.className = "muted";
    selected = parseHash() || newestRun(sessions);
    renderSessions(sessions);
    renderPromotion(promotion);
    renderGoNoGo(gonogo);
    await refreshRun();
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    health.textContent = "error: " + err.message;
    health.className = "error";
  }
}

window.addEventListener("hashchange", refresh);
refresh();
setInterval(refresh, REFRESH_MS);
