// polyarb dashboard: the profiles and alerts pages. No libraries, no external requests.
// Text always goes in through textContent: names, messages and errors come from files.
"use strict";

function show(value) {
  if (value === null || value === undefined) return "-";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

function renderProfiles(data) {
  document.getElementById("profiles-summary").textContent =
    `${data.valid} valid, ${data.invalid} invalid in ${data.folder}`;
  const body = document.querySelector("#profiles tbody");
  body.replaceChildren();
  for (const p of data.profiles) {
    const valid = p.valid
      ? el("td", { class: "valid" }, "valid")
      : el("td", { class: "invalid", title: p.error }, "INVALID: " + p.error);
    body.append(el("tr", { "data-profile": p.file },
      el("td", {}, p.file), el("td", {}, p.name || "-"),
      el("td", { "data-phase": p.phase ?? "" }, p.phase === undefined ? "-" : "phase " + p.phase),
      el("td", {}, p.mode || "-"), valid, el("td", {}, shortId(p.sha256))));
  }
  const valid = data.profiles.filter((p) => p.valid);
  const head = document.querySelector("#profile-diff thead");
  head.replaceChildren(el("tr", {}, el("th", {}, "key"),
    ...valid.map((p) => el("th", {}, `${p.name} (phase ${p.phase})`))));
  const only = document.getElementById("only-diff").checked;
  const differs = new Set(data.differs);
  const rows = document.querySelector("#profile-diff tbody");
  rows.replaceChildren();
  for (const key of data.keys) {
    if (only && !differs.has(key)) continue;
    const cells = valid.map((p) => {
      const v = show(p.values[key]);
      const first = show(valid[0].values[key]);
      return el("td", { class: differs.has(key) && v !== first ? "differs" : "" }, v);
    });
    rows.append(el("tr", { "data-key": key, class: differs.has(key) ? "differs" : "" },
      el("td", {}, key), ...cells));
  }
}

function runName(a) {
  return `${a.session_id} / ${a.run_id}`;
}

function renderAlerts(data) {
  document.getElementById("active-count").textContent =
    data.active.length ? `${data.active.length} active` : "none active";
  const active = document.querySelector("#active tbody");
  active.replaceChildren();
  for (const a of data.active) {
    active.append(el("tr", { "data-rule": a.rule },
      el("td", {}, utc(a.since_ns)), el("td", { class: "level-" + a.level }, a.level || "-"),
      el("td", {}, a.rule), el("td", {}, runName(a)),
      el("td", { class: "state-" + a.run_state }, a.run_state), el("td", {}, a.message)));
  }
  if (!data.active.length) active.append(el("tr", {}, el("td", { colspan: 6 }, "no active alerts")));
  const last = document.querySelector("#last-by-rule tbody");
  last.replaceChildren();
  for (const [rule, a] of Object.entries(data.last_by_rule)) {
    last.append(el("tr", { "data-rule": rule }, el("td", {}, rule),
      el("td", { class: "level-" + a.level }, a.level), el("td", {}, a.state),
      el("td", {}, utc(a.ts_ns)), el("td", {}, runName(a)), el("td", {}, a.message)));
  }
  document.getElementById("history-count").textContent =
    `newest ${data.history.length} of ${data.total} transitions`;
  const hist = document.querySelector("#history tbody");
  hist.replaceChildren();
  for (const a of data.history) {
    hist.append(el("tr", {}, el("td", {}, utc(a.ts_ns)),
      el("td", { class: "level-" + a.level }, a.level), el("td", {}, a.rule),
      el("td", {}, a.state), el("td", {}, runName(a)), el("td", {}, a.message)));
  }
  const rules = document.querySelector("#rules tbody");
  rules.replaceChildren();
  for (const r of data.rules) {
    const thresholds = Object.entries(r.fields)
      .filter(([k]) => !["level", "enabled", "halts"].includes(k))
      .map(([k, f]) => {
        const conf = r.configured ? r.configured[k] : undefined;
        const shown = conf === undefined || conf === f.default ? show(f.default) : `${show(conf)} (default ${show(f.default)})`;
        return `${k} = ${shown}` + (f.description ? ` — ${f.description}` : "");
      });
    const level = r.configured ? r.configured.level : r.level;
    rules.append(el("tr", { "data-rule-def": r.name }, el("td", {}, r.name),
      el("td", { class: "level-" + level }, level),
      el("td", {}, (r.configured ? r.configured.halts : r.halts) ? "yes" : "no"),
      el("td", {}, thresholds.join("; ") || (r.pulse ? "counts per tick" : "-"))));
  }
}

async function refresh() {
  const health = document.getElementById("health");
  try {
    const page = document.body.dataset.page;
    const h = await api("/api/health");
    health.textContent = `v${h.version} · ${h.sessions} sessions · ${h.runs} runs`;
    health.className = "muted";
    if (page === "profiles") renderProfiles(await api("/api/profiles"));
    if (page === "alerts") renderAlerts(await api("/api/alerts/state"));
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    health.textContent = "error: " + err.message;
    health.className = "error";
  }
}

const onlyDiff = document.getElementById("only-diff");
if (onlyDiff) onlyDiff.addEventListener("change", refresh);
refresh();
setInterval(refresh, REFRESH_MS);
