"""Restore writes only what a backup may contain, only under --to, all or nothing; backups keep
secrets out by content and keep file modes (issue 18, items 1 and 7)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.ops import backup
from polyarb.ops.backup import FORMAT, MANIFEST, BackupError, create_backup, restore, verify

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
MNEMONIC = "abandon ability able about above absent absorb abstract absurd abuse access accident"
CONDITION = "0x" + "ab" * 32  # 64 hex, as every market id is: never a secret by itself


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}  # fmt: skip


def _archive(path: Path, files: dict[str, bytes], mode: int = 0o644) -> Path:
    """A well-formed archive (manifest and checksums right) holding exactly ``files``."""
    entries = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in files.items()
    ]
    manifest = {"format": FORMAT, "created_utc": "2026-01-01T00:00:00Z", "files": entries}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [(MANIFEST, json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "name",
    [
        ".venv/lib/python3.11/site-packages/evil.pth",
        ".git/hooks/pre-commit",
        "/tmp/abs.yaml",
        "../outside.yaml",
        "profiles/../../outside.yaml",
        "profiles/./x.yaml",
        "config/.env",
        "config/.env~",
        "profiles/id_ecdsa",
        "evil.yaml",
        "recordings",
    ],
)
def test_restore_refuses_what_a_backup_never_holds(tmp_path: Path, name: str) -> None:
    """Only profiles/, config/, reports/ and recordings/ paths that the secret filter lets through
    are restored; anything else (a .pth that Python would run, a git hook...) refuses the whole
    archive before a byte is written. The old restore took any relative path without '..'."""
    archive = _archive(
        tmp_path / "a.tar.gz", {"profiles/ok.yaml": b"name: ok\n", name: b"import os\n"}
    )
    to = tmp_path / "to"
    with pytest.raises(BackupError, match="refusing"):
        restore(archive, to)
    assert not to.exists()
    assert not (tmp_path / "outside.yaml").exists()


@pytest.mark.parametrize(
    "content",
    [
        f"POLYARB_PRIVATE_KEY={KEY}\n".encode(),
        f'{{"mnemonic": "{MNEMONIC}"}}\n'.encode(),
        b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n",
        b'{"version": 3, "crypto": {"ciphertext": "00", "kdf": "scrypt"}}\n',
        b"api_secret: 'Zm9vYmFyYmF6cXV4cXV1eA=='\n",
    ],
    ids=["key", "mnemonic", "pem", "keystore", "api-secret"],
)
def test_restore_refuses_members_holding_secrets(tmp_path: Path, content: bytes) -> None:
    """The secret filter applies on the way back too: an archive that holds one is refused."""
    archive = _archive(tmp_path / "a.tar.gz", {"config/notes.yaml": content})
    with pytest.raises(BackupError, match="never contains secrets"):
        verify(archive)
    assert not (tmp_path / "to").exists()


def test_restore_never_follows_a_symlink_in_the_destination(tmp_path: Path) -> None:
    """A link below --to (to a folder, to a file, or dangling) is refused before anything is
    written, so nothing lands outside --to; the old restore wrote straight through them."""
    archive = _archive(
        tmp_path / "a.tar.gz",
        {"profiles/p.yaml": b"new\n", "config/c.yaml": b"new\n", "reports/r.json": b"{}\n"},
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.yaml").write_text("mine\n")

    folder_link = tmp_path / "t1"
    folder_link.mkdir()
    (folder_link / "profiles").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BackupError, match="symbolic link"):
        restore(archive, folder_link, force=True)

    file_link = tmp_path / "t2"
    (file_link / "profiles").mkdir(parents=True)
    (file_link / "profiles" / "p.yaml").symlink_to(outside / "p.yaml")
    with pytest.raises(BackupError, match="symbolic link"):
        restore(archive, file_link, force=True)

    dangling = tmp_path / "t3"
    (dangling / "config").mkdir(parents=True)
    (dangling / "config" / "c.yaml").symlink_to(outside / "created.yaml")
    with pytest.raises(BackupError, match="symbolic link"):
        restore(archive, dangling, force=True)

    assert _tree(outside) == {"p.yaml": b"mine\n"}
    assert not (folder_link / "config").exists() and not (file_link / "config").exists()


def _big_archive(path: Path, size: int) -> Path:
    """An archive with one ``size``-byte frames part (Parquet magic, then zeros), built without
    compressing ``size`` bytes: gzip allows concatenated members, so one compressed MiB of
    zeros is repeated."""
    mib = 1 << 20
    assert size % mib == 0
    first = b"PAR1" + bytes(mib - 4)
    zeros = bytes(mib)
    digest = hashlib.sha256(first)
    for _ in range(size // mib - 1):
        digest.update(zeros)
    name = "recordings/big/frames/part-000000.parquet"
    entry = {"path": name, "size": size, "sha256": digest.hexdigest()}
    manifest = json.dumps({"format": FORMAT, "created_utc": "x", "files": [entry]}).encode()
    head = tarfile.TarInfo(MANIFEST)
    head.size = len(manifest)
    big = tarfile.TarInfo(name)
    big.size = size
    prefix = head.tobuf() + manifest + bytes(-len(manifest) % 512) + big.tobuf()
    packed = gzip.compress(zeros)
    with path.open("wb") as fh:
        fh.write(gzip.compress(prefix + first))
        for _ in range(size // mib - 1):
            fh.write(packed)
        fh.write(gzip.compress(bytes(1024)))  # end-of-archive blocks
    return path


def test_verify_streams_a_1gb_member_in_bounded_memory(tmp_path: Path) -> None:
    """Verification reads members in chunks: the peak Python allocation while checking a 1 GiB
    member stays far below its size (the old verify read each member whole)."""
    archive = _big_archive(tmp_path / "big.tar.gz", 1 << 30)
    assert archive.stat().st_size < 8 << 20
    tracemalloc.start()
    try:
        manifest = verify(archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert manifest["files"][0]["size"] == 1 << 30
    assert peak < 64 << 20, f"peak {peak:,} bytes"


@pytest.fixture
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 1 MiB tmpfs (as tests/recording/test_crash.py mounts one; needs root)."""
    path = tmp_path / "tiny"
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _full_disk_case(tmp_path: Path, tiny: Path) -> tuple[Path, dict[str, bytes]]:
    old = _archive(
        tmp_path / "old.tar.gz",
        {"profiles/a.yaml": b"version: 1\n", "reports/r.json": b'{"v": 1}\n'},
    )
    restore(old, tiny)
    before = _tree(tiny)
    new = _archive(
        tmp_path / "new.tar.gz",
        {
            "profiles/a.yaml": b"version: 2\n",
            "recordings/s/runs/r/big.bin": os.urandom(2 << 20),  # tmpfs is 1 MiB
            "reports/r.json": b'{"v": 2}\n',
        },
    )
    return new, before


def test_full_disk_is_refused_by_the_preflight(
    tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Free space is checked before writing: on a 1 MiB tmpfs a 2 MiB restore changes nothing
    (the old restore overwrote profiles/a.yaml, then died with a traceback half-way)."""
    new, before = _full_disk_case(tmp_path, tiny)
    assert main(["restore", str(new), "--to", str(tiny), "--force"]) == 1
    err = capsys.readouterr().err
    assert "not enough free space" in err and "Traceback" not in err
    assert _tree(tiny) == before
    assert sorted(p.name for p in tiny.rglob("*")) == ["a.yaml", "profiles", "r.json", "reports"]


def test_full_disk_during_writing_leaves_every_file_unchanged(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the preflight is fooled (space taken by someone else meanwhile), running out
    of space while writing removes every temp file and folder it made: existing files keep
    their old bytes, nothing half-restored is left."""
    new, before = _full_disk_case(tmp_path, tiny)
    real = backup.shutil.disk_usage
    monkeypatch.setattr(backup.shutil, "disk_usage", lambda p: real(p)._replace(free=1 << 40))
    with pytest.raises(BackupError, match=r"No space left on device.*nothing restored"):
        restore(new, tiny, force=True)
    assert _tree(tiny) == before
    assert sorted(p.name for p in tiny.rglob("*")) == ["a.yaml", "profiles", "r.json", "reports"]


# --- item 7: secrets by content, modes -------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for folder in ("profiles", "config", "reports", "recordings/s"):
        (root / folder).mkdir(parents=True)
    (root / "profiles" / "p.yaml").write_text(f"name: p\nmarket: '{CONDITION}'\n")
    (root / "config" / "markets.json").write_text(json.dumps({"condition_id": CONDITION}))
    (root / "recordings" / "s" / "manifest.json").write_text('{"sha256": "' + "cd" * 32 + '"}')
    # twelve quoted lowercase words that are not all BIP39 words: prose, not a mnemonic
    (root / "config" / "help.json").write_text(
        '{"help": "anyone who can reach this port can read every session and run"}'
    )
    (root / "reports" / "daily.md").write_text(
        "the session was replayed with the same profile and gave the same numbers again\n"
    )
    secrets = {
        "config/.env~": f"POLYARB_PRIVATE_KEY={KEY}\n",
        "config/.envrc": f"export POLYARB_PRIVATE_KEY={KEY}\n",
        "config/wallet.json": '{"address": "ab", "crypto": {"ciphertext": "ff", "kdf": "x"}}',
        "config/id_ecdsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END\n",
        "config/deploy.txt": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        "config/seed.txt": MNEMONIC + "\n",
        "reports/key.txt": KEY[2:] + "\n",
        "profiles/notes.yaml": f"wallet:\n  private_key: '{KEY}'\n",
        "profiles/api.yaml": "poly:\n  api_secret: c2VjcmV0LXZhbHVlLTEyMzQ1\n",
    }
    for rel, text in secrets.items():
        (root / rel).write_text(text)
    return root


SECRET_FILES = {
    "config/.env~", "config/.envrc", "config/wallet.json", "config/id_ecdsa", "config/deploy.txt",
    "config/seed.txt", "reports/key.txt", "profiles/notes.yaml", "profiles/api.yaml",
}  # fmt: skip


def test_backup_skips_secrets_by_content_and_says_which(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key, mnemonic, keystore, PEM key or API secret keeps a file out whatever its name;
    64-hex market ids and prose do not. The old filter knew only names ending in .env."""
    assert main(["backup", "--root", str(project), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    with tarfile.open(out["archive"]) as tar:
        names = set(tar.getnames())
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert names == {
        MANIFEST, "profiles/p.yaml", "config/markets.json", "config/help.json",
        "recordings/s/manifest.json", "reports/daily.md",
    }  # fmt: skip
    assert KEY[2:].encode() not in blob and b"abandon" not in blob and b"ciphertext" not in blob
    assert {s["path"] for s in out["skipped"]} == SECRET_FILES
    reasons = {s["path"]: s["reason"] for s in out["skipped"]}
    assert reasons["config/seed.txt"] == "holds a mnemonic"
    assert reasons["config/wallet.json"] == "holds a keystore"
    assert main(["backup", "--root", str(project), "--out", str(project / "b2.tar.gz")]) == 0
    text = capsys.readouterr().out
    assert "9 secret file(s) skipped" in text and "config/seed.txt (holds a mnemonic)" in text


def test_archive_is_600_and_restore_keeps_modes(project: Path, tmp_path: Path) -> None:
    """The archive is mode 600 whatever the umask, and a 600 file comes back 600 (the old
    restore wrote every file with the umask's 644 and the archive itself was 644)."""
    os.chmod(project / "profiles" / "p.yaml", 0o600)
    os.chmod(project / "config" / "markets.json", 0o640)
    script = project / "reports" / "run.sh"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o755)
    old = os.umask(0o022)
    try:
        res = create_backup(project)
        assert stat.S_IMODE(res.path.stat().st_mode) == 0o600
        to = tmp_path / "restored"
        restore(res.path, to)
    finally:
        os.umask(old)

    def mode(rel: str) -> int:
        return stat.S_IMODE((to / rel).stat().st_mode)

    assert mode("profiles/p.yaml") == 0o600
    assert mode("config/markets.json") == 0o640
    assert mode("reports/run.sh") == 0o755
    assert mode("reports/daily.md") == 0o644
    # the file was replaced by rename, so even --force over a 644 file gives the recorded mode
    os.chmod(to / "profiles" / "p.yaml", 0o644)
    restore(res.path, to, force=True)
    assert mode("profiles/p.yaml") == 0o600


@pytest.mark.parametrize(
    "manifest",
    [b"[1, 2]", b"\xff\xfe", b'{"format": "polyarb-backup/1", "files": [{"path": 5}]}',
     b'{"format": "polyarb-backup/1", "files": {"a": 1}}', b'{"format": "other"}'],
)  # fmt: skip
def test_malformed_manifest_is_one_line_exit_1(
    tmp_path: Path, manifest: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest that is a list, not UTF-8/JSON, or has malformed entries is refused with one
    line (before: KeyError/TypeError/UnicodeDecodeError tracebacks out of restore)."""
    archive = tmp_path / "m.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    assert main(["restore", str(archive), "--to", str(tmp_path / "to")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m.tar.gz" in err and "Traceback" not in err
    assert not (tmp_path / "to").exists()
