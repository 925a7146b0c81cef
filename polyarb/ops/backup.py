"""Backups: one tar.gz of profiles, config, reports and run outputs, with sha256 per file.

Raw frames are left out by default (they are large and the recorder's own
sessions are the primary copy); ``include_frames`` adds them. Secrets never
enter an archive: a file is skipped when its name says it is a secrets file
(``.env``, ``.envrc``, ``.env~``, ``id_ecdsa``, ``*.pem``...) or when its content
holds a private key, a mnemonic, a keystore or an API secret (:func:`secret_in`);
the manifest lists what was skipped and why, never the content. Archives are
written mode 600 and record each file's mode.

Restore is all or nothing. It reads the archive once to verify every member
(streamed, so a 1 GB member costs a buffer, not a gigabyte): the path must be one
a backup could contain (under ``profiles/``, ``config/``, ``reports/`` or
``recordings/``, no secrets, no ``..``), the size and sha256 must match the
manifest. Then it checks the destination: no symbolic link anywhere below
``--to`` (existing or dangling), no clash without ``--force``, enough free
space. Only then does it write, every file first to a temp file beside its
target; if any of those fails (a full disk) they are all removed and no existing
file has changed. The temp files then replace their targets by rename.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from polyarb._version import __version__
from polyarb.env import SECRET_VARS
from polyarb.errors import PolyarbError

FORMAT = "polyarb-backup/1"
MANIFEST = "MANIFEST.json"
SOURCES = ("profiles", "config", "reports", "recordings")
"""Top-level folders a backup takes (those that exist), and the only ones restore writes."""
CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 64 << 20
_BLOCK = 4096
"""Free-space preflight rounds every file up to a block and counts one per folder."""


class BackupError(RuntimeError, PolyarbError):
    """A backup or restore that cannot proceed; nothing half-done is left behind."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    skipped: tuple[tuple[str, str], ...] = field(default=())
    """(path, reason) of every file left out as a secret."""

    @property
    def skipped_secrets(self) -> int:
        return len(self.skipped)


# --- what counts as a secret -------------------------------------------------------------

_SECRET_NAMES = re.compile(
    r"""(?ix)
    ^\.env(?:rc)?(?:[.~_-].*)?$ | .*\.env(?:[.~].*)?$      # .env, .envrc, .env~, .env.local, x.env
    | ^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$               # ssh private keys (not the .pub)
    | .*\.(?:pem|key|p12|pfx|keystore)$
    | ^utc--.*--[0-9a-f]{40}$                              # geth keystore file names
    """
)
_HEX_KEY = rb"(?:0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])"
_VARS = b"|".join(re.escape(v.encode()) for v in sorted(SECRET_VARS))
_SECRET_CONTENT: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes]], ...] = (
    # (reason, words the match starts with (found with bytes.find, far faster than a
    # case-insensitive regex scan; none: search the whole chunk), pattern)
    ("a PEM private key", (), re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    # 0x + 64 hex named as a key (condition ids and hashes are 64 hex too, so the name matters)
    (
        "a private key",
        (b"priv", b"secret", b"seed", b"key"),
        re.compile(
            rb"(?i)(?:priv|secret|seed|key)[a-z0-9_.\-\"']{0,40}\s*[=:]\s*[\"']?" + _HEX_KEY
        ),
    ),
    (
        "an API secret",
        (b"api", b"secret", b"token", b"passphrase", b"password"),
        re.compile(
            rb"(?i)(?:api[_-]?(?:key|secret|passphrase|token)|secret[_-]?key|client[_-]?secret"
            rb"|access[_-]?token|auth[_-]?token|passphrase|password)[a-z0-9_\-\"']{0,30}"
            rb"\s*[=:]\s*[\"']?[A-Za-z0-9+/_.~=-]{12,}"
        ),
    ),
    (
        "a secret variable",
        (),
        re.compile(rb"(?m)^\s*(?:export\s+)?(?:" + _VARS + rb")\s*=\s*[\"']?[^\s\"'#]"),
    ),
)
_KEY_FILE = re.compile(rb"\A\s*" + _HEX_KEY + rb"\s*\Z")
"""A file that is nothing but a key."""
_MNEMONIC = (
    # a whole line (optionally NAME= or NAME: and quotes) or a quoted value of lowercase words
    re.compile(
        rb"(?m)^[ \t]*(?:(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*[=:][ \t]*)?[\"']?"
        rb"((?:[a-z]{3,8}[ \t]+){11,23}[a-z]{3,8})[\"']?[ \t]*,?[ \t]*\r?$"
    ),
    re.compile(rb"[\"']((?:[a-z]{3,8} ){11,23}[a-z]{3,8})[\"']"),
)
_MNEMONIC_LENGTHS = {12, 15, 18, 21, 24}


@functools.cache
def _bip39_words() -> frozenset[bytes]:
    """The BIP39 English word list (shipped with eth-account, which web3 brings); empty if
    absent, and then the shape of the words alone decides."""
    try:
        text = (
            resources.files("eth_account.hdaccount.wordlist").joinpath("english.txt").read_bytes()
        )
    except (ImportError, OSError):
        return frozenset()
    return frozenset(text.split())


def _is_mnemonic(words: list[bytes]) -> bool:
    known = _bip39_words()
    return len(words) in _MNEMONIC_LENGTHS and (not known or all(w in known for w in words))


_KEYSTORE = (re.compile(rb'"(?:crypto|Crypto)"\s*:'), re.compile(rb'"ciphertext"\s*:'))
_OVERLAP = 4096
_PARQUET_MAGIC = b"PAR1"


def _found(data: bytes, low: bytes, words: tuple[bytes, ...], pattern: re.Pattern[bytes]) -> bool:
    if not words:
        return pattern.search(data) is not None
    for word in words:
        at = low.find(word)
        while at >= 0:
            if pattern.match(data, at):
                return True
            at = low.find(word, at + 1)
    return False


def secret_name(rel: PurePosixPath) -> str | None:
    """Why a path is a secrets file by its name alone, or None."""
    for part in rel.parts:
        if _SECRET_NAMES.match(part):
            return "a secrets file by name"
    return None


class SecretScanner:
    """Fed a file's bytes in chunks; ``reason`` says what secret it holds, if any.

    Heuristics by content, tuned so real polyarb output (64-hex condition ids, token
    ids, reports in prose) does not trip them: a 64-hex value counts only when a key
    name stands before it or it is the whole file; a mnemonic is 12-24 BIP39 words that
    make up a whole line or a quoted value. Parquet files (frame
    parts, run tables) are not scanned.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._tail = b""
        self._keystore = [False, False]
        self._head = b""
        self._size = 0
        self._parquet = False

    def feed(self, chunk: bytes) -> None:
        if self.reason is not None or self._parquet:
            return
        if self._size == 0 and chunk.startswith(_PARQUET_MAGIC):
            # Frame parts and run tables: compressed columns, where the text secrets looked
            # for cannot be seen and scanning would cost more than the backup itself.
            self._parquet = True
            return
        self._size += len(chunk)
        if len(self._head) < 256:
            self._head += chunk[: 256 - len(self._head)]
        data = self._tail + chunk
        self._tail = data[-_OVERLAP:]
        low = data.lower()
        for reason, words, pattern in _SECRET_CONTENT:
            if _found(data, low, words, pattern):
                self.reason = reason
                return
        for pattern in _MNEMONIC:
            for m in pattern.finditer(data):
                if _is_mnemonic(m.group(1).split()):
                    self.reason = "a mnemonic"
                    return
        for i, pattern in enumerate(_KEYSTORE):
            self._keystore[i] = self._keystore[i] or bool(pattern.search(data))
        if all(self._keystore):
            self.reason = "a keystore"

    def done(self) -> str | None:
        if self.reason is None and self._size <= 256 and _KEY_FILE.match(self._head):
            self.reason = "a private key"
        return self.reason


def secret_in(path: Path) -> str | None:
    """What secret the file at ``path`` holds by name or content, or None."""
    return secret_name(PurePosixPath(path.name)) or _hash_and_scan(path)[2]


def _hash_and_scan(path: Path) -> tuple[int, str, str | None]:
    digest = hashlib.sha256()
    scanner = SecretScanner()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            scanner.feed(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), scanner.done()


# --- backup --------------------------------------------------------------------------------


def _wanted(rel: PurePosixPath, include_frames: bool) -> bool:
    if rel.parts[0] == "recordings" and "frames" in rel.parts[:-1] and not include_frames:
        return False
    return not rel.name.endswith((".tmp", ".partial"))


def collect(
    root: Path, include_frames: bool = False
) -> tuple[list[PurePosixPath], list[tuple[str, str]]]:
    """Candidate files (sorted, relative to ``root``) and the ones skipped as secrets by name."""
    files: list[PurePosixPath] = []
    skipped: list[tuple[str, str]] = []
    for top in SOURCES:
        base = root / top
        if base.is_symlink() or not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if p.is_symlink() or not p.is_file():
                continue
            rel = PurePosixPath(p.relative_to(root).as_posix())
            reason = secret_name(rel)
            if reason:
                skipped.append((str(rel), reason))
            elif _wanted(rel, include_frames):
                files.append(rel)
    for p in sorted(root.glob(".env*")):
        if p.is_file() and secret_name(PurePosixPath(p.name)):
            skipped.append((p.name, "a secrets file by name"))
    return files, skipped


def default_name(now_s: float) -> str:
    return time.strftime("polyarb-backup-%Y%m%dT%H%M%SZ.tar.gz", time.gmtime(now_s))


def create_backup(
    root: Path,
    out: Path | None = None,
    include_frames: bool = False,
    now_s: float | None = None,
) -> BackupResult:
    """Write the archive (default ``root/backups/polyarb-backup-<UTC>.tar.gz``), mode 600."""
    now = time.time() if now_s is None else now_s
    if out is None:
        out = root / "backups" / default_name(now)
    elif out.is_dir() or not out.name.endswith((".tar.gz", ".tgz")):
        out = out / default_name(now)
    if out.exists() or out.is_symlink():
        raise BackupError(f"{out} already exists; refusing to overwrite a backup")
    if out.parent.exists() and not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a folder; cannot write {out.name} there")
    files, skipped = collect(root, include_frames)
    entries: list[dict[str, Any]] = []
    try:
        for rel in files:
            size, digest, reason = _hash_and_scan(root / rel)
            if reason:
                skipped.append((str(rel), f"holds {reason}"))
                continue
            mode = stat.S_IMODE((root / rel).stat().st_mode)
            entries.append({"path": str(rel), "size": size, "sha256": digest, "mode": mode})
    except OSError as exc:
        raise BackupError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    if not entries:
        raise BackupError(f"nothing to back up under {root} (looked in {', '.join(SOURCES)})")
    skipped.sort()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "polyarb_version": __version__,
        "include_frames": include_frames,
        "secrets": f"{len(skipped)} secret file(s) skipped by design; contents never stored",
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "files": entries,
    }
    tmp = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask: an archive holds the whole configuration
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(now), 0o600
            tar.addfile(info, io.BytesIO(data))
            for e in entries:
                tar.add(root / e["path"], arcname=e["path"], recursive=False)
        tmp.replace(out)
    except (OSError, tarfile.TarError) as exc:
        what = getattr(exc, "strerror", None) or exc
        raise BackupError(f"cannot write {out}: {what}; no archive written") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    size = sum(int(e["size"]) for e in entries)
    return BackupResult(out, len(entries), size, tuple(skipped))


# --- verify --------------------------------------------------------------------------------


def restorable(name: str) -> PurePosixPath:
    """``name`` as a path restore may write, or BackupError: only what a backup may contain."""
    rel = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\0" in name
        or rel.is_absolute()
        or str(rel) != name  # "a//b", "a/./b", trailing "/": not as a backup writes it
        or any(part in (".", "..") for part in rel.parts)
    ):
        raise BackupError(f"unsafe path {name!r} in archive; refusing to restore")
    if len(rel.parts) < 2 or rel.parts[0] not in SOURCES:
        raise BackupError(
            f"{name!r} is outside {', '.join(s + '/' for s in SOURCES)}: not something a backup "
            "contains; refusing to restore"
        )
    if secret_name(rel) or not _wanted(rel, include_frames=True):
        raise BackupError(f"{name!r} is a file a backup never contains; refusing to restore")
    return rel


def _entries(archive: Path, manifest: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BackupError(f"{archive}: unknown format {got!r}; not a polyarb backup")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise BackupError(f"{archive}: {MANIFEST} has no list of files")
    out: dict[str, dict[str, Any]] = {}
    for e in files:
        ok = (
            isinstance(e, dict)
            and isinstance(e.get("path"), str)
            and type(e.get("size")) is int
            and e["size"] >= 0
            and isinstance(e.get("sha256"), str)
            and (e.get("mode") is None or type(e.get("mode")) is int)
        )
        if not ok:
            raise BackupError(f"{archive}: malformed entry in {MANIFEST}: {str(e)[:120]}")
        restorable(e["path"])
        if e["path"] in out:
            raise BackupError(f"{archive}: {e['path']} listed twice in {MANIFEST}")
        out[e["path"]] = e
    return out


def _chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    src = tar.extractfile(member)
    if src is None:
        return
    while chunk := src.read(CHUNK):
        yield chunk


def _mode(entry: dict[str, Any], member: tarfile.TarInfo) -> int:
    mode = entry.get("mode")
    return stat.S_IMODE(member.mode if mode is None else mode) & 0o777


def _members(archive: Path, tar: tarfile.TarFile) -> tuple[dict[str, Any], Iterator[Any]]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise BackupError(f"{archive}: no {MANIFEST} first; not a polyarb backup")
    if first.size > MAX_MANIFEST_BYTES:
        raise BackupError(f"{archive}: {MANIFEST} larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    src = tar.extractfile(first)
    try:
        manifest = json.loads(src.read() if src else b"")
    except ValueError:
        raise BackupError(
            f"{archive}: {MANIFEST} is not valid JSON; not a polyarb backup"
        ) from None
    return manifest, (m for m in tar if m is not first)


def verify(archive: Path) -> dict[str, Any]:
    """Check the manifest and every member's path, size, sha256 and content; return the manifest.

    Streams each member in 1 MiB chunks; refuses any path restore would not write
    and any file holding a secret.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest, members = _members(archive, tar)
            expected = _entries(archive, manifest)
            seen: set[str] = set()
            for m in members:
                if m.name == MANIFEST:
                    raise BackupError(f"{archive}: a second {MANIFEST}; refusing")
                restorable(m.name)
                if not m.isfile():
                    raise BackupError(f"{archive}: {m.name} is not a regular file; refusing")
                if m.name not in expected:
                    raise BackupError(f"{archive}: {m.name} is not in the manifest (tampered)")
                if m.name in seen:
                    raise BackupError(f"{archive}: {m.name} appears twice (tampered)")
                e = expected[m.name]
                if e.get("mode") is not None and stat.S_IMODE(m.mode) != e["mode"]:
                    raise BackupError(f"{archive}: mode of {m.name} differs from the manifest")
                digest = hashlib.sha256()
                scanner = SecretScanner()
                for chunk in _chunks(tar, m):
                    digest.update(chunk)
                    scanner.feed(chunk)
                if digest.hexdigest() != e["sha256"] or m.size != e["size"]:
                    raise BackupError(
                        f"{archive}: checksum mismatch for {m.name}: the archive is tampered "
                        "or corrupt; nothing restored"
                    )
                reason = scanner.done()
                if reason:
                    raise BackupError(
                        f"{archive}: {m.name} holds {reason}; a backup never contains secrets, "
                        "refusing to restore"
                    )
                seen.add(m.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(f"{archive}: {len(missing)} file(s) missing, e.g. {missing[0]}")
    except (OSError, tarfile.TarError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{archive}: unreadable archive: {exc}") from None
    return manifest


# --- restore -------------------------------------------------------------------------------


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _preflight(to: Path, entries: list[dict[str, Any]], force: bool) -> None:
    """Symlinks, clashes and free space, before anything is written."""
    st = _lstat(to)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        raise BackupError(f"{to}: {kind}; refusing to restore into it")
    checked: dict[PurePosixPath, bool] = {}  # folder -> exists
    clashes: list[str] = []
    need = 0
    for e in entries:
        rel = PurePosixPath(e["path"])
        for depth in range(1, len(rel.parts)):
            folder = PurePosixPath(*rel.parts[:depth])
            if folder in checked:
                continue
            fst = _lstat(to / folder)
            if fst is None:
                checked[folder] = False
                need += _BLOCK
                continue
            if stat.S_ISLNK(fst.st_mode):
                raise BackupError(
                    f"{to / folder} is a symbolic link; restore never writes through one"
                )
            if not stat.S_ISDIR(fst.st_mode):
                raise BackupError(f"{to / folder} is not a folder; refusing to restore")
            checked[folder] = True
        fst = _lstat(to / rel)
        if fst is not None:
            if stat.S_ISLNK(fst.st_mode):
                raise BackupError(
                    f"{to / rel} is a symbolic link; restore never writes through one"
                )
            if not stat.S_ISREG(fst.st_mode):
                raise BackupError(f"{to / rel} is not a regular file; refusing to restore")
            clashes.append(e["path"])
        need += -(-int(e["size"]) // _BLOCK) * _BLOCK + _BLOCK
    if clashes and not force:
        raise BackupError(
            f"{to}: {len(clashes)} file(s) already exist (e.g. {clashes[0]}); use --force to overwrite"
        )
    base = to
    while not base.exists():
        base = base.parent
    free = shutil.disk_usage(base).free
    if free < need:
        raise BackupError(
            f"{to}: not enough free space ({free:,} bytes free, {need:,} needed); nothing restored"
        )


class _Stage:
    """Temp files beside their targets, opened through folder fds that never follow links."""

    def __init__(self, to: Path) -> None:
        self.to = to
        self.made_root = False
        self.dirs: dict[PurePosixPath, int] = {}
        self.made: list[tuple[PurePosixPath, str]] = []  # (parent, name) of folders created
        self.temps: list[tuple[PurePosixPath, str, str]] = []  # (folder, temp name, final name)

    def open_root(self) -> None:
        try:
            os.mkdir(self.to)
            self.made_root = True
        except FileExistsError:
            pass
        self.dirs[PurePosixPath()] = os.open(self.to, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)

    def folder(self, rel: PurePosixPath) -> int:
        if rel in self.dirs:
            return self.dirs[rel]
        parent = self.folder(rel.parent)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW  # ELOOP/ENOTDIR on a link
        try:
            fd = os.open(rel.name, flags, dir_fd=parent)
        except FileNotFoundError:
            os.mkdir(rel.name, 0o755, dir_fd=parent)
            self.made.append((rel.parent, rel.name))
            fd = os.open(rel.name, flags, dir_fd=parent)
        self.dirs[rel] = fd
        return fd

    def write(self, rel: PurePosixPath, chunks: Iterator[bytes], mode: int, mtime: int) -> str:
        dfd = self.folder(rel.parent)
        tmp = f".restore-{os.getpid()}-{len(self.temps)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
        self.temps.append((rel.parent, tmp, rel.name))
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fchmod(fh.fileno(), mode)  # exactly the recorded mode, whatever the umask
            with contextlib.suppress(OSError, OverflowError, ValueError):  # a header's odd time
                os.utime(fh.fileno(), (mtime, mtime))
            os.fsync(fh.fileno())
        return digest.hexdigest()

    def commit(self) -> None:
        for folder, tmp, name in self.temps:
            dfd = self.dirs[folder]
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)  # replaces, never follows
        self.temps.clear()
        for fd in self.dirs.values():
            os.fsync(fd)

    def rollback(self) -> None:
        for folder, tmp, _ in self.temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self.dirs[folder])
        for parent, name in reversed(self.made):
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=self.dirs[parent])
        self.close()
        if self.made_root:
            with contextlib.suppress(OSError):
                os.rmdir(self.to)

    def close(self) -> None:
        for fd in self.dirs.values():
            os.close(fd)
        self.dirs.clear()


def restore(archive: Path, to: Path, force: bool = False) -> dict[str, Any]:
    """Verify everything, then write the files under ``to`` all or nothing (see module doc)."""
    manifest = verify(archive)
    entries = {e["path"]: e for e in manifest["files"]}
    to = Path(os.path.abspath(to))
    _preflight(to, list(entries.values()), force)
    stage = _Stage(to)
    try:
        stage.open_root()
        with tarfile.open(archive, "r:gz") as tar:
            _, members = _members(archive, tar)
            for m in members:
                e = entries[m.name]
                got = stage.write(PurePosixPath(m.name), _chunks(tar, m), _mode(e, m), m.mtime)
                if got != e["sha256"]:
                    raise BackupError(f"{archive}: {m.name} changed during restore")
        stage.commit()
    except BaseException as exc:
        stage.rollback()
        if isinstance(exc, OSError):
            what = exc.strerror or exc
            where = f" ({exc.filename})" if exc.filename else ""
            raise BackupError(
                f"{to}: {what}{where}; nothing restored, existing files unchanged"
            ) from None
        if isinstance(exc, (tarfile.TarError, EOFError, KeyError)):
            raise BackupError(f"{archive}: unreadable archive during restore: {exc}") from None
        raise
    stage.close()
    return manifest
