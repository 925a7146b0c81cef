"""Issue 18 item 2: a session is confined to its folder and verified against its manifest.

Each test here fails on the code before the fix: parts were found by globbing
``frames/`` (the manifest's list, sizes and SHA-256 were never compared), a
``parts[].file`` of ``../../x`` was followed by ``sessions compact``, and a
recorder that never connected got a CLEAN certificate.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.recording.reader import SessionError, SessionReader
from polyarb.recording.writer import SessionWriter

BURST = "crossing-burst-2026-09-29"


def _session(copy_session, tmp_path: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    folder = copy_session(BURST)
    return folder, folder / "frames" / "part-000000.parquet"


def _manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "manifest.json").read_text())


def _write_manifest(folder: Path, data: object) -> None:
    (folder / "manifest.json").write_text(json.dumps(data))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_part_outside_the_folder_is_refused_and_compact_writes_nothing_outside(
    copy_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """A manifest naming ../../x is refused by every reader; compact never touches x."""
    folder, part = _session(copy_session, tmp_path)
    outside = tmp_path / "victim.parquet"
    shutil.copy(part, outside)
    before = outside.read_bytes()
    m = _manifest(folder)
    m["parts"][0]["file"] = "../../victim.parquet"
    _write_manifest(folder, m)
    with pytest.raises(SessionError, match="victim"):
        SessionReader(folder)
    rec = str(folder.parent)
    for argv in (
        ["sessions", "compact", BURST, "--recordings", rec],
        ["sessions", "check", BURST, "--recordings", rec],
        ["replay", "--session", BURST, "--recordings", rec],
    ):
        code, err = _run(argv, capsys)
        assert code == 2, argv
        assert "victim.parquet" in err and err.count("\n") == 1
    assert outside.read_bytes() == before
    assert not (folder / "runs").exists()


def test_a_symlinked_part_leading_out_is_refused(copy_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, part = _session(copy_session, tmp_path)
    outside = tmp_path / "elsewhere.parquet"
    part.rename(outside)
    part.symlink_to(outside)
    with pytest.raises(SessionError, match="outside"):
        SessionReader(folder).part_paths()


@pytest.mark.parametrize("damage", ["missing", "extra", "truncated", "same-size-changed"])
def test_missing_extra_or_changed_parts_are_errors_naming_the_part(
    damage: str, copy_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """sessions check, replay and serve refuse, naming the part; never CLEAN, never 0 frames."""
    folder, part = _session(copy_session, tmp_path)
    name = part.name
    if damage == "missing":
        part.unlink()
    elif damage == "extra":
        name = "part-000007.parquet"
        shutil.copy(part, folder / "frames" / name)
    elif damage == "truncated":
        part.write_bytes(part.read_bytes()[:-100])
    else:
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size, same footer: only the SHA-256 can tell
        part.write_bytes(bytes(data))
    rec = str(folder.parent)
    for argv in (
        ["sessions", "check", BURST, "--recordings", rec, "--strict"],
        ["replay", "--session", BURST, "--recordings", rec],
        ["serve", "--session", BURST, "--recordings", rec, "--port", "0", "--exit-at-end"],
    ):
        code, err = _run(argv, capsys)
        assert code == 2, (argv, err)
        assert name in err, err
    assert not (folder / "runs").exists()


def test_a_never_connected_session_is_not_clean(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """0 opened, errors only, subscribed assets without a snapshot: issues, --strict exits 1."""
    with SessionWriter(tmp_path, "down") as writer:
        writer.set_assets(["111", "222"])
        for i in range(3):
            writer.append("error", json.dumps({"conn": 0, "error": "refused"}), i, i, 0)
    code = main(["sessions", "check", "down", "--recordings", str(tmp_path), "--strict"])
    out = capsys.readouterr().out
    assert code == 1
    assert "CLEAN" not in out and "never connected" in out
    assert "2 assets without a snapshot" in out


def test_the_bundled_sessions_stay_clean_and_whole(bundled_recordings: Path) -> None:
    """The checks accept what the writer wrote: every bundled part verifies."""
    for folder in sorted(bundled_recordings.iterdir()):
        reader = SessionReader(folder)
        assert reader.problem() is None
        assert reader.verify()


@pytest.fixture
def full_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 4 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    import subprocess

    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        pytest.skip("cannot mount a small tmpfs here")
    (mount / "filler").write_bytes(b"x" * 4096)
    yield mount
    # Lazy: a file the failed replay left open in this process would make a plain umount
    # fail ("target is busy") and leave the mount behind after every run.
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_in_replay_is_one_line_and_exit_1(
    copy_session, tmp_path: Path, full_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Issue 18 item 6: a run folder on a full disk ends as one line naming the file, exit 1."""
    folder, _ = _session(copy_session, tmp_path)
    (folder / "runs").symlink_to(full_disk)
    code = main(["replay", "--session", BURST, "--recordings", str(folder.parent)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "No space left on device" in err


def test_compact_never_writes_through_a_planted_temp_symlink(copy_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Temp names that are symlinks out of the folder are replaced, never written through."""
    from polyarb.recording.compact import compact_session

    folder, part = _session(copy_session, tmp_path)
    victims = [tmp_path / "victim-part", tmp_path / "victim-manifest"]
    for victim in victims:
        victim.write_text("keep me")
    (folder / "frames" / f"{part.name}.tmp").symlink_to(victims[0])
    (folder / "manifest.json.tmp").symlink_to(victims[1])
    compact_session(folder)
    assert [v.read_text() for v in victims] == ["keep me", "keep me"]
    assert SessionReader(folder).verify()


def test_a_part_list_cut_short_is_not_a_replay_of_zero_frames(
    copy_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Parts and their list both gone, the frame count left: an error, not 0 frames replayed."""
    folder, part = _session(copy_session, tmp_path)
    part.unlink()
    m = _manifest(folder)
    m["parts"] = []
    _write_manifest(folder, m)
    code, err = _run(["replay", "--session", BURST, "--recordings", str(folder.parent)], capsys)
    assert code == 2 and "frames but its parts hold 0" in err
