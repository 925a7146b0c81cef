"""The public API: pinned exports, one error base, and the README's replay snippet runs.

Before, ``polyarb`` exported only ``__version__`` and its 20 exception classes shared
no base, so every name and class check below failed.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import polyarb
from polyarb.errors import PolyarbError

REPO = Path(__file__).resolve().parents[2]

EXPORTS = [
    "AlertRulesError",
    "Engine",
    "FixedPointError",
    "LedgerError",
    "MetadataError",
    "PolyarbError",
    "Profile",
    "ProfileError",
    "SessionError",
    "SessionReader",
    "SessionWriter",
    "StoreError",
    "__version__",
    "default_profile",
    "load_profile",
    "replay",
    "replay_many",
]


def test_exports_are_pinned_and_resolve() -> None:
    assert polyarb.__all__ == EXPORTS
    for name in EXPORTS:
        assert getattr(polyarb, name) is not None, name
    assert polyarb.Engine.__name__ == "Engine"
    assert issubclass(polyarb.ProfileError, PolyarbError)


def test_import_polyarb_stays_light() -> None:
    code = (
        "import sys, polyarb\n"
        "print(','.join(m for m in ('pyarrow', 'duckdb', 'pydantic', 'msgspec', 'web3') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _all_modules() -> list[str]:
    names = ["polyarb"]
    for info in pkgutil.walk_packages(polyarb.__path__, "polyarb."):
        names.append(info.name)
    return names


def test_every_exception_derives_from_polyarb_error() -> None:
    """Every exception class defined under polyarb, public or not, has PolyarbError as a base."""
    found = []
    for name in _all_modules():
        if name == "polyarb.__main__":
            continue
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                found.append(cls)
    assert len(found) >= 20
    bad = [f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, PolyarbError)]
    assert not bad, f"not derived from PolyarbError: {bad}"


def test_errors_keep_their_builtin_base() -> None:
    """``except ValueError`` around a profile load still works."""
    assert issubclass(polyarb.ProfileError, ValueError)
    assert issubclass(polyarb.SessionError, ValueError)
    assert issubclass(polyarb.StoreError, RuntimeError)


def _readme_snippet() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Replay from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under 'Replay from Python'"
    return match.group(1)


def test_readme_replay_snippet_runs(copy_session, tmp_path, monkeypatch) -> None:
    snippet = _readme_snippet()
    assert len(snippet.strip().splitlines()) <= 5
    copy_session("crossing-burst-2026-09-29")  # into tmp_path/recordings
    (tmp_path / "profiles").symlink_to(REPO / "profiles")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLYARB_RECORDINGS", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "README.md", "exec"), {})
    printed = out.getvalue()
    assert "opportunities" in printed and "decisions_sha256" in printed
    assert os.path.join("recordings", "crossing-burst-2026-09-29", "runs") in printed
