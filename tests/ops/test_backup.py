"""Backup → restore round trip byte for byte; tampering is refused; secrets never archived."""

from __future__ import annotations

import filecmp
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.ops.backup import BackupError, create_backup, restore, verify

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture
def live_root(tmp_path: Path, shared_data: Path) -> Path:
    """A project folder with real profiles, a real session (frames + a run) and a .env."""
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(REPO / "profiles", root / "profiles")
    # Only the small real session: importing every bundled one would triple the test time.
    from polyarb.recording.imports import import_burst

    import_burst(shared_data, root / "recordings")
    (session,) = (root / "recordings").iterdir()
    run = session / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"run_id": "r1"}\n')
    (run / "alerts.jsonl").write_text('{"rule":"CIRCUIT_BREAKER_OPEN"}\n')
    (root / "reports" / "go_no_go").mkdir(parents=True)
    (root / "reports" / "go_no_go" / "latest.json").write_text('{"status": "PASS"}\n')
    (root / ".env").write_text("POLYARB_PRIVATE_KEY=SECRETVALUE123\n")
    os.chmod(root / ".env", 0o600)
    (root / "profiles" / "local.env").write_text("TOKEN=SECRETVALUE456\n")
    return root


def test_round_trip_is_byte_identical_without_frames(live_root: Path, tmp_path: Path) -> None:
    res = create_backup(live_root, now_s=1_790_000_000)
    assert res.path == live_root / "backups" / "polyarb-backup-20260921T141320Z.tar.gz"
    out = tmp_path / "restored"
    restore(res.path, out)
    original = {
        k: v
        for k, v in _tree(live_root).items()
        if "/frames/" not in k and not k.endswith(".env") and not k.startswith("backups/")
    }
    assert original and _tree(out) == original
    assert any(k.endswith("runs/r1/alerts.jsonl") for k in original)
    assert any(k.endswith("markets.parquet") for k in original)
    assert not any("/frames/" in k for k in _tree(out))


def test_include_frames_backs_up_raw_frames_too(live_root: Path, tmp_path: Path) -> None:
    res = create_backup(live_root, out=tmp_path / "b.tar.gz", include_frames=True)
    out = tmp_path / "restored"
    restore(res.path, out)
    frames = [k for k in _tree(out) if "/frames/" in k]
    assert frames
    for k in frames:
        assert filecmp.cmp(live_root / k, out / k, shallow=False)


def test_secrets_are_never_archived(live_root: Path) -> None:
    res = create_backup(live_root)
    assert res.skipped_secrets == 2
    raw = res.path.read_bytes()
    with tarfile.open(res.path) as tar:
        names = tar.getnames()
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())
    assert not any(n.endswith(".env") for n in names)
    assert b"SECRETVALUE" not in blob and b"SECRETVALUE" not in raw
    assert "never stored" in manifest["secrets"]
    assert all(len(e["sha256"]) == 64 for e in manifest["files"])


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy an archive, letting ``change(name, data)`` alter member contents."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()
            data = change(m.name, data)
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))


def test_tampered_file_is_refused_and_nothing_restored(
    live_root: Path, tmp_path: Path, capsys
) -> None:
    good = create_backup(live_root).path
    bad = tmp_path / "bad.tar.gz"
    _rewrite(
        good,
        bad,
        lambda n, d: d.replace(b"2.00", b"9.00") if n.endswith("live_safe_atomic_v1.yaml") else d,
    )
    out = tmp_path / "restored"
    assert main(["restore", str(bad), "--to", str(out)]) == 1
    err = capsys.readouterr().err
    assert "checksum mismatch for profiles/live_safe_atomic_v1.yaml" in err and "tampered" in err
    assert not out.exists()
    with pytest.raises(BackupError, match="checksum mismatch"):
        verify(bad)


def test_extra_or_missing_member_is_refused(live_root: Path, tmp_path: Path) -> None:
    good = create_backup(live_root).path
    extra = tmp_path / "extra.tar.gz"
    with tarfile.open(good) as tin, tarfile.open(extra, "w:gz") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m))
        info = tarfile.TarInfo("profiles/evil.yaml")
        info.size = 3
        tout.addfile(info, io.BytesIO(b"x: 1"[:3]))
    with pytest.raises(BackupError, match="not in the manifest"):
        verify(extra)
    missing = tmp_path / "missing.tar.gz"
    with tarfile.open(good) as tin, tarfile.open(missing, "w:gz") as tout:
        for m in tin.getmembers():
            if not m.name.endswith("alerts.production.yaml"):
                tout.addfile(m, tin.extractfile(m))
    with pytest.raises(BackupError, match="missing"):
        verify(missing)


def test_truncated_archive_is_refused(live_root: Path, tmp_path: Path) -> None:
    good = create_backup(live_root).path
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BackupError, match="unreadable archive"):
        verify(cut)


def test_cli_backup_restore_and_refuse_overwrite(live_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["backup", "--root", str(live_root), "--json"]) == 0
    archive = Path(json.loads(capsys.readouterr().out)["archive"])
    assert archive.parent == live_root / "backups" and archive.name.startswith("polyarb-backup-")
    out = tmp_path / "r"
    assert main(["restore", str(archive), "--to", str(out)]) == 0
    assert main(["restore", str(archive), "--to", str(out)]) == 1
    assert "already exist" in capsys.readouterr().err
    assert main(["restore", str(archive), "--to", str(out), "--force"]) == 0
    assert main(["restore", str(archive), "--verify-only"]) == 0
    assert main(["restore", str(tmp_path / "nope.tar.gz"), "--to", str(out)]) == 2
    assert main(["backup", "--root", str(tmp_path / "empty")]) == 1


def test_backup_age_feeds_go_no_go(live_root: Path) -> None:
    from polyarb.ops.gonogo import GoNoGoInputs, run_checks

    res = create_backup(live_root)
    checks = {
        c.name: c
        for c in run_checks(GoNoGoInputs(phase=0, root=live_root, backups=res.path.parent))
    }
    assert checks["last_backup"].status == "PASS" and res.path.name in checks["last_backup"].detail


def test_a_backup_without_frames_says_so_on_restore_and_on_checks(
    live_root: Path, tmp_path: Path, capsys
) -> None:
    """Issue 15 item 8: restoring a backup made without --include-frames names the sessions
    restored without frames; `sessions check` and `parity` on such a session say "frames not
    restored" (exit 1) instead of CLEAN or a bare path. Old code: silent restore, CLEAN."""
    assert main(["backup", "--root", str(live_root), "--json"]) == 0
    archive = Path(json.loads(capsys.readouterr().out)["archive"])
    out = tmp_path / "r"
    assert main(["restore", str(archive), "--to", str(out)]) == 0
    (session,) = (out / "recordings").iterdir()
    said = capsys.readouterr().out
    assert "without --include-frames" in said and session.name in said
    recordings = str(out / "recordings")
    assert main(["sessions", "check", session.name, "--recordings", recordings]) == 1
    err = capsys.readouterr()
    assert "frames not restored" in err.err and "CLEAN" not in err.out
    assert main(["parity", "--session", session.name, "--recordings", recordings]) == 1
    assert "frames not restored" in capsys.readouterr().err
    # With the frames, nothing is said and the session checks as before.
    full_out = ["--out", str(tmp_path / "full.tar.gz")]
    assert main(["backup", "--root", str(live_root), "--include-frames", *full_out, "--json"]) == 0
    full = Path(json.loads(capsys.readouterr().out)["archive"])
    assert main(["restore", str(full), "--to", str(tmp_path / "f")]) == 0
    assert "without --include-frames" not in capsys.readouterr().out
    rec = str(tmp_path / "f" / "recordings")
    assert main(["sessions", "check", session.name, "--recordings", rec]) == 0
