"""The dashboard's JSON API: read-only answers built from the analytics views and session readers.

Money, price and PnL numbers are ints in micro units (10**6 = $1, :mod:`polyarb.units`);
where a human reads them the API adds the same value as a decimal string made by
:func:`polyarb.units.format_fixed` (keys ending in ``_usd`` or under ``formatted``).
Times are int ns since the epoch.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb

from polyarb._version import __version__
from polyarb.alerts.rules import RULES, AlertRulesError, load_alert_rules
from polyarb.analytics import connect
from polyarb.analytics.views import AnalyticsError, define_views
from polyarb.config.profile import ProfileError, load_profile
from polyarb.configfile import flatten
from polyarb.errors import PolyarbError
from polyarb.names import NAME_RE
from polyarb.recording import SessionReader, list_sessions, session_summary
from polyarb.recording.files import pid_alive
from polyarb.recording.reader import SessionError, scan_sessions
from polyarb.units import format_fixed

ID_RE = NAME_RE  # the CLI's rule for names that become folders, so both accept the same ids

MONEY_KEYS = ("realised_pnl", "marked_pnl", "total_pnl", "fees", "gas", "cash")
COUNT_KEYS = (
    "frames",
    "opportunities_total",
    "decisions",
    "orders",
    "fills",
    "merges",
    "settlements",
    "alerts_fired",
    "halts",
)
DEFAULT_DECISIONS = 100
MAX_LIMIT = 10_000
DEFAULT_PNL_POINTS = 2_000
HEARTBEAT_FILE = "heartbeat.json"  # polyarb/shadow/heartbeat.py rewrites it every few seconds
STALE_HEARTBEAT_S = 30.0
"""A heartbeat older than this, with no run.json beside it, is a run that died (crashed)."""


class ApiError(PolyarbError):
    """An answer that is not 200: ``status`` and a message for the JSON body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Api:
    """Routes ``/api/...`` paths to answers over ``recordings`` and ``reports``.

    One DuckDB connection is shared and its views are re-defined at most every
    ``max_age_s`` (defining them globs every session, ~0.3 s), so a page refreshing
    every few seconds sees new runs without paying that on every request.
    """

    def __init__(
        self,
        recordings: Path,
        reports: Path,
        *,
        max_age_s: float = 2.0,
        profiles: Path | None = None,
    ) -> None:
        self.recordings = Path(recordings)
        self.reports = Path(reports)
        self.profiles = Path(profiles) if profiles is not None else Path("profiles")
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._defined_at = 0.0

    # -- plumbing -------------------------------------------------------------

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        # One lock around refresh + query: a DuckDB connection is not shared across threads
        # safely, and requests are small enough that serialising them costs nothing visible.
        with self._lock:
            now = time.monotonic()
            try:
                if self._con is None:
                    self._con = connect(self.recordings, self.reports)
                    self._defined_at = now
                elif now - self._defined_at >= self.max_age_s:
                    define_views(self._con, self.recordings, self.reports)
                    self._defined_at = now
                cur = self._con.execute(sql, params or {})
                names = [d[0] for d in cur.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            except (duckdb.Error, AnalyticsError) as exc:
                raise ApiError(500, f"query failed: {exc}") from None

    def handle(self, path: str, query: dict[str, list[str]]) -> Any:
        """The JSON-able answer for ``GET path?query``; raises :class:`ApiError` otherwise."""
        raw = path.split("/")[2:]  # drop "" and "api"
        # Unquote per segment so "%2F" or "%2e%2e" lands inside one id and fails ID_RE.
        parts = [unquote(p) for p in raw]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts = parts[:-1]
        match parts:
            case ["health"]:
                return self.health()
            case ["sessions"]:
                return self.sessions()
            case ["sessions", sid]:
                return self.session(sid)
            case ["runs", sid, rid]:
                return self.run(sid, rid)
            case ["runs", sid, rid, "pnl"]:
                return self.pnl(sid, rid, _int_arg(query, "max_points", DEFAULT_PNL_POINTS))
            case ["runs", sid, rid, "alerts"]:
                return self.alerts(sid, rid, _int_arg(query, "limit", 200))
            case ["runs", sid, rid, "decisions"]:
                return self.decisions(sid, rid, _int_arg(query, "limit", DEFAULT_DECISIONS))
            case ["promotion"]:
                return self.promotion()
            case ["go-no-go"]:
                return self.go_no_go()
            case ["alerts", "state"]:
                return self.alerts_state(_int_arg(query, "limit", 200))
            case ["profiles"]:
                return self.profiles_table()
            case ["live"]:
                return self.live()
        raise ApiError(404, f"no such endpoint: {path} (see GET /api/health for the list)")

    def _session_dir(self, sid: str) -> Path:
        if not ID_RE.fullmatch(sid):
            raise ApiError(400, f"invalid session id {sid!r}: letters, digits, '.', '_', '-' only")
        folder = self.recordings / sid
        if not (folder / "manifest.json").is_file():
            raise ApiError(404, f"no session {sid!r} under {self.recordings}")
        return folder

    def _run_dir(self, sid: str, rid: str) -> Path:
        session = self._session_dir(sid)
        if not ID_RE.fullmatch(rid):
            raise ApiError(400, f"invalid run id {rid!r}: letters, digits, '.', '_', '-' only")
        folder = session / "runs" / rid
        if not folder.is_dir():
            raise ApiError(404, f"no run {rid!r} in session {sid!r}")
        return folder

    def _run_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self._rows(
            "SELECT session_id, run_id, mode, phase, profile_name, parity_status, clean_exit,"
            " first_recv_ns, last_recv_ns, frames,"
            " TRY_CAST(json_extract(summary, '$.total_pnl') AS BIGINT) AS total_pnl,"
            " u.connected_pct"  # time-weighted, the view promote-check and reports read
            " FROM runs LEFT JOIN run_uptime AS u USING (session_id, run_id)"
            " ORDER BY session_id, run_id"
        )
        return {(r["session_id"], r["run_id"]): r for r in rows}

    # -- endpoints ------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        sessions = list_sessions(self.recordings)
        runs = self._run_rows()
        return {
            "status": "ok",
            "version": __version__,
            "recordings": str(self.recordings.resolve()),
            "recordings_exists": self.recordings.is_dir(),
            "reports": str(self.reports.resolve()),
            "sessions": len(sessions),
            "runs": len(runs),
            "units": "money ints are micro units (10**6 = $1); *_usd strings are format_fixed",
            "endpoints": [
                "/api/health",
                "/api/sessions",
                "/api/sessions/<session>",
                "/api/runs/<session>/<run>",
                "/api/runs/<session>/<run>/pnl?max_points=N",
                "/api/runs/<session>/<run>/alerts?limit=N",
                "/api/runs/<session>/<run>/decisions?limit=N",
                "/api/promotion",
                "/api/go-no-go",
                "/api/alerts/state?limit=N",
                "/api/profiles",
                "/api/live",
            ],
        }

    def sessions(self) -> list[dict[str, Any]]:
        runs = self._run_rows()
        readers, damaged = scan_sessions(self.recordings)
        by_name: dict[str, dict[str, Any]] = {}
        for reader in readers:
            row = session_summary(reader)
            # the folder name is what every URL and view uses (manifest ids may differ)
            row["id"] = reader.dir.name
            row["start_ns"] = reader.manifest.start_ns
            row["end_ns"] = reader.manifest.end_ns
            row["runs"] = _runs_of(reader.dir, runs)
            by_name[reader.dir.name] = row
        for name, reason in damaged.items():
            # listed with the reason, never dropped: a missing row would look like no session
            row = by_name.setdefault(
                name, {"id": name, "runs": _runs_of(self.recordings / name, runs)}
            )
            row["damaged"] = reason
        return [{"damaged": None, **by_name[k]} for k in sorted(by_name)]

    def session(self, sid: str) -> dict[str, Any]:
        folder = self._session_dir(sid)
        try:
            reader = SessionReader(folder)
            problem = reader.problem()
            markets = [
                {"condition_id": m.condition_id, "question": m.question, "neg_risk": m.neg_risk}
                for m in reader.markets()
            ]
        except SessionError as exc:
            return {
                "session": {
                    "id": sid,
                    "damaged": str(exc),
                    "runs": _runs_of(folder, self._run_rows()),
                },
                "manifest": None,
                "markets": [],
            }
        manifest = reader.manifest.to_dict()
        manifest["assets"] = len(reader.manifest.assets)
        manifest["parts"] = len(reader.manifest.parts)
        summary = session_summary(reader)
        summary["id"] = sid
        summary["runs"] = _runs_of(reader.dir, self._run_rows())
        summary["damaged"] = problem
        return {"session": summary, "manifest": manifest, "markets": markets}

    def run(self, sid: str, rid: str) -> dict[str, Any]:
        folder = self._run_dir(sid, rid)
        rows = self._rows(
            "SELECT parity_status, run_json, u.connected_pct FROM runs"
            " LEFT JOIN run_uptime AS u USING (session_id, run_id)"
            " WHERE session_id = $s AND run_id = $r",
            {"s": sid, "r": rid},
        )
        run_json = json.loads(rows[0]["run_json"]) if rows and rows[0]["run_json"] else None
        parity_file = folder / "parity.json"
        parity = _read_json(parity_file) if parity_file.is_file() else None
        summary = (run_json or {}).get("summary") or {}
        numbers = {k: _as_int(summary.get(k)) for k in (*COUNT_KEYS, *MONEY_KEYS)}
        formatted = {k: format_fixed(v) for k in MONEY_KEYS if isinstance(v := numbers.get(k), int)}
        return {
            "session_id": sid,
            "run_id": rid,
            # run.json is written last: without it the run is still going (or crashed)
            "complete": run_json is not None,
            "parity_status": rows[0]["parity_status"] if rows else None,
            "numbers": numbers,
            "formatted": formatted,
            # WebSocket connected time / observed time (view_uptime.sql); None without ticks
            "connected_pct": rows[0]["connected_pct"] if rows else None,
            "run_json": run_json,
            "parity": parity,
        }

    def pnl(self, sid: str, rid: str, max_points: int) -> dict[str, Any]:
        self._run_dir(sid, rid)
        rows = self._rows(
            "SELECT seq, ts_ns, realised_pnl, marked_pnl FROM pnl"
            " WHERE session_id = $s AND run_id = $r",
            {"s": sid, "r": rid},
        )
        points = [
            {
                "ts_ns": r["ts_ns"],
                "seq": r["seq"],
                "realised": r["realised_pnl"] or 0,
                "marked": r["marked_pnl"] or 0,
                "total": (r["realised_pnl"] or 0) + (r["marked_pnl"] or 0),
            }
            for r in rows
        ]
        totals = [p["total"] for p in points]
        # the chart's y range: both lines and zero
        span = [0, *totals, *(p["realised"] for p in points)]
        return {
            "session_id": sid,
            "run_id": rid,
            "unit": "micro (10**6 = $1)",
            "rows": len(points),
            "final_usd": format_fixed(totals[-1]) if totals else None,
            "min_usd": format_fixed(min(span)),
            "max_usd": format_fixed(max(span)),
            "points": _thin(points, max_points),
        }

    def alerts(self, sid: str, rid: str, limit: int) -> dict[str, Any]:
        self._run_dir(sid, rid)
        rows = self._rows(
            "SELECT ts_ns, seq, rule, level, state, message, value, threshold FROM alerts"
            " WHERE session_id = $s AND run_id = $r",
            {"s": sid, "r": rid},
        )
        last: dict[str, dict[str, Any]] = {}
        for r in rows:
            last[r["rule"]] = r
        active = sorted(rule for rule, r in last.items() if r["state"] == "fired")
        return {
            "session_id": sid,
            "run_id": rid,
            "total": len(rows),
            "active": active,
            "alerts": rows[-limit:],
        }

    def decisions(self, sid: str, rid: str, limit: int) -> dict[str, Any]:
        self._run_dir(sid, rid)
        params = {"s": sid, "r": rid}
        where = "WHERE session_id = $s AND run_id = $r"
        total = self._rows(f"SELECT count(*) AS n FROM decisions {where}", params)[0]["n"]
        # The view keeps file order (the order the engine decided); take the newest `limit`.
        rows = self._rows(
            f"SELECT * EXCLUDE (session_id, run_id) FROM decisions {where}"
            f" LIMIT {limit} OFFSET {max(0, total - limit)}",
            params,
        )
        names = market_names(SessionReader(self.recordings / sid))
        for row in rows:
            # A person reads "Will X win? — Yes", not a 77-digit token id.
            ids = [str(row.get(k) or "") for k in ("market", "asset_id", "condition_id")]
            ids += [str(a) for a in row.get("assets") or []][:1]
            row["market_name"] = next((names[i] for i in ids if i in names), None)
        return {"session_id": sid, "run_id": rid, "total": total, "decisions": rows}

    def alerts_state(self, limit: int) -> dict[str, Any]:
        """The alert centre: active alerts across runs, the last transition per rule, the
        newest transitions, and every rule's definition (``polyarb.alerts.rules.RULES``)."""
        rows = self._rows(
            "SELECT session_id, run_id, ts_ns, seq, rule, level, state, message, value, threshold"
            " FROM alerts ORDER BY ts_ns, session_id, run_id, seq"
        )
        last: dict[tuple[str, str, str], dict[str, Any]] = {}
        since: dict[tuple[str, str, str], int] = {}
        by_rule: dict[str, dict[str, Any]] = {}
        for r in rows:
            key = (r["session_id"], r["run_id"], r["rule"])
            if r["state"] == "fired" and last.get(key, {}).get("state") != "fired":
                since[key] = r["ts_ns"]
            last[key] = r
            by_rule[r["rule"]] = r
        live = {(x["session_id"], x["run_id"]): x for x in self.live()["runs"]}
        active = []
        for key, r in sorted(last.items()):
            if r["state"] != "fired":
                continue
            state = live.get(key[:2], {}).get("state", "finished")
            active.append({**r, "since_ns": since.get(key, r["ts_ns"]), "run_state": state})
        # Live runs write alerts.parquet only at the end: their heartbeat names what is active.
        for (sid, rid), run in sorted(live.items()):
            for alert in _heartbeat_alerts(run):
                rule = alert["rule"]
                if (sid, rid, rule) not in last or last[(sid, rid, rule)]["state"] != "fired":
                    active.append(
                        {"session_id": sid, "run_id": rid, "rule": rule,
                         "level": alert["level"], "state": "fired",
                         "message": alert["message"] or "active (from the live heartbeat)",
                         "since_ns": alert["since_ns"], "ts_ns": run.get("ts_ns"),
                         "run_state": run["state"]}
                    )  # fmt: skip
        return {
            "active": active,
            "last_by_rule": dict(sorted(by_rule.items())),
            "history": list(reversed(rows[-limit:])),
            "total": len(rows),
            "rules": self._rule_definitions(),
        }

    def _rule_definitions(self) -> list[dict[str, Any]]:
        configured: dict[str, Any] = {}
        path = self.profiles / "alerts.production.yaml"
        if path.is_file():
            try:
                rules = load_alert_rules(path)
                configured = {r.NAME: rules.rule(r.NAME) for r in RULES}
            except AlertRulesError:
                configured = {}
        out = []
        for cls in RULES:
            fields = {
                name: {"default": f.default, "description": f.description or ""}
                for name, f in cls.model_fields.items()
            }
            rule = configured.get(cls.NAME)
            out.append(
                {
                    "name": cls.NAME,
                    "level": fields["level"]["default"],
                    "halts": fields["halts"]["default"],
                    "pulse": cls.PULSE,
                    "fields": {
                        k: {**v, "default": _plain(v["default"])} for k, v in fields.items()
                    },
                    "configured": rule.model_dump(mode="json") if rule is not None else None,
                    "configured_in": str(path) if rule is not None else None,
                }
            )
        return out

    def profiles_table(self) -> dict[str, Any]:
        """Every profile under ``profiles``: validated, its phase, and every key side by side
        (``differs`` marks keys whose values are not the same in every valid profile)."""
        entries = []
        for path in sorted(self.profiles.glob("*.yaml")):
            if path.name.startswith(("alerts", "promotion")):
                continue
            entry: dict[str, Any] = {"file": path.name}
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                entry |= {"valid": False, "error": str(exc)}
            else:
                entry |= {
                    "valid": True,
                    "name": profile.name,
                    "phase": profile.phase,
                    "mode": profile.mode,
                    "sha256": profile.sha256(),
                    "values": {
                        k: _plain(v) for k, v in flatten(profile.model_dump(mode="json")).items()
                    },
                }
            entries.append(entry)
        valid = [e for e in entries if e["valid"]]
        keys = sorted({k for e in valid for k in e["values"]})
        differs = [k for k in keys if len({json.dumps(e["values"].get(k)) for e in valid}) > 1]
        return {
            "folder": str(self.profiles),
            "profiles": entries,
            "keys": keys,
            "differs": differs,
            "valid": len(valid),
            "invalid": len(entries) - len(valid),
        }

    def live(self) -> dict[str, Any]:
        """Runs with a heartbeat file: running (fresh heartbeat), crashed (stale or the
        process gone, and no run.json), finished or failed; with their live numbers."""
        now = time.time_ns()
        out = []
        for beat in sorted(self.recordings.glob(f"*/runs/*/{HEARTBEAT_FILE}")):
            try:
                data = json.loads(beat.read_text())
            except (OSError, ValueError):
                continue  # being replaced right now: the next poll reads it
            if not isinstance(data, dict):
                continue
            run_dir = beat.parent
            age_s = (now - int(data.get("ts_ns") or 0)) / 1e9
            state = str(data.get("state", "running"))
            if state == "running" and not (run_dir / "run.json").is_file():
                if age_s > STALE_HEARTBEAT_S or not pid_alive(data.get("pid")):
                    state = "crashed"
            elif state == "running":
                state = "finished"
            pnl = data.get("pnl_micro")
            out.append(
                {
                    **data,
                    "session_id": run_dir.parents[1].name,
                    "run_id": run_dir.name,
                    "state": state,
                    "heartbeat_age_s": round(age_s, 1),
                    "pnl_usd": format_fixed(pnl) if isinstance(pnl, int) else None,
                }
            )
        out.sort(key=lambda r: (r["state"] != "running", -(r.get("ts_ns") or 0)))
        return {"runs": out, "stale_after_s": STALE_HEARTBEAT_S}

    def promotion(self) -> dict[str, Any]:
        path = self.reports / "promotion" / "latest.json"
        if not path.is_file():
            return {"present": False, "path": str(path)}
        return {"present": True, "path": str(path), "report": _read_json(path)}

    def go_no_go(self) -> dict[str, Any]:
        # One result per phase (reports/go_no_go/phase<N>.json); the newest is the headline.
        rows = self._rows(
            "SELECT phase, status, checks, ts, path FROM go_no_go ORDER BY ts DESC, phase DESC"
        )
        if not rows:
            return {"present": False, "path": str(self.reports / "go_no_go" / "phase<N>.json")}
        row = rows[0]
        checks = json.loads(row["checks"]) if row["checks"] else []
        return {
            "present": True,
            "path": row["path"],
            "phase": row["phase"],
            "status": row["status"],
            "ts": row["ts"],
            "checks": checks,
            "phases": [
                {"phase": r["phase"], "status": r["status"], "ts": r["ts"], "path": r["path"]}
                for r in sorted(rows, key=lambda r: r["phase"] if r["phase"] is not None else -1)
            ],
        }


def _runs_of(folder: Path, runs: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run folders of one session: completed ones (run.json) with their view row, others bare."""
    out = []
    sid = folder.name
    for p in sorted((folder / "runs").glob("*")):
        if not p.is_dir() or p.name.startswith("."):
            continue
        row = runs.get((sid, p.name))
        entry: dict[str, Any] = {"run_id": p.name, "complete": row is not None}
        if row is not None:
            entry.update({k: v for k, v in row.items() if k not in ("session_id", "run_id")})
            if isinstance(row.get("total_pnl"), int):
                entry["total_pnl_usd"] = format_fixed(row["total_pnl"])
        out.append(entry)
    return out


def market_names(reader: SessionReader) -> dict[str, str]:
    """``{condition id or token id: "question — outcome"}`` for the session's markets."""
    names: dict[str, str] = {}
    for m in reader.markets():
        title = m.question or m.slug or m.condition_id
        names[m.condition_id] = title
        if m.neg_risk_market_id:  # a basket's market is the neg-risk event
            names.setdefault(m.neg_risk_market_id, m.event_slug or title)
        for token, outcome in zip(m.token_ids, m.outcomes, strict=False):
            names[token] = f"{title} — {outcome}"
    return names


def _plain(value: Any) -> Any:
    """JSON-able: pydantic defaults and model dumps may hold tuples or other objects."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _thin(points: list[dict[str, Any]], max_points: int) -> list[dict[str, Any]]:
    """At most ``max_points`` evenly spaced points, always keeping the first and the last."""
    if len(points) <= max_points:
        return points
    if max_points < 2:
        return points[-1:]
    step = (len(points) - 1) / (max_points - 1)
    return [points[round(i * step)] for i in range(max_points)]


def _int_arg(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    text = values[-1]
    # isdigit() alone takes "²" and other digits int() refuses: ASCII only.
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, f"{name} must be an integer from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ApiError(500, f"cannot read {path.name}: {exc}") from None


def _heartbeat_alerts(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A live run's active alerts with their levels: heartbeat.json's ``alerts``, else (an
    older heartbeat) its ``active_alerts`` names with the level each rule is declared at."""
    rows = run.get("alerts")
    if isinstance(rows, list):
        return [
            {"rule": str(a.get("rule")), "level": a.get("level"), "since_ns": a.get("since_ns"),
             "message": a.get("message")}
            for a in rows if isinstance(a, dict) and a.get("rule")
        ]  # fmt: skip
    declared = {cls.NAME: cls.model_fields["level"].default for cls in RULES}
    return [
        {"rule": str(r), "level": declared.get(str(r)), "since_ns": None, "message": None}
        for r in run.get("active_alerts") or []
    ]
