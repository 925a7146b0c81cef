"""The guards in front of ``polyarb live``: every one must hold before anything connects.

1. the profile has ``mode: live`` (its phase and limits agree: the profile
   loader already refuses a trade size outside the phase's band);
2. ``POLYARB_DRY_RUN=false`` in ``.env`` (an explicit opt-in);
3. ``.env`` is mode 600 and holds a well-formed ``POLYARB_PRIVATE_KEY``;
4. a passing go/no-go for this phase (``reports/go_no_go/latest.json``) no
   older than the profile's ``gonogo_max_age_s`` (3600 s when unset);
5. the ``--confirm`` flag.

Each failure is one line naming the guard; the private key is never shown.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable
from pathlib import Path

from polyarb.config.profile import Profile
from polyarb.env import DRY_RUN_VAR, PRIVATE_KEY_VAR, EnvError, key_address, read_env
from polyarb.errors import PolyarbError

DEFAULT_GONOGO_MAX_AGE_S = 3600


class GuardError(ValueError, PolyarbError):
    """A live guard that does not hold (exit 2, nothing connected)."""


def check_guards(
    profile: Profile,
    *,
    env_path: Path,
    reports: Path,
    confirm: bool,
    now_s: Callable[[], float] = time.time,
) -> str:
    """Raise :class:`GuardError` for the first guard that fails; return the private key."""
    if profile.mode != "live":
        raise GuardError(
            f"guard profile_mode: profile {profile.name!r} has mode {profile.mode!r}; "
            "live needs a mode: live profile"
        )
    if not env_path.is_file():
        raise GuardError(f"guard env: {env_path} not found (live needs .env with the key)")
    try:
        env = read_env(env_path)
    except EnvError as exc:
        raise GuardError(f"guard env: {exc}") from None
    if not env.private_mode:
        raise GuardError(
            f"guard env_mode: {env_path} has mode {env.mode:03o}, must be 600 "
            f"(chmod 600 {env_path})"
        )
    flag = (env.plain(DRY_RUN_VAR) or "").strip().lower()
    if flag != "false":
        raise GuardError(
            f"guard dry_run: {DRY_RUN_VAR}={flag or '(unset)'} in {env_path}; live needs "
            f"{DRY_RUN_VAR}=false"
        )
    key = env.get(PRIVATE_KEY_VAR)
    if key is None:
        raise GuardError(f"guard private_key: {PRIVATE_KEY_VAR} missing from {env_path}")
    try:
        key_address(key)
    except EnvError as exc:
        raise GuardError(f"guard private_key: {exc}") from None
    _gonogo(profile, reports, now_s())
    if not confirm:
        raise GuardError("guard confirm: live trading needs --confirm (real orders, real money)")
    return key.reveal().strip()


def _gonogo(profile: Profile, reports: Path, now: float) -> None:
    path = reports / "go_no_go" / "latest.json"
    if not path.is_file():
        raise GuardError(
            f"guard go_no_go: no result at {path}: run 'polyarb go-no-go --phase {profile.phase}'"
        )
    try:
        data = json.loads(path.read_text())
        stamp = calendar.timegm(time.strptime(str(data["ts"]), "%Y-%m-%dT%H:%M:%SZ"))
    except (ValueError, KeyError, TypeError):
        raise GuardError(f"guard go_no_go: {path} is not a go/no-go result") from None
    if data.get("phase") != profile.phase:
        raise GuardError(
            f"guard go_no_go: {path} is for phase {data.get('phase')}, the profile is phase "
            f"{profile.phase}"
        )
    if data.get("status") not in ("PASS", "WARN"):  # what `polyarb go-no-go` exits 0 on
        raise GuardError(f"guard go_no_go: {path} says {data.get('status')}: no go")
    limit = profile.gonogo_max_age_s or DEFAULT_GONOGO_MAX_AGE_S
    age = now - stamp
    if age > limit:
        raise GuardError(
            f"guard go_no_go: the passing result is {int(age)} s old (profile allows {limit} s): "
            f"run 'polyarb go-no-go --phase {profile.phase}' again"
        )
