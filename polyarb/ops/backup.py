"""Backups: one tar.gz of profiles, config, reports and run outputs, with sha256 per file.

Raw frames are left out by default (they are large and the recorder's own
sessions are the primary copy); ``include_frames`` adds them. Secrets never
enter an archive: any ``.env`` file is skipped by name and the manifest says
only that it was skipped. Restore verifies every checksum before it writes a
single byte, so a tampered or truncated archive restores nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from polyarb._version import __version__
from polyarb.errors import PolyarbError
from polyarb.recording.writer import sha256_file

FORMAT = "polyarb-backup/1"
MANIFEST = "MANIFEST.json"
SOURCES = ("profiles", "config", "reports", "recordings")
"""Top-level folders a backup takes (those that exist)."""


class BackupError(RuntimeError, PolyarbError):
    """A backup or restore that cannot proceed; nothing half-done is left behind."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    skipped_secrets: int


def _is_secret(rel: PurePosixPath) -> bool:
    return any(part == ".env" or part.endswith(".env") or part.startswith(".env.")
               for part in rel.parts)  # fmt: skip


def _wanted(rel: PurePosixPath, include_frames: bool) -> bool:
    if rel.parts[0] == "recordings" and "frames" in rel.parts[:-1] and not include_frames:
        return False
    return not rel.name.endswith((".tmp", ".partial"))


def collect(root: Path, include_frames: bool = False) -> tuple[list[PurePosixPath], int]:
    """Files to back up (sorted, relative to ``root``) and how many secret files were skipped."""
    files: list[PurePosixPath] = []
    skipped = 0
    for top in SOURCES:
        base = root / top
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if p.is_symlink() or not p.is_file():
                continue
            rel = PurePosixPath(p.relative_to(root).as_posix())
            if _is_secret(rel):
                skipped += 1
            elif _wanted(rel, include_frames):
                files.append(rel)
    if (root / ".env").exists():
        skipped += 1
    return files, skipped


def default_name(now_s: float) -> str:
    return time.strftime("polyarb-backup-%Y%m%dT%H%M%SZ.tar.gz", time.gmtime(now_s))


def create_backup(
    root: Path,
    out: Path | None = None,
    include_frames: bool = False,
    now_s: float | None = None,
) -> BackupResult:
    """Write the archive (default ``root/backups/polyarb-backup-<UTC>.tar.gz``)."""
    now = time.time() if now_s is None else now_s
    if out is None:
        out = root / "backups" / default_name(now)
    elif out.is_dir() or not out.name.endswith((".tar.gz", ".tgz")):
        out = out / default_name(now)
    if out.exists():
        raise BackupError(f"{out} already exists; refusing to overwrite a backup")
    files, skipped = collect(root, include_frames)
    if not files:
        raise BackupError(f"nothing to back up under {root} (looked in {', '.join(SOURCES)})")
    entries: list[dict[str, Any]] = [
        {"path": str(rel), "size": (root / rel).stat().st_size, "sha256": sha256_file(root / rel)}
        for rel in files
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "polyarb_version": __version__,
        "include_frames": include_frames,
        "secrets": f"{skipped} secret file(s) skipped by design; contents never stored",
        "files": entries,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(now), 0o644
            tar.addfile(info, io.BytesIO(data))
            for rel in files:
                tar.add(root / rel, arcname=str(rel), recursive=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(out, len(files), sum(int(e["size"]) for e in entries), skipped)


def _safe(name: str) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise BackupError(f"unsafe path {name!r} in archive; refusing to restore")
    return rel


def verify(archive: Path) -> dict[str, Any]:
    """Check the manifest and every file's size and sha256; return the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            if MANIFEST not in names:
                raise BackupError(f"{archive}: no {MANIFEST}; not a polyarb backup")
            mf = tar.extractfile(MANIFEST)
            manifest = json.loads(mf.read()) if mf else {}
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{archive}: unknown format {manifest.get('format')!r}")
            expected = {e["path"]: e for e in manifest["files"]}
            seen: set[str] = set()
            for m in members:
                if m.name == MANIFEST:
                    continue
                _safe(m.name)
                if not m.isfile():
                    raise BackupError(f"{archive}: {m.name} is not a regular file; refusing")
                if m.name not in expected:
                    raise BackupError(f"{archive}: {m.name} is not in the manifest (tampered)")
                f = tar.extractfile(m)
                digest = hashlib.sha256(f.read() if f else b"").hexdigest()
                if digest != expected[m.name]["sha256"] or m.size != expected[m.name]["size"]:
                    raise BackupError(
                        f"{archive}: checksum mismatch for {m.name}: the archive is tampered "
                        "or corrupt; nothing restored"
                    )
                seen.add(m.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(f"{archive}: {len(missing)} file(s) missing, e.g. {missing[0]}")
    except (OSError, tarfile.TarError, EOFError, ValueError, KeyError) as exc:
        raise BackupError(f"{archive}: unreadable archive: {exc}") from None
    return manifest


def restore(archive: Path, to: Path, force: bool = False) -> dict[str, Any]:
    """Verify everything, then write the files under ``to`` (refuses to overwrite unless forced)."""
    manifest = verify(archive)
    clashes = [e["path"] for e in manifest["files"] if (to / e["path"]).exists()]
    if clashes and not force:
        raise BackupError(
            f"{to}: {len(clashes)} file(s) already exist (e.g. {clashes[0]}); use --force to overwrite"
        )
    with tarfile.open(archive, "r:gz") as tar:
        for e in manifest["files"]:
            rel = _safe(e["path"])
            src = tar.extractfile(str(rel))
            data = src.read() if src else b""
            if hashlib.sha256(data).hexdigest() != e["sha256"]:  # changed since verify()
                raise BackupError(f"{archive}: {rel} changed during restore")
            target = to / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return manifest
