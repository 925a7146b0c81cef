"""The CLI starts without importing the heavy edge adapters it does not need."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("web3", "eth_account", "matplotlib", "duckdb", "dask", "distributed", "fsspec", "s3fs")


def test_help_does_not_import_web3_or_other_heavy_adapters() -> None:
    # web3 alone took over half a second to import, paid by every command before.
    code = (
        "import contextlib, sys\n"
        "from polyarb.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "HEAVY:"
