"""Crash safety: SIGKILL at random moments, a full disk, a read-only folder."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from recorder_support import REPO

from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.writer import read_journal
from polyarb.server.thread import ServerThread

FLUSH_S = 0.25
TRIALS = 10


def record_cmd(url: str, recordings: Path, session: str, source: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "polyarb",
        "record",
        "--markets-from",
        str(source),
        "--url",
        url,
        "--recordings",
        str(recordings),
        "--session",
        session,
        "--tick-ms",
        "50",
        "--flush-interval",
        str(FLUSH_S),
        "--no-status",
        *extra,
    ]


def assert_all_readable(session: Path) -> int:
    """Every file but a ``.tmp`` reads back; returns the rows on disk."""
    rows = 0
    for path in sorted(session.rglob("*")):
        if path.is_dir() or path.suffix == ".tmp":
            continue
        if path.name == "manifest.json":
            json.loads(path.read_text())
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            rows += table.num_rows if path.parent.name == "frames" else 0
        elif path.suffix == ".arrows":
            rows += read_journal(path).num_rows
        else:
            raise AssertionError(f"unexpected file {path}")
    return rows


def last_seq_on_disk(session: Path) -> int:
    """The highest ``seq`` readable while the recorder runs (-1: none yet).

    A maximum, not a count: a part being sealed is briefly both journal and Parquet.
    """
    while True:
        try:
            last = -1
            for path in sorted((session / "frames").glob("part-*")):
                if path.suffix == ".parquet":
                    seqs = pq.read_table(path, columns=["seq"]).column("seq").to_pylist()
                elif path.suffix == ".arrows":
                    seqs = read_journal(path).column("seq").to_pylist()
                else:
                    continue
                last = max([last, *seqs])
            return last
        except OSError:  # sealed or renamed under us: look again
            time.sleep(0.01)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_at_most_one_flush(
    bundled_recordings: Path, tmp_path: Path
) -> None:
    source = bundled_recordings / "resolvedkit-btc15m"
    rng = random.Random(20260929)
    with ServerThread(source, speed=200) as server:
        for trial in range(TRIALS):
            session = f"crash{trial}"
            # Tiny parts: kills also land while a part is being sealed.
            cmd = record_cmd(server.url, tmp_path, session, source, "--part-mb", "0.2")
            proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
            frames_dir = tmp_path / session / "frames"
            deadline = time.monotonic() + 30
            while not list(frames_dir.glob("part-*.arrows")):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "recording never started"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.05, 1.5))
            # What has already reached disk just before the kill must all survive it. This
            # is the load-independent half of "at most one flush": a starved store thread
            # flushes late, but never loses what it wrote (a wall-clock bound on the loss
            # failed on a loaded 2-core machine).
            flushed = last_seq_on_disk(tmp_path / session)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            on_disk = assert_all_readable(tmp_path / session)
            assert on_disk > 0
            # The next start recovers the unsealed part and continues the numbering.
            writer = SessionWriter(tmp_path, session)
            assert writer.next_seq == on_disk
            writer.close()
            reader = SessionReader(tmp_path / session)
            frames = list(reader.frames())
            assert [f.seq for f in frames] == list(range(len(frames)))
            assert frames[-1].seq >= flushed >= 0, (trial, frames[-1].seq, flushed)
            assert [f.kind for f in frames[:2]] == ["open", "subscribe"]
            assert reader.manifest["recoveries"] >= 1 or reader.manifest["parts"]


@pytest.mark.slow
def test_restarted_recorder_continues_a_crashed_session(
    bundled_recordings: Path, tmp_path: Path
) -> None:
    source = bundled_recordings / "resolvedkit-btc15m"
    with ServerThread(source, speed=200) as server:
        cmd = record_cmd(server.url, tmp_path, "s", source)
        proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE)
        journal_dir = tmp_path / "s" / "frames"
        deadline = time.monotonic() + 30
        while not list(journal_dir.glob("*.arrows")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)
        proc.kill()
        proc.wait(10)
        before = assert_all_readable(tmp_path / "s")
        again = subprocess.run(
            [*cmd, "--duration", "1.5"], cwd=REPO, capture_output=True, text=True, timeout=60
        )
    assert again.returncode == 0, again.stderr
    assert "recovered" in again.stderr
    reader = SessionReader(tmp_path / "s")
    assert reader.sealed
    frames = list(reader.frames())
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert len(frames) > before
    assert sum(f.kind == "open" for f in frames) == 2
    assert len(reader.markets()) == 18  # unchanged metadata is not written twice


@contextlib.contextmanager
def tmpfs(path: Path, *options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join(["size=1m", *options])
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_is_a_clear_error_and_leaves_readable_files(
    bundled_recordings: Path, tmp_path: Path
) -> None:
    source = bundled_recordings / "resolvedkit-btc15m"
    with tmpfs(tmp_path / "tiny") as tiny, ServerThread(source, speed=None) as server:
        result = subprocess.run(
            record_cmd(server.url, tiny, "full", source),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert "No space left on device" in result.stderr
        assert "Traceback" not in result.stderr
        assert assert_all_readable(tiny / "full") >= 0
        json.loads((tiny / "full" / "manifest.json").read_text())


def test_read_only_folder_is_a_clear_error(bundled_recordings: Path, tmp_path: Path) -> None:
    source = bundled_recordings / "resolvedkit-btc15m"
    with tmpfs(tmp_path / "ro", "ro") as ro:
        result = subprocess.run(
            record_cmd("ws://127.0.0.1:9", ro, "x", source),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "Read-only file system" in result.stderr
        assert "Traceback" not in result.stderr
        assert not any(ro.iterdir())
