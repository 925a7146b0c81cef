"""The core (execution, ledger, risk) must not pull in network, chain or database adapters."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "websockets",
    "urllib.request",
    "http.client",
    "web3",
    "duckdb",
    "polyarb.book",
    "polyarb.feed",
    "polyarb.venues",
    "polyarb.chain",
)


def test_core_imports_no_adapter() -> None:
    code = (
        "import sys, polyarb.execution, polyarb.ledger, polyarb.risk\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
