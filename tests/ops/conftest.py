"""A production-like project folder in tmp, and a real local chain with a token and approvals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from polyarb.chain.localchain import LocalChain, approve, deploy_ctf, deploy_token, free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Wallet:
    url: str
    key: str
    address: str
    token: str
    spenders: list[str]


def _key() -> str:
    k = Account.create().key.hex()  # throwaway, generated at run time
    return k if k.startswith("0x") else "0x" + k


@pytest.fixture(scope="session")
def wallet137() -> Iterator[Wallet]:
    key = _key()
    with LocalChain(137, {key: 10**20}) as chain:
        token = deploy_token(chain.url, key, 1_000 * 10**6)
        # The real Conditional Tokens contract (published artifact) is one spender, as the
        # CTF collateral adapter is on Polygon; the other is a plain address.
        spenders = [deploy_ctf(chain.url, key), Account.create().address]
        for s in spenders:
            approve(chain.url, key, token, s, 500 * 10**6)
        yield Wallet(chain.url, key, Account.from_key(key).address, token, spenders)


@pytest.fixture(scope="session")
def wallet_wrong_chain() -> Iterator[Wallet]:
    key = _key()
    with LocalChain(1, {key: 10**20}) as chain:
        yield Wallet(chain.url, key, Account.from_key(key).address, "", [])


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """``project(wallet=None, env=...)``: a git checkout-like folder ready for go-no-go."""

    made = iter(range(100))

    def make(wallet: Wallet | None = None, phase: int = 1, **env: str) -> Path:
        root = tmp_path / f"proj{next(made)}"
        shutil.copytree(REPO / "profiles", root / "profiles")
        (root / ".gitignore").write_text(".env\n")
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        backups = root / "backups"
        backups.mkdir()
        (backups / "polyarb-backup-20260101T000000Z.tar.gz").write_bytes(b"x")
        (root / "reports" / "promotion").mkdir(parents=True)
        (root / "reports" / "promotion" / "latest.json").write_text(
            json.dumps({"phase": phase, "verdict": "GO"})
        )
        values = {
            "POLYARB_DRY_RUN": "false" if phase else "true",
            "POLYARB_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook-SECRETHOOK",
        }
        if wallet is not None:
            values |= {
                "POLYGON_RPC_URL": f"{wallet.url}/?apikey=SECRETRPCKEY",
                "POLYARB_PRIVATE_KEY": wallet.key,
            }
            if wallet.token:
                values |= {
                    "POLYARB_COLLATERAL_TOKEN": wallet.token,
                    "POLYARB_ALLOWANCE_SPENDERS": ",".join(wallet.spenders),
                }
        values |= env
        path = root / ".env"
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items() if v is not None))
        os.chmod(path, 0o600)
        return root

    return make


@pytest.fixture
def go(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict, str]]:
    """Run ``polyarb go-no-go --json`` on a root; return (exit code, result, raw output)."""
    from polyarb.cli import main

    def run(root: Path, phase: int, *extra: str) -> tuple[int, dict, str]:
        rc = main(
            [
                "go-no-go",
                "--phase",
                str(phase),
                "--root",
                str(root),
                "--json",
                "--port",
                str(free_port()),
                "--rpc-timeout",
                "2",
                *extra,
            ]
        )
        out = capsys.readouterr()
        raw = out.out + out.err
        return rc, (json.loads(out.out) if out.out.strip() else {}), raw

    return run
