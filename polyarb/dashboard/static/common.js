// polyarb dashboard: helpers every page shares (loaded before app.js / pages.js).
// Text always goes in through textContent: names, ids, messages and errors come from files.
"use strict";

const REFRESH_MS = 3000; // the live view: heartbeats are rewritten every 2 s

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) {
    node.append(c instanceof Node ? c : c === null || c === undefined ? "" : String(c));
  }
  return node;
}

async function api(path) {
  const res = await fetch(path, { cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function utc(ns) {
  if (ns === null || ns === undefined) return "-";
  return new Date(ns / 1e6).toISOString().replace("T", " ").slice(0, 19);
}

// Long hex/decimal ids shortened for reading; the full id stays on hover (title).
function shortId(id) {
  const text = id === null || id === undefined ? "" : String(id);
  if (text.length <= 16) return text || "-";
  return el("abbr", { class: "id", title: text }, text.slice(0, 8) + "…" + text.slice(-6));
}
