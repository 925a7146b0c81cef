"""Sessions on object storage: push/pull with checksums and --recordings s3://, on a loopback S3."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sweep_support import SESSIONS, write_sweep

from polyarb.cli import main
from polyarb.recording.storage import CHECKSUMS, filesystem
from polyarb.sweep.grid import load_sweep
from polyarb.sweep.run import run_sweep

URL = "s3://polyarb-test/recordings"

NEGRISK = [
    "--profile",
    str(Path(__file__).resolve().parents[2] / "profiles" / "live_shadow_negrisk_v1.yaml"),
]
"""The neg-risk profile trades the plants (the $2 default sizes under the venue minimums)."""


@pytest.fixture(scope="module")
def bucket(s3_server: str, sweep_recordings: Path) -> str:
    """A bucket on the loopback server with every test session pushed by the CLI (read-only)."""
    fs, _ = filesystem("s3://polyarb-test")
    fs.mkdir("polyarb-test")
    args = ["sessions", "push", URL, *SESSIONS, "--recordings", str(sweep_recordings)]
    assert main(args) == 0
    return URL


def test_push_writes_checksums_and_pull_verifies_them(
    bucket: str, sweep_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """push uploads data files + SHA256SUMS (not runs); pull copies them back byte for byte."""
    fs, root = filesystem(bucket)
    sums = fs.cat_file(f"{root}/negrisk-a/{CHECKSUMS}").decode()
    assert "manifest.json" in sums and "frames/part-" in sums and "runs/" not in sums
    capsys.readouterr()
    assert (
        main(["sessions", "push", bucket, "negrisk-a", "--recordings", str(sweep_recordings)]) == 0
    )
    assert "up to date" in capsys.readouterr().out
    dest = tmp_path / "pulled"
    assert main(["sessions", "pull", bucket, "--recordings", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == sorted(SESSIONS)
    for rel in [line.split("  ", 1)[1] for line in sums.splitlines()]:
        assert (dest / "negrisk-a" / rel).read_bytes() == (
            sweep_recordings / "negrisk-a" / rel
        ).read_bytes()


def test_corrupt_object_is_detected_by_checksum(
    bucket: str, sweep_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One flipped byte in a frames part: pull exits 1 naming the object; nothing is left behind."""
    bucket = bucket.rsplit("/", 1)[0] + "/corrupt"  # its own prefix: the shared one stays intact
    assert (
        main(["sessions", "push", bucket, "negrisk-b", "--recordings", str(sweep_recordings)]) == 0
    )
    fs, root = filesystem(bucket)
    part = sorted(fs.glob(f"{root}/negrisk-b/frames/part-*.parquet"))[0]
    data = bytearray(fs.cat_file(part))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(part, bytes(data))
    dest = tmp_path / "pulled"
    assert main(["sessions", "pull", bucket, "negrisk-b", "--recordings", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "negrisk-b/frames/part-" in err and "checksum mismatch" in err
    assert not (dest / "negrisk-b").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".pull")]
    assert main(["sessions", "pull", bucket, "../negrisk-b", "--recordings", str(dest)]) == 2
    assert "not a session id" in capsys.readouterr().err
    # replay through --recordings s3:// refuses the corrupt session the same way
    assert main(["replay", "--session", "negrisk-b", "--recordings", bucket]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_replay_sessions_and_sql_read_s3(
    bucket: str, sweep_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--recordings s3://… works for sessions, replay (same decisions as local) and sql."""
    capsys.readouterr()
    assert main(["sessions", "--json", "--recordings", bucket]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == sorted(SESSIONS)
    assert (
        main(["replay", "--json", "--session", "negrisk-a", "--recordings", bucket, *NEGRISK]) == 0
    )
    remote = json.loads(capsys.readouterr().out)
    local_copy = tmp_path / "local"
    assert main(["sessions", "pull", bucket, "negrisk-a", "--recordings", str(local_copy)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "replay",
                "--json",
                "--session",
                "negrisk-a",
                "--recordings",
                str(local_copy),
                *NEGRISK,
            ]
        )
        == 0
    )
    local = json.loads(capsys.readouterr().out)
    assert remote["decisions_sha256"] == local["decisions_sha256"]
    assert remote["summary"]["decisions"] > 0
    assert (
        main(["sql", "--json", "SELECT count(*) AS n FROM sessions", "--recordings", bucket]) == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": len(SESSIONS)}]


def test_sweep_over_s3_matches_local(bucket: str, sweep_recordings: Path, tmp_path: Path) -> None:
    """A sweep with --recordings s3://… gives the same cells as one over the local folder."""
    sessions = ["negrisk-a"]
    local = run_sweep(
        load_sweep(write_sweep(tmp_path, "s3-local")),
        sweep_recordings,
        scheduler="serial",
        sessions=sessions,
    )
    remote = run_sweep(
        load_sweep(write_sweep(tmp_path, "s3-remote")),
        bucket,
        scheduler="serial",
        sessions=sessions,
    )
    strip = ("sweep",)
    rows = [
        {k: v for k, v in r.items() if k not in strip}
        for r in pq.read_table(str(local.results)).to_pylist()
    ]
    assert rows == [
        {k: v for k, v in r.items() if k not in strip}
        for r in pq.read_table(str(remote.results)).to_pylist()
    ]
    assert remote.results.is_relative_to(Path(__import__("os").environ["POLYARB_CACHE"]))
    fs, root = filesystem(bucket)
    for row in pq.read_table(str(remote.results)).to_pylist():
        run = json.loads(fs.cat_file(f"{root}/{row['session_id']}/runs/{row['run_id']}/run.json"))
        assert run["decisions_sha256"] == row["decisions_sha256"], "the run is back in the bucket"


def test_commands_without_object_storage_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A command that needs a local folder rejects s3:// with exit 2 instead of a traceback."""
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "compact", "x", "--recordings", URL])
    assert exc.value.code == 2
    assert "needs a local folder" in capsys.readouterr().err
