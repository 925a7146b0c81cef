"""Ids that become folders are plain names: one rule (``NAME_RE``) for every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.cli.common import NAME_MAX, NAME_RE

REPO = Path(__file__).resolve().parents[2]
BAD = ["..", "../escape", "a/b", "/tmp/abs", ".hidden", "-flag", "", "x" * (NAME_MAX + 1), "a\nb"]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize(
    "command",
    [
        ["record", "--url", "ws://127.0.0.1:9/", "--duration", "1", "--session="],
        [
            "shadow",
            "--profile",
            str(REPO / "profiles" / "live_shadow_atomic_v1.yaml"),
            "--url",
            "ws://127.0.0.1:9/",
            "--duration",
            "1",
            "--session=",
        ],
        ["replay", "--session", "resolvedkit-btc15m", "--run-id="],
    ],
    ids=["record", "shadow", "replay"],
)
def test_folder_ids_must_be_plain_names(
    command: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18 item 3: ``..``, separators, absolute paths, hidden and over-long names exit 2
    naming the argument, and nothing is created (record and shadow took any --session before,
    so ``../escape`` made a session folder outside --recordings)."""
    recordings = tmp_path / "work" / "recordings"
    recordings.mkdir(parents=True)
    before = _tree(tmp_path)
    *head, flag = command  # "--session=NAME" so a name starting with "-" reaches the check
    code = main([*head, flag + name, "--recordings", str(recordings)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert ("--run-id" if command[0] == "replay" else "--session") in err
    assert "plain name" in err and "Traceback" not in err
    assert _tree(tmp_path) == before


def test_name_rule_accepts_ordinary_ids_and_matches_the_dashboard() -> None:
    """The dashboard's id rule is the same object, so every name the CLI makes it can open."""
    from polyarb.dashboard.api import ID_RE

    assert ID_RE is NAME_RE
    for ok in ("rec-20260101-000000", "shadow_1", "a", "x" * NAME_MAX, "v1.2"):
        assert NAME_RE.fullmatch(ok)
