"""Hostile config files: the one YAML loader refuses them quickly with one clear line."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from polyarb.alerts.rules import AlertRulesError, load_alert_rules
from polyarb.analytics.promotion import PromotionConfigError, load_rules
from polyarb.cli import main
from polyarb.config.profile import ProfileError, load_profile
from polyarb.configfile import MAX_BYTES, MAX_DEPTH, load_yaml

REPO = Path(__file__).resolve().parents[2]


def _bomb() -> str:
    """The classic "billion laughs": nine levels of nine aliases, about 520 bytes."""
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [{', '.join('*' + prev for _ in range(9))}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    """Issue 18 item 4: a ~520-byte alias bomb used to expand to ~387 million values when a
    profile was validated (minutes, gigabytes); now composing stops at MAX_NODES values. The
    bound is memory, not time: the peak allocation stays tiny."""
    bomb = _bomb()
    assert 400 < len(bomb) < 600
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ProfileError, match="aliases are expanded"):
            load_profile(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_ordinary_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2]}\nother: *b\nmore: {<<: *b, z: 3}\n")
    data = load_yaml(path, ValueError, "test")
    assert data["other"] == {"x": 1, "y": [1, 2]} and data["more"]["z"] == 3


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(ValueError, match="recursive anchor"):
        load_yaml(path, ValueError, "test")


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(
    " " * i + "a:\n" for i in range(1, 400)
)])  # fmt: skip
def test_deep_nesting_is_a_clear_error(tmp_path: Path, text: str) -> None:
    """Issue 18 item 4: 5,000 nested brackets raised RecursionError out of the YAML composer."""
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(AlertRulesError, match=f"{path}.*(nested deeper than {MAX_DEPTH})"):
        load_alert_rules(path)


def test_non_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Issue 18 item 4: Latin-1 bytes raised a bare UnicodeDecodeError naming no file."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(
        PromotionConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\)"
    ) as e:
        load_rules(path)
    assert str(e.value).startswith(str(path))


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(ProfileError, match="larger than"):
        load_profile(path)


def test_devices_and_fifos_are_refused(tmp_path: Path) -> None:
    """Issue 18 item 4: ``/dev/zero`` was read until memory ran out, a FIFO blocked forever.
    Both are refused from a stat before anything is opened."""
    with pytest.raises(ProfileError, match="/dev/zero: cannot read profile: not a regular file"):
        load_profile(Path("/dev/zero"))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ProfileError, match="not a regular file"):
        load_profile(fifo)
    link = tmp_path / "link.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ProfileError, match="not a regular file"):
        load_profile(link)


def test_cli_says_one_line_on_hostile_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``profiles show`` exits 1 for an invalid profile (its documented code), no traceback."""
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    assert main(["profiles", "show", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bomb.yaml" in err and "Traceback" not in err
    assert main(["profiles", "show", "/dev/zero"]) == 1
    assert "not a regular file" in capsys.readouterr().err


def test_env_file_that_is_a_device_is_refused() -> None:
    """The .env reader shares the loader's file checks: ``--env-file /dev/zero`` was read until
    memory ran out."""
    from polyarb.env import EnvError, read_env

    with pytest.raises(EnvError, match="/dev/zero: cannot read secrets file: not a regular file"):
        read_env("/dev/zero")
