"""``polyarb backup``: a timestamped, checksummed archive of profiles, config, reports and runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from polyarb.cli.common import CliError, print_json


def _run(args: argparse.Namespace) -> int:
    from polyarb.ops.backup import BackupError, create_backup

    try:
        res = create_backup(args.root, args.out, include_frames=args.include_frames)
    except BackupError as exc:
        raise CliError(str(exc), 1) from None
    skipped = [{"path": path, "reason": reason} for path, reason in res.skipped]
    if args.json:
        print_json({"archive": str(res.path), "files": res.files, "bytes": res.bytes,
                    "secrets_skipped": res.skipped_secrets, "skipped": skipped})  # fmt: skip
    else:
        print(f"wrote {res.path} (mode 600): {res.files} files, {res.bytes:,} bytes "
              f"({res.skipped_secrets} secret file(s) skipped, never archived)")  # fmt: skip
        for s in skipped:
            print(f"  skipped {s['path']} ({s['reason']})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backup",
        help="archive profiles, config, reports and run outputs with sha256 checksums",
        description=(
            "Write ROOT/backups/polyarb-backup-<UTC timestamp>.tar.gz (or --out) holding "
            "profiles/, config/, reports/ and recordings/ (manifests, market metadata and every "
            "run's tables) with a MANIFEST.json of sha256 checksums and file modes, written mode "
            "600. Raw frames are left out unless --include-frames. Secrets are never archived: "
            "files named like .env, .envrc, .env~, id_ecdsa or *.pem, and any file whose content "
            "holds a private key, a mnemonic, a keystore or an API secret are skipped and listed "
            "(path and reason, never content). Exit 0 on success, 1 if the backup cannot be "
            "written."
        ),
    )
    p.add_argument("--root", type=Path, default=Path(), help="project folder (default: .)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="archive file (.tar.gz) or folder (default: ROOT/backups/)",
    )
    p.add_argument(
        "--include-frames", action="store_true", help="also archive recordings/*/frames (large)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)
