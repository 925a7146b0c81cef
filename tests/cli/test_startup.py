"""The CLI starts without importing the heavy modules its commands need only when they run."""

from __future__ import annotations

import subprocess
import sys

from polyarb.cli import build_parser
from polyarb.recording.compact import ARCHIVE_LEVEL
from polyarb.recording.schema import LIVE_COMPRESSION_LEVEL

# web3 alone took over half a second to import; pyarrow (+numpy) and pydantic most of the rest
HEAVY = ("web3", "eth_account", "matplotlib", "duckdb", "pyarrow", "pandas", "numpy", "numba", "llvmlite",
         "pydantic", "rich", "yaml", "websockets", "aiohttp", "dask", "distributed", "fsspec", "s3fs")  # fmt: skip


def _imported_after(argv: list[str]) -> list[str]:
    code = (
        "import contextlib, sys\n"
        "from polyarb.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        "print('MODULES:' + ','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()[-1].removeprefix("MODULES:").split(",")


def test_help_does_not_import_web3_or_other_heavy_adapters() -> None:
    """Issue 16 item 6: before, --help loaded pyarrow via backup/sessions/record, pydantic via profiles."""
    modules = _imported_after(["--help"])
    heavy = sorted({m for m in modules if m.split(".")[0] in HEAVY})
    assert heavy == [], heavy
    loaded = sorted(m for m in modules if m.startswith("polyarb.") and ".cli" not in m)
    # only the leaf helpers the parsers need; no engine, recording, ops, alerts or config
    assert loaded == ["polyarb._version", "polyarb.errors", "polyarb.names", "polyarb.units"]


def test_command_help_loads_nothing_heavy_either() -> None:
    for command in ("replay", "record", "sessions"):
        modules = _imported_after([command, "--help"])
        assert not [m for m in modules if m.split(".")[0] in HEAVY], command


def test_defaults_spelled_out_in_help_match_the_constants() -> None:
    """The zstd levels are written into help texts so --help need not import pyarrow."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    record = sub.choices["record"].format_help()  # type: ignore[attr-defined]
    assert f"(default {LIVE_COMPRESSION_LEVEL}: fastest" in record
    sessions = sub.choices["sessions"]  # type: ignore[attr-defined]
    actions = next(a for a in sessions._actions if a.choices)
    compact = actions.choices["compact"].format_help()
    assert f"default {ARCHIVE_LEVEL})" in " ".join(compact.split())
