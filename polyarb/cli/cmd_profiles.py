"""``polyarb profiles validate|show|diff``: check, inspect and compare phase profiles."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyarb.cli.common import CliError, print_json

if TYPE_CHECKING:
    from polyarb.config.profile import Profile

DEFAULT_DIR = Path("profiles")


def _kind(path: Path) -> str:
    """profiles/ holds three kinds of YAML; the name says which (see docs/PRODUCTION_PLAN.md)."""
    if path.name.startswith("alerts"):
        return "alerts"
    if path.name.startswith("promotion"):
        return "promotion"
    return "profile"


def _load(path: Path) -> Profile:
    from polyarb.config.profile import ProfileError, load_profile

    try:
        return load_profile(path)
    except ProfileError as exc:
        raise CliError(str(exc), 1) from None


def _validate(args: argparse.Namespace) -> int:
    files = list(args.files) or sorted(args.dir.glob("*.yaml"))
    if not files:
        raise CliError(f"no profiles to validate: {args.dir}/*.yaml matched nothing", 2)
    from polyarb.alerts.rules import AlertRulesError, load_alert_rules
    from polyarb.config.profile import ProfileError, load_profile

    results: list[dict[str, Any]] = []
    for path in files:
        kind = _kind(path)
        entry: dict[str, Any] = {"file": str(path), "kind": kind}
        try:
            if kind == "alerts":
                rules = load_alert_rules(path)
                entry |= {"ok": True, "name": rules.name}
            elif kind == "promotion":
                # Owned and validated by `polyarb promote-check`; listed so nothing looks missed.
                entry |= {"ok": True, "skipped": "promotion rules: checked by promote-check"}
            else:
                profile = load_profile(path)
                entry |= {
                    "ok": True,
                    "name": profile.name,
                    "phase": profile.phase,
                    "mode": profile.mode,
                    "sha256": profile.sha256(),
                }
        except (ProfileError, AlertRulesError) as exc:
            entry |= {"ok": False, "error": str(exc)}
        results.append(entry)
    if args.json:
        print_json(results)
    else:
        for r in results:
            if not r["ok"]:
                print(f"INVALID {r['error']}")
            elif r.get("skipped"):
                print(f"SKIP    {r['file']} ({r['skipped']})")
            elif r["kind"] == "alerts":
                print(f"OK      {r['file']} (alert rules {r['name']!r})")
            else:
                print(
                    f"OK      {r['file']} ({r['name']}, phase {r['phase']}, {r['mode']}, "
                    f"sha256 {r['sha256'][:16]})"
                )
    bad = sum(not r["ok"] for r in results)
    if not args.json:
        print(f"{len(results) - bad} valid, {bad} invalid")
    return 1 if bad else 0


def _show(args: argparse.Namespace) -> int:
    from polyarb.configfile import flatten

    profile = _load(args.profile)
    data = profile.model_dump(mode="json")
    if args.json:
        print_json({"file": str(args.profile), "sha256": profile.sha256(), "profile": data})
        return 0
    explicit = flatten(_raw(args.profile))
    print(f"# {args.profile}  sha256 {profile.sha256()}")
    for key, value in flatten(data).items():
        note = "" if key in explicit else "  # default"
        print(f"{key}: {json.dumps(value)}{note}")
    return 0


def _raw(path: Path) -> dict[str, Any]:
    from polyarb.config.profile import ProfileError
    from polyarb.configfile import load_yaml

    data = load_yaml(path, ProfileError, "profile") or {}
    return data if isinstance(data, dict) else {}


def _diff(args: argparse.Namespace) -> int:
    from polyarb.configfile import flatten

    a, b = _load(args.a), _load(args.b)
    fa, fb = flatten(a.model_dump(mode="json")), flatten(b.model_dump(mode="json"))
    changes = [
        {"key": k, "a": fa.get(k), "b": fb.get(k)}
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]
    if args.json:
        print_json(
            {
                "a": str(args.a),
                "b": str(args.b),
                "a_sha256": a.sha256(),
                "b_sha256": b.sha256(),
                "differences": changes,
            }
        )
        return 0
    print(f"--- {args.a}  sha256 {a.sha256()[:16]}")
    print(f"+++ {args.b}  sha256 {b.sha256()[:16]}")
    for c in changes:
        print(f"{c['key']}: {json.dumps(c['a'])} -> {json.dumps(c['b'])}")
    print(f"{len(changes)} difference(s)" if changes else "identical settings")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profiles",
        help="validate, show or diff phase profiles (profiles/*.yaml)",
        description=(
            "Phase profiles hold every knob the engine reads (risk limits, execution, latency "
            "model, alert rules file). 'validate' checks files against the schema and the phase "
            "rules (phase 0 dry_run only; trade size $2 in phase 1, up to $5 in phase 2, $10-20 "
            "in phase 3) and exits 1 if any is invalid; 'show' prints effective values including "
            "defaults and the profile's sha256; 'diff' lists key-by-key differences."
        ),
    )
    ps = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    v = ps.add_parser(
        "validate",
        help="validate all profiles (default) or the given files",
        description="Validate profiles; alerts*.yaml are checked as alert rules. "
        "Exit 0 if all valid, 1 if any is invalid, 2 if there is nothing to check.",
    )
    v.add_argument("files", nargs="*", type=Path, help="profile files (default: DIR/*.yaml)")
    v.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="profile folder (default: profiles)"
    )
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=_validate)

    s = ps.add_parser(
        "show",
        help="effective values (defaults included) and the sha256",
        description="Print every setting of a profile, marking defaults, and its "
        "sha256 (the hash every run records). Exit 1 if the profile is invalid.",
    )
    s.add_argument("profile", type=Path)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_show)

    d = ps.add_parser(
        "diff",
        help="key-by-key differences of two profiles",
        description="Compare the effective values of two profiles (defaults "
        "included). Exit 0 whether or not they differ, 1 if one is invalid.",
    )
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_diff)
