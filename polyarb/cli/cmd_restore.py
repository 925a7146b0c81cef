"""``polyarb restore ARCHIVE --to DIR``: verify every checksum, then restore."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from polyarb.cli.common import CliError, print_json


def _run(args: argparse.Namespace) -> int:
    from polyarb.ops.backup import BackupError, restore, verify

    if not args.archive.is_file():
        raise CliError(f"{args.archive}: no such archive", 2)
    if args.to is None and not args.verify_only:
        raise CliError("--to DIR is required (or --verify-only)", 2)
    try:
        manifest = (
            verify(args.archive)
            if args.verify_only
            else restore(args.archive, args.to, force=args.force)
        )
    except BackupError as exc:
        raise CliError(str(exc), 1) from None
    n = len(manifest["files"])
    frameless = [] if manifest.get("include_frames", False) else _sessions(manifest)
    if args.json:
        print_json(
            {
                "archive": str(args.archive),
                "restored_to": None if args.verify_only else str(args.to),
                "files": n,
                "created_utc": manifest.get("created_utc"),
                "sessions_without_frames": frameless,
            }
        )
    elif args.verify_only:
        print(f"{args.archive}: {n} files, every checksum verified")
    else:
        print(f"restored {n} files to {args.to} (every checksum verified)")
    if frameless and not args.json:
        # The usual backup leaves raw frames out: say it where the operator looks.
        print(
            f"note: this backup was made without --include-frames: {len(frameless)} session(s) "
            f"restored without their raw frames ({', '.join(frameless)}); sessions check, "
            "parity and replay need the frames (they say 'frames not restored')"
        )
    return 0


def _sessions(manifest: dict[str, Any]) -> list[str]:
    """Session ids whose manifest the archive holds."""
    return sorted(
        {
            f["path"].split("/")[1]
            for f in manifest["files"]
            if f["path"].startswith("recordings/") and f["path"].endswith("/manifest.json")
        }
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="verify a backup's checksums and restore it into a folder",
        description=(
            "Check every file of a 'polyarb backup' archive against its MANIFEST.json sha256 "
            "before writing anything (members are streamed, so archive size does not bound "
            "memory), then restore into --to DIR. Only paths a backup may contain are written: "
            "under profiles/, config/, reports/ and recordings/, never a secrets file; any other "
            "member (an absolute path, '..', .git/, .venv/, a file holding a key) refuses the "
            "whole archive. Restore never writes through a symbolic link below DIR, checks free "
            "space first, and is all or nothing: every file goes to a temp file beside its "
            "target and replaces it only once all are written, with its recorded mode. A "
            "tampered, truncated, foreign or unsafe archive, or a full disk, restores nothing "
            "and exits 1; existing files are not overwritten without --force. Exit 2 on bad "
            "arguments."
        ),
    )
    p.add_argument("archive", type=Path, help="polyarb-backup-*.tar.gz")
    p.add_argument("--to", type=Path, default=None, help="folder to restore into")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist")
    p.add_argument("--verify-only", action="store_true", help="check checksums, restore nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)
