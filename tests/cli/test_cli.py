"""The command line: help everywhere, clear errors, sensible exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from polyarb.cli import build_parser, main


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[attr-defined]


def test_console_script_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "polyarb", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("import", "sessions"):
        assert command in out


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert len(capsys.readouterr().out) > 100


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_sessions_json(bundled_recordings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "--json", "--recordings", str(bundled_recordings)]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["resolvedkit-btc15m"]["markets"] == 18
    assert rows["resolvedkit-btc15m"]["assets"] == 36
    assert rows["resolvedkit-btc15m"]["span"] == "5h00m18s"
    assert rows["crossing-burst-2026-09-29"]["frames"] > 51


def test_sessions_table(bundled_recordings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "--recordings", str(bundled_recordings)]) == 0
    out = capsys.readouterr().out
    assert "resolvedkit-btc15m" in out and "56,371" in out


def test_sessions_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "--recordings", str(tmp_path)]) == 0
    assert "polyarb import resolvedkit" in capsys.readouterr().out


def test_import_missing_data_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["import", "burst", "--data", str(tmp_path / "nowhere"), "--recordings", str(tmp_path)]
    )
    assert code == 2
    assert "shared data folder not found" in capsys.readouterr().err


def test_import_burst_cli(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "burst", "--data", str(shared_data), "--recordings", str(tmp_path)]) == 0
    assert "imported crossing-burst-2026-09-29" in capsys.readouterr().out
    assert (tmp_path / "crossing-burst-2026-09-29" / "manifest.json").is_file()
