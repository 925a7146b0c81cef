"""The go/no-go checklist: may this machine start phase N right now?

Each check returns PASS, WARN or FAIL with a one-line detail that never
contains a secret. What is a WARN in the shadow phase (no money) is often a
FAIL in a live phase. The result is written to ``reports/go_no_go/phase<N>.json`` (and ``latest.json``)
for ``polyarb promote-check`` and the start scripts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyarb._version import __version__
from polyarb.alerts.rules import RULE_NAMES, AlertRules, AlertRulesError, load_alert_rules
from polyarb.chain.contracts import POLYGON_CHAIN_ID, PUSD, PUSD_SPENDERS
from polyarb.config.profile import Profile, ProfileError, load_profile, micro
from polyarb.env import (
    DRY_RUN_VAR,
    PRIVATE_KEY_VAR,
    RPC_URL_VAR,
    EnvError,
    EnvFile,
    key_address,
    read_env,
)

Status = Literal["PASS", "WARN", "FAIL"]
_RANK: dict[Status, int] = {"PASS": 0, "WARN": 1, "FAIL": 2}

PHASE_PROFILES = {
    0: "live_shadow_atomic_v1.yaml",
    1: "live_safe_atomic_v1.yaml",
    2: "live_constrained_atomic_v1.yaml",
    3: "live_scaled_atomic_v1.yaml",
}
"""The profile each phase starts with unless ``--profile`` says otherwise."""

MIN_GAS_WEI = 10**17
"""0.1 POL: hundreds of merges at Polygon gas prices (docs/protocol.md §Contracts and gas)."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass
class GoNoGoInputs:
    """Everything the checklist looks at; the CLI fills it from flags, tests from tmp dirs."""

    phase: int
    root: Path = Path()
    profile: Path | None = None
    env_file: Path = Path(".env")
    recordings: Path = Path("recordings")
    reports: Path = Path("reports")
    backups: Path = Path("backups")
    port: int = 8083
    rpc_timeout_s: float = 3.0
    min_free_gb: float = 5.0
    rollback: bool = False
    """Phase 0 during an emergency rollback: a live opt-in left in .env is a WARN, not a FAIL
    (shadow has no live venue, so nothing can trade), and nobody edits .env under pressure."""
    now_s: Callable[[], float] = time.time
    _env: EnvFile | None = field(default=None, repr=False)
    _profile: Profile | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        return self.phase >= 1

    def profile_path(self) -> Path:
        return self.profile or self.root / "profiles" / PHASE_PROFILES[self.phase]


class _Ctx:
    """Shared state between checks: later checks use what earlier ones loaded."""

    def __init__(self, inp: GoNoGoInputs) -> None:
        self.inp = inp
        self.profile: Profile | None = None
        self.rules: AlertRules | None = None
        self.env: EnvFile | None = None
        self.address: str | None = None
        self.client: Any = None
        self.chain_ok = False
        self.block_ts: int | None = None
        self.chain_id: int | None = None

    def soft(self) -> Status:
        """What a missing live-only prerequisite is: WARN in shadow, FAIL with money."""
        return "FAIL" if self.inp.live else "WARN"


def _profile_valid(c: _Ctx) -> Check:
    path = c.inp.profile_path()
    try:
        c.profile = load_profile(path)
    except ProfileError as exc:
        return Check("profile_valid", "FAIL", str(exc).replace("\n", " | "))
    return Check(
        "profile_valid", "PASS", f"{path} ({c.profile.name}, sha256 {c.profile.sha256()[:16]})"
    )


def _profile_phase(c: _Ctx) -> Check:
    if c.profile is None:
        return Check("profile_phase", "FAIL", "no valid profile")
    if c.profile.phase != c.inp.phase:
        return Check(
            "profile_phase",
            "FAIL",
            f"profile is for phase {c.profile.phase}, checking phase {c.inp.phase}",
        )
    return Check(
        "profile_phase", "PASS", f"phase {c.inp.phase}, trade size ${c.profile.risk.trade_size_usd}"
    )


def _all_profiles_valid(c: _Ctx) -> Check:
    bad: list[str] = []
    files = sorted((c.inp.root / "profiles").glob("*.yaml"))
    for f in files:
        try:
            if f.name.startswith("alerts"):
                load_alert_rules(f)
            elif not f.name.startswith("promotion"):
                load_profile(f)
        except (ProfileError, AlertRulesError):
            bad.append(f.name)
    if not files:
        return Check("config_valid", "FAIL", f"no profiles under {c.inp.root / 'profiles'}")
    if bad:
        return Check(
            "config_valid", "FAIL", f"invalid: {', '.join(bad)} (polyarb profiles validate)"
        )
    return Check("config_valid", "PASS", f"{len(files)} files in profiles/ validate")


def _dry_run_state(c: _Ctx) -> Check:
    if c.profile is None:
        return Check("dry_run_state", "FAIL", "no valid profile")
    flag = None
    if c.env is not None:
        flag = c.env.plain(DRY_RUN_VAR)
    if not c.inp.live:
        if c.profile.mode != "dry_run":
            return Check("dry_run_state", "FAIL", "phase 0 profile must be mode dry_run")
        if flag is not None and flag.lower() in ("0", "false", "no"):
            if c.inp.rollback:
                return Check(
                    "dry_run_state",
                    "WARN",
                    f"{DRY_RUN_VAR}={flag} in .env, allowed by --rollback: shadow has no live "
                    "venue, so no order can be sent",
                )
            return Check(
                "dry_run_state",
                "FAIL",
                f"{DRY_RUN_VAR}={flag} in .env but phase 0 is dry run only "
                "(rolling back? go-no-go --phase 0 --rollback, or start_shadow.sh --rollback)",
            )
        return Check("dry_run_state", "PASS", "DRY_RUN: no orders will be sent")
    if c.profile.mode != "live":
        return Check("dry_run_state", "FAIL", f"phase {c.inp.phase} needs a mode: live profile")
    if flag is None or flag.lower() not in ("0", "false", "no"):
        return Check(
            "dry_run_state",
            "FAIL",
            f"live phase needs {DRY_RUN_VAR}=false in .env (explicit opt-in); found {flag!r}",
        )
    return Check("dry_run_state", "PASS", f"LIVE: {DRY_RUN_VAR}=false and profile mode live")


def _env_present(c: _Ctx) -> Check:
    path = c.inp.env_file
    if not path.exists():
        return Check("env_file", c.soft(), f"{path} not found (secrets live only there)")
    try:
        c.env = read_env(path)
    except EnvError as exc:
        return Check("env_file", "FAIL", str(exc))
    return Check("env_file", "PASS", f"{path}: {len(c.env.values)} variables (values not shown)")


def _env_mode(c: _Ctx) -> Check:
    if c.env is None:
        return Check("env_permissions", c.soft(), "no .env")
    if not c.env.private_mode:
        return Check(
            "env_permissions",
            c.soft(),
            f"{c.env.path} is mode {c.env.mode:03o}; run 'chmod 600 {c.env.path}'",
        )
    return Check("env_permissions", "PASS", f"mode {c.env.mode:03o}")


def _private_key(c: _Ctx) -> Check:
    key = c.env.get(PRIVATE_KEY_VAR) if c.env else None
    if not key:
        if c.inp.live:
            return Check("private_key", "FAIL", f"{PRIVATE_KEY_VAR} missing from .env")
        return Check("private_key", "PASS", "not needed in phase 0 (dry run)")
    try:
        c.address = key_address(key)
    except EnvError as exc:
        return Check("private_key", c.soft(), str(exc))
    return Check("private_key", "PASS", f"well-formed; address {c.address} (key not shown)")


def _secrets_ignored(c: _Ctx) -> Check:
    try:
        r = subprocess.run(
            ["git", "check-ignore", "-q", str(c.inp.env_file)],
            cwd=c.inp.root,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return Check("env_git_ignored", "WARN", "git not available to confirm .env is ignored")
    if r.returncode == 0:
        return Check("env_git_ignored", "PASS", ".env is git-ignored")
    if r.returncode == 128:
        return Check("env_git_ignored", "WARN", "not a git checkout; cannot confirm")
    return Check("env_git_ignored", "FAIL", ".env is NOT git-ignored: add it to .gitignore")


def _rpc(c: _Ctx) -> Check:
    url = c.env.get(RPC_URL_VAR) if c.env else None
    if not url:
        return Check("rpc_reachable", c.soft(), f"{RPC_URL_VAR} missing from .env")
    from polyarb.chain.client import ChainClient

    c.client = ChainClient(url.reveal(), timeout_s=c.inp.rpc_timeout_s)
    h = c.client.health()
    if not h.ok:
        c.client = None
        return Check("rpc_reachable", c.soft(), h.error)
    c.chain_ok = h.chain_id == POLYGON_CHAIN_ID
    c.block_ts = h.block_timestamp
    c.chain_id = h.chain_id
    return Check("rpc_reachable", "PASS", f"block {h.block_number} in {h.latency_ms} ms")


def _chain_id(c: _Ctx) -> Check:
    if c.client is None:
        return Check("chain_id", c.soft(), "RPC not reachable")
    got = c.chain_id
    if not c.chain_ok:
        return Check("chain_id", "FAIL", f"chain id {got}, expected {POLYGON_CHAIN_ID} (Polygon)")
    return Check("chain_id", "PASS", f"chain id {got} (Polygon)")


def _collateral(c: _Ctx) -> str:
    # Overridable so a rehearsal on a local chain can point at its own token.
    override = c.env.plain("POLYARB_COLLATERAL_TOKEN") if c.env else None
    return override or PUSD


def _spenders(c: _Ctx) -> dict[str, str]:
    return spenders_from_env(c.env)


def spenders_from_env(env: EnvFile | None) -> dict[str, str]:
    """The pUSD spenders whose allowances count: ``POLYARB_ALLOWANCE_SPENDERS`` or Polymarket's."""
    override = env.plain("POLYARB_ALLOWANCE_SPENDERS") if env else None
    if override:
        return {
            f"spender {i + 1}": a.strip() for i, a in enumerate(override.split(",")) if a.strip()
        }
    return PUSD_SPENDERS


def _live_ready(c: _Ctx, name: str) -> Check | None:
    if not c.inp.live:
        return Check(name, "PASS", "not needed in phase 0 (dry run)")
    if c.client is None or not c.chain_ok or c.address is None:
        return Check(name, "FAIL", "needs a reachable Polygon RPC and a valid key")
    return None


def _gas_balance(c: _Ctx) -> Check:
    early = _live_ready(c, "gas_balance")
    if early:
        return early
    from polyarb.chain.client import ChainError

    try:
        wei = c.client.native_balance(c.address)
    except ChainError as exc:
        return Check("gas_balance", "FAIL", str(exc))
    pol = f"{wei / 10**18:.4f} POL"
    if wei < MIN_GAS_WEI:
        return Check("gas_balance", "FAIL", f"{pol} < 0.1 POL for gas")
    return Check("gas_balance", "PASS", pol)


def _collateral_balance(c: _Ctx) -> Check:
    early = _live_ready(c, "collateral_balance")
    if early or c.profile is None:
        return early or Check("collateral_balance", "FAIL", "no valid profile")
    from polyarb.chain.client import ChainError

    try:
        bal = c.client.erc20_balance(_collateral(c), c.address)
    except ChainError as exc:
        return Check("collateral_balance", "FAIL", str(exc))
    trade = micro(c.profile.risk.trade_size_usd)
    total = micro(c.profile.risk.max_total_position_usd)
    shown = f"${bal / 10**6:,.2f}"
    if bal < 2 * trade:
        return Check("collateral_balance", "FAIL", f"{shown} < 2 trades (${2 * trade / 10**6:.2f})")
    if bal < total:
        return Check(
            "collateral_balance", "WARN", f"{shown} < max total position ${total / 10**6:,.2f}"
        )
    return Check("collateral_balance", "PASS", f"{shown} pUSD")


def _allowances(c: _Ctx) -> Check:
    early = _live_ready(c, "allowances")
    if early or c.profile is None:
        return early or Check("allowances", "FAIL", "no valid profile")
    from polyarb.chain.client import ChainError

    need = micro(c.profile.risk.max_total_position_usd)
    short: list[str] = []
    try:
        for label, spender in _spenders(c).items():
            if c.client.erc20_allowance(_collateral(c), c.address, spender) < need:
                short.append(label)
    except ChainError as exc:
        return Check("allowances", "FAIL", str(exc))
    if short:
        return Check(
            "allowances", "FAIL", f"allowance below ${need / 10**6:,.2f} for: {', '.join(short)}"
        )
    return Check(
        "allowances", "PASS", f"{len(_spenders(c))} spenders approved >= ${need / 10**6:,.2f}"
    )


def _disk(c: _Ctx) -> Check:
    target = c.inp.recordings if c.inp.recordings.exists() else c.inp.root
    free_gb = shutil.disk_usage(target).free / 1e9
    if free_gb < 1:
        return Check("disk_space", "FAIL", f"{free_gb:.1f} GB free at {target}")
    if free_gb < c.inp.min_free_gb:
        return Check("disk_space", "WARN", f"{free_gb:.1f} GB free < {c.inp.min_free_gb} GB")
    return Check("disk_space", "PASS", f"{free_gb:.1f} GB free at {target}")


def _writable(name: str, folder: Path) -> Check:
    # A check creates nothing: a missing folder passes when the folder that would hold it
    # takes a (removed) probe file.
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            return Check(name, "FAIL", f"{existing}: not a folder")
        probe = existing / f".go-no-go-{uuid.uuid4().hex}.tmp"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check(name, "FAIL", f"{existing}: {exc.strerror or exc}")
    if existing != folder:
        return Check(name, "PASS", f"{folder} missing; {existing} writable, so it can be made")
    return Check(name, "PASS", f"{folder} writable")


def _clock(c: _Ctx) -> Check:
    now = c.inp.now_s()
    if now < 1_767_225_600:  # 2026-01-01: an older clock means no NTP sync at all
        return Check(
            "clock_sanity",
            "FAIL",
            f"system clock reads {time.strftime('%Y-%m-%d', time.gmtime(now))}",
        )
    if c.block_ts is not None and c.chain_ok:
        skew = abs(now - c.block_ts)
        if skew > 120:
            return Check("clock_sanity", c.soft(), f"{skew:.0f} s from the latest block's time")
        return Check("clock_sanity", "PASS", f"{skew:.0f} s from the latest block's time")
    return Check("clock_sanity", "PASS", "plausible (no chain reference to compare)")


def _last_backup(c: _Ctx) -> Check:
    archives = sorted(
        c.inp.backups.glob("polyarb-backup-*.tar.gz"), key=lambda p: p.stat().st_mtime
    )
    if not archives:
        return Check("last_backup", c.soft(), f"no backup in {c.inp.backups} (polyarb backup)")
    age_h = (c.inp.now_s() - archives[-1].stat().st_mtime) / 3600
    if age_h > 24 * 7:
        return Check("last_backup", c.soft(), f"{archives[-1].name} is {age_h / 24:.0f} days old")
    if age_h > 24:
        return Check("last_backup", "WARN", f"{archives[-1].name} is {age_h:.0f} h old")
    return Check("last_backup", "PASS", f"{archives[-1].name} ({age_h:.1f} h old)")


def read_promotion(reports: Path, phase: int | None = None) -> dict[str, Any] | None:
    """The newest promote-check report for ``phase`` (``reports/promotion/phase<N>.json``);
    without a phase, or when that file is missing, ``latest.json`` or the newest ``*.json``.

    Per phase, so a promote-check for another phase run later never hides this one's."""
    folder = reports / "promotion"
    latest = folder / "latest.json"
    own = folder / f"phase{phase}.json"
    files = (
        [own]
        if phase is not None and own.is_file()
        else [latest]
        if latest.is_file()
        else sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    )
    if not files:
        return None
    try:
        data = json.loads(files[-1].read_text())
    except (OSError, ValueError):
        return {"_unreadable": str(files[-1])}
    return data if isinstance(data, dict) else {"_unreadable": str(files[-1])}


def _promotion_go(data: dict[str, Any]) -> bool | None:
    for key in ("verdict", "status", "decision"):
        v = data.get(key)
        if isinstance(v, str):
            return v.upper().replace("_", "-") in ("GO", "PASS", "PROMOTE")
    v = data.get("go")
    return v if isinstance(v, bool) else None


def _promote_check(c: _Ctx) -> Check:
    data = read_promotion(c.inp.reports, c.inp.phase)
    folder = c.inp.reports / "promotion"
    if c.inp.phase == 0:
        # Nothing gates shadow; `promote-check --phase 1` later judges the shadow runs.
        if data is None or "_unreadable" in data:
            return Check(
                "promote_check",
                "WARN",
                f"no readable promote-check report in {folder} (none needed for phase 0)",
            )
        return Check(
            "promote_check",
            "PASS",
            f"latest: phase {data.get('phase')} {data.get('verdict', '?')} (informational)",
        )
    if data is None:
        return Check(
            "promote_check",
            "FAIL",
            f"no report in {folder}: run polyarb promote-check --phase {c.inp.phase}",
        )
    if "_unreadable" in data:
        return Check("promote_check", "FAIL", f"unreadable report {data['_unreadable']}")
    go = _promotion_go(data)
    phase = data.get("phase")
    if phase != c.inp.phase:
        return Check(
            "promote_check", "FAIL", f"latest report is for phase {phase}, not {c.inp.phase}"
        )
    if go is None:
        return Check("promote_check", "FAIL", "report has no verdict")
    if not go:
        return Check("promote_check", "FAIL", f"promote-check says NO-GO for phase {c.inp.phase}")
    return Check("promote_check", "PASS", f"promote-check GO for phase {c.inp.phase}")


def _alert_rules(c: _Ctx) -> Check:
    if c.profile is None:
        return Check("alert_rules", "FAIL", "no valid profile")
    if not c.profile.alerts:
        return Check("alert_rules", c.soft(), "profile names no alert rules file (defaults apply)")
    path = c.inp.profile_path().parent / c.profile.alerts
    try:
        c.rules = load_alert_rules(path)
    except AlertRulesError as exc:
        return Check("alert_rules", "FAIL", str(exc).replace("\n", " | "))
    enabled = [r for r in RULE_NAMES if c.rules.rule(r).enabled]
    critical = [r for r in enabled if c.rules.rule(r).level == "CRITICAL"]
    if not all(c.rules.rule(r).halts for r in critical):
        return Check("alert_rules", c.soft(), "a CRITICAL rule does not halt trading")
    return Check(
        "alert_rules", "PASS", f"{path.name}: {len(enabled)} rules, {len(critical)} CRITICAL halt"
    )


def _webhook(c: _Ctx) -> Check:
    if c.rules is None or c.rules.webhook is None:
        return Check("alert_webhook", "WARN", "no webhook configured: alerts go to the log only")
    var = c.rules.webhook.url_env
    if not (c.env and c.env.get(var)):
        return Check("alert_webhook", c.soft(), f"{var} missing from .env")
    return Check("alert_webhook", "PASS", f"{var} set (URL not shown)")


def _port(c: _Ctx) -> Check:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", c.inp.port))
        except OSError:
            return Check("port_free", "FAIL", f"127.0.0.1:{c.inp.port} is in use")
    return Check("port_free", "PASS", f"127.0.0.1:{c.inp.port} free")


def _halt_file(c: _Ctx) -> Check:
    halt = c.inp.root / "HALT"
    if halt.exists():
        return Check(
            "no_halt_file",
            "FAIL",
            f"{halt} exists: an operator stopped trading (docs/PRODUCTION_RUNBOOK.md §4)",
        )
    return Check("no_halt_file", "PASS", "no HALT file")


def _version(c: _Ctx) -> Check:
    return Check("polyarb_version", "PASS", f"polyarb {__version__}")


CHECKS: tuple[Callable[[_Ctx], Check], ...] = (
    _version, _profile_valid, _profile_phase, _all_profiles_valid, _env_present, _env_mode,
    _secrets_ignored, _dry_run_state, _private_key, _rpc, _chain_id, _gas_balance,
    _collateral_balance, _allowances, _disk,
    lambda c: _writable("recordings_writable", c.inp.recordings),
    lambda c: _writable("reports_writable", c.inp.reports),
    _clock, _last_backup, _promote_check, _alert_rules, _webhook, _port, _halt_file,
)  # fmt: skip


def run_checks(inp: GoNoGoInputs) -> list[Check]:
    """Every check in order; a check that crashes is a FAIL naming the exception, not a traceback."""
    ctx = _Ctx(inp)
    out: list[Check] = []
    for fn in CHECKS:
        try:
            out.append(fn(ctx))
        except Exception as exc:  # a broken check must not hide the rest of the list
            name = getattr(fn, "__name__", "check").lstrip("_")
            out.append(Check(name, "FAIL", f"check crashed: {type(exc).__name__}"))
    return out


def overall(checks: list[Check]) -> Status:
    worst = max((_RANK[c.status] for c in checks), default=0)
    return next(s for s, r in _RANK.items() if r == worst)


def result(inp: GoNoGoInputs, checks: list[Check]) -> dict[str, Any]:
    return {
        "phase": inp.phase,
        "status": overall(checks),
        "checks": [asdict(c) for c in checks],
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(inp.now_s())),
        "profile": str(inp.profile_path()),
    }


def write_latest(reports: Path, data: dict[str, Any]) -> Path:
    """Atomically replace ``reports/go_no_go/phase<N>.json`` and ``latest.json``.

    The per-phase file is the evidence promote-check reads: a go-no-go for phase 0 run
    after one for phase 1 must not erase phase 1's. Returns the per-phase path."""
    folder = reports / "go_no_go"
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    own = folder / f"phase{data['phase']}.json"
    for target in (own, folder / "latest.json"):
        tmp = folder / f".{target.stem}.{os.getpid()}.tmp"
        tmp.write_text(text)
        tmp.replace(target)
    return own
