"""Sessions on object storage (``s3://bucket/prefix``) through fsspec filesystems.

A session in a bucket is the folder layout of a local one (``manifest.json``,
``markets.parquet``, ``frames/part-*.parquet``) plus ``SHA256SUMS`` (the
``sha256sum`` format), written last by :func:`push_session`. Reading a remote
session pulls it into a local cache (``$POLYARB_CACHE``, default
``~/.cache/polyarb``) and checks every file against ``SHA256SUMS`` before the
copy is used, so a corrupt object is an error, never a silently different
replay. Runs are not pushed: they are reproducible from the session.

The S3 endpoint comes from ``$AWS_ENDPOINT_URL`` (or ``$POLYARB_S3_ENDPOINT``),
credentials from the usual ``AWS_*`` variables; fsspec and s3fs are imported
only here, when a remote location is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from polyarb.errors import PolyarbError

CHECKSUMS = "SHA256SUMS"
"""Checksums object of a pushed session; its presence means the push completed."""


class StorageError(ValueError, PolyarbError):
    """A remote location that cannot be used, or an object that fails its checksum."""


def is_remote(location: Path | str) -> bool:
    """True for ``scheme://`` locations other than plain local paths (``file://``)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def filesystem(url: str) -> tuple[Any, str]:
    """``(fsspec filesystem, path without scheme)`` for ``url``; listings are never cached."""
    import fsspec

    protocol, _, path = url.partition("://")
    options: dict[str, Any] = {}
    if protocol in ("s3", "s3a"):
        endpoint = os.environ.get("POLYARB_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["endpoint_url"] = endpoint
        options["use_listings_cache"] = False
        options["skip_instance_cache"] = True
    try:
        fs = fsspec.filesystem(protocol, **options)
    except (ImportError, ValueError) as exc:
        raise StorageError(f"{url}: cannot open this storage: {exc}") from None
    return fs, path.rstrip("/")


def cache_root(url: str) -> Path:
    """The local folder mirroring ``url``'s sessions (and holding their runs and sweeps)."""
    base = Path(os.environ.get("POLYARB_CACHE") or Path.home() / ".cache" / "polyarb")
    protocol, _, path = url.partition("://")
    return base / protocol / path.strip("/")


def session_files(session_dir: Path) -> list[str]:
    """Relative paths of a session's data files (runs, journals and hidden files excluded)."""
    out = []
    for p in sorted(session_dir.rglob("*")):
        rel = p.relative_to(session_dir).as_posix()
        top = rel.split("/", 1)[0]
        if (
            not p.is_file()
            or top in ("runs", CHECKSUMS)
            or any(s.startswith(".") for s in rel.split("/"))
        ):
            continue
        if p.suffix in (".arrows", ".tmp"):
            continue
        out.append(rel)
    return out


def checksums_text(session_dir: Path, files: list[str]) -> str:
    """``sha256sum``-format lines for ``files`` (``sha256sum -c SHA256SUMS`` verifies a copy)."""
    from polyarb.recording.files import sha256_file

    return "".join(f"{sha256_file(session_dir / f)}  {f}\n" for f in files)


def parse_checksums(text: str, where: str) -> dict[str, str]:
    """``{relative path: hex sha256}`` from ``SHA256SUMS`` text."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        # names come from the bucket: never let one point outside the session folder
        if (
            not sep
            or len(digest) != 64
            or not name
            or name.startswith("/")
            or ".." in name.split("/")
        ):
            raise StorageError(f"{where}: line {n} is not '<sha256>  <path>'")
        out[name] = digest
    return out


def list_remote(url: str) -> dict[str, dict[str, Any]]:
    """``{session id: manifest}`` of every pushed session under ``url`` (sorted by id)."""
    fs, root = filesystem(url)
    out: dict[str, dict[str, Any]] = {}
    try:
        found = sorted(fs.glob(f"{root}/*/{CHECKSUMS}"))
    except (OSError, PermissionError) as exc:
        raise StorageError(f"{url}: cannot list sessions: {exc}") from None
    for path in found:
        folder = path.rsplit("/", 1)[0]
        sid = folder.rsplit("/", 1)[-1]
        try:
            manifest = json.loads(fs.cat_file(f"{folder}/manifest.json"))
        except (OSError, ValueError) as exc:
            raise StorageError(f"{url}/{sid}/manifest.json: cannot read: {exc}") from None
        out[sid] = manifest  # the folder name, as everywhere else (views, pull, sweeps)
    return out


def push_session(session_dir: Path, url: str, *, force: bool = False) -> dict[str, Any]:
    """Copy a sealed session to ``url/<id>/``; ``SHA256SUMS`` last. Skips an identical copy."""
    from polyarb.recording.reader import SessionReader

    reader = SessionReader(session_dir)
    if not reader.sealed:
        raise StorageError(
            f"{session_dir}: session is not sealed (only sealed sessions are pushed)"
        )
    files = session_files(reader.dir)
    sums = checksums_text(reader.dir, files)
    fs, root = filesystem(url)
    target = f"{root}/{reader.dir.name}"
    with contextlib.suppress(FileNotFoundError):
        if not force and fs.cat_file(f"{target}/{CHECKSUMS}").decode() == sums:
            return {
                "session": reader.id,
                "files": len(files),
                "uploaded": 0,
                "url": f"{url}/{reader.dir.name}",
            }
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(f"{target}/{CHECKSUMS}")  # an interrupted re-push must not look complete
    size = 0
    for rel in files:
        fs.put_file(str(reader.dir / rel), f"{target}/{rel}")
        size += (reader.dir / rel).stat().st_size
    fs.pipe_file(f"{target}/{CHECKSUMS}", sums.encode())
    return {
        "session": reader.id,
        "files": len(files),
        "uploaded": len(files),
        "bytes": size,
        "url": f"{url}/{reader.dir.name}",
    }


def verify_dir(folder: Path, sums: dict[str, str], where: str) -> None:
    """Raise :class:`StorageError` naming the first file whose bytes do not match ``sums``."""
    from polyarb.recording.files import sha256_file

    for rel, digest in sums.items():
        path = folder / rel
        if not path.is_file():
            raise StorageError(f"{where}/{rel}: missing")
        actual = sha256_file(path)
        if actual != digest:
            raise StorageError(
                f"{where}/{rel}: checksum mismatch (SHA256SUMS {digest[:12]}…, object {actual[:12]}…): "
                "corrupt or changed object"
            )


def pull_session(url: str, session_id: str, dest_root: Path) -> Path:
    """Copy ``url/<id>/`` into ``dest_root/<id>`` with every file checked; returns the folder.

    An existing copy with the same ``SHA256SUMS`` is reused as it is (its runs kept).
    The download lands in a hidden folder first and is renamed into place only
    after every checksum matched, so a failed pull leaves nothing behind.
    """
    if not session_id or "/" in session_id or session_id.startswith("."):
        raise StorageError(f"session {session_id!r}: not a session id (a plain folder name)")
    fs, root = filesystem(url)
    where = f"{url.rstrip('/')}/{session_id}"
    try:
        text = fs.cat_file(f"{root}/{session_id}/{CHECKSUMS}").decode()
    except FileNotFoundError:
        raise StorageError(f"{where}: no such pushed session (no {CHECKSUMS})") from None
    sums = parse_checksums(text, f"{where}/{CHECKSUMS}")
    dest = dest_root / session_id
    local = dest / CHECKSUMS
    if local.is_file() and local.read_text() == text:
        return dest
    dest_root.mkdir(parents=True, exist_ok=True)
    # unique per call: worker threads of one process may pull the same session at once
    tmp = Path(tempfile.mkdtemp(prefix=f".pull-{session_id}-", dir=dest_root))
    try:
        for rel in sums:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root}/{session_id}/{rel}", str(tmp / rel))
        verify_dir(tmp, sums, where)
        (tmp / CHECKSUMS).write_text(text)
        if dest.exists():
            runs = dest / "runs"
            if runs.is_dir():
                shutil.move(str(runs), str(tmp / "runs"))
            shutil.rmtree(dest)
        try:
            os.rename(tmp, dest)
        except OSError:
            # another process (a second worker on this machine) pulled the same copy first
            if not (local.is_file() and local.read_text() == text):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def local_sessions_root(recordings: Path | str) -> Path:
    """Where sessions of ``recordings`` are read on this machine: the path, or its cache."""
    return cache_root(str(recordings)) if is_remote(recordings) else Path(recordings)


def mirror(url: str) -> Path:
    """Pull every pushed session under ``url`` into its cache; returns the cache root."""
    root = cache_root(url)
    for sid in list_remote(url):
        pull_session(url, sid, root)
    return root
