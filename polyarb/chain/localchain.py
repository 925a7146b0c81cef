"""A real local JSON-RPC chain (ganache from ``tools/chain``) for tests and rehearsals.

It binds 127.0.0.1 only, on a free port, with the chain id you ask for, and
funds the throwaway keys you pass. ``scripts/install-system-deps.sh`` installs
it with ``npm ci``; nothing here downloads anything.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from polyarb.errors import PolyarbError

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "chain"
GANACHE_CLI = TOOLS / "node_modules" / "ganache" / "dist" / "node" / "cli.js"


class LocalChainError(RuntimeError, PolyarbError):
    """ganache is not installed or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalChain:
    """``with LocalChain(chain_id=137, accounts={key_hex: wei}) as chain: chain.url``."""

    def __init__(self, chain_id: int = 137, accounts: dict[str, int] | None = None) -> None:
        self.chain_id = chain_id
        self.accounts = accounts or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalChain:
        if not GANACHE_CLI.is_file():
            raise LocalChainError(
                f"ganache not installed at {GANACHE_CLI}: run 'bash scripts/install-system-deps.sh'"
            )
        cmd = [
            "node",
            str(GANACHE_CLI),
            "--chain.chainId",
            str(self.chain_id),
            "--server.host",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--logging.quiet",
            "--miner.instamine",
            "eager",
            "--chain.hardfork",
            "shanghai",
        ]
        for key, wei in self.accounts.items():
            cmd += ["--wallet.accounts", f"{key},{wei}"]
        if not self.accounts:
            cmd += ["--wallet.totalAccounts", "1"]
        # The keys travel on the command line of a child we own, on loopback, in tests only.
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise LocalChainError(f"ganache exited with {self._proc.returncode}: {err[-500:]}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.close()
        raise LocalChainError("ganache did not answer eth_chainId within 30 s")

    def _answers(self) -> bool:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        req = urllib.request.Request(self.url, body.encode(), {"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=1) as resp:
                return int(json.load(resp)["result"], 16) == self.chain_id
        except (OSError, ValueError, KeyError):
            return False

    def close(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc and self._proc.stderr:
            self._proc.stderr.close()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


ARTIFACTS: dict[str, str] = {
    "ConditionalTokens": "@gnosis.pm/conditional-tokens-contracts/build/contracts/ConditionalTokens.json",
    "ERC20PresetMinterPauser": "@openzeppelin/contracts/build/contracts/ERC20PresetMinterPauser.json",
}
"""Published compiled artifacts (npm, pinned in ``tools/chain/package-lock.json``) we deploy."""


def artifact(name: str) -> tuple[list[dict[str, object]], str]:
    """``(abi, bytecode)`` of a published artifact under ``tools/chain/node_modules``."""
    path = TOOLS / "node_modules" / ARTIFACTS[name]
    if not path.is_file():
        raise LocalChainError(
            f"contract artifact {path} missing: run 'bash scripts/install-system-deps.sh'"
        )
    data = json.loads(path.read_text())
    return data["abi"], str(data["bytecode"])


def _send(url: str, key: str, tx: dict[str, object]) -> dict[str, object]:
    """Sign locally with ``key`` and wait for the receipt (instamine: immediate)."""
    from eth_account import Account
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url))
    acct = Account.from_key(key)
    tx = {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address),
          "chainId": w3.eth.chain_id, "gasPrice": w3.eth.gas_price, **tx}  # fmt: skip
    tx.setdefault("gas", w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
    signed = Account.sign_transaction(tx, key)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    if receipt["status"] != 1:
        raise LocalChainError(f"transaction reverted: {receipt}")
    return dict(receipt)


def _deploy(url: str, key: str, name: str, *args: object) -> str:
    from web3 import Web3

    abi, bytecode = artifact(name)
    factory = Web3(Web3.HTTPProvider(url)).eth.contract(abi=abi, bytecode=bytecode)
    data = factory.constructor(*args).build_transaction({"gas": 8_000_000, "gasPrice": 0})["data"]
    receipt = _send(url, key, {"data": data, "gas": 8_000_000})
    return str(receipt["contractAddress"])


def _transact(url: str, key: str, name: str, address: str, fn: str, *args: object) -> None:
    from web3 import Web3

    abi, _ = artifact(name)
    c = Web3(Web3.HTTPProvider(url)).eth.contract(
        address=Web3.to_checksum_address(address), abi=abi
    )
    _send(url, key, {"to": c.address, "data": c.encode_abi(fn, list(args))})


def deploy_token(url: str, key: str, supply: int) -> str:
    """Deploy OpenZeppelin's ``ERC20PresetMinterPauser`` and mint ``supply`` base units to ``key``.

    A stand-in for pUSD: amounts are base units, which we read as micro units like pUSD's.
    """
    from eth_account import Account

    token = _deploy(url, key, "ERC20PresetMinterPauser", "Test pUSD", "tPUSD")
    _transact(
        url, key, "ERC20PresetMinterPauser", token, "mint", Account.from_key(key).address, supply
    )
    return token


def approve(url: str, key: str, token: str, spender: str, value: int) -> None:
    from web3 import Web3

    spender = Web3.to_checksum_address(spender)
    _transact(url, key, "ERC20PresetMinterPauser", token, "approve", spender, value)


def transfer(url: str, key: str, token: str, to: str, value: int) -> None:
    """ERC-20 ``transfer`` from ``key``'s address (a test drains or refunds a wallet)."""
    from web3 import Web3

    _transact(
        url, key, "ERC20PresetMinterPauser", token, "transfer", Web3.to_checksum_address(to), value
    )


def deploy_ctf(url: str, key: str) -> str:
    """Deploy Gnosis' ``ConditionalTokens`` (the contract Polymarket runs on Polygon)."""
    return _deploy(url, key, "ConditionalTokens")


def prepare_condition(url: str, key: str, ctf: str, oracle: str, question_id: bytes) -> str:
    """``prepareCondition(oracle, questionId, 2)``; returns the condition id (0x hex)."""
    from web3 import Web3

    oracle = Web3.to_checksum_address(oracle)
    _transact(url, key, "ConditionalTokens", ctf, "prepareCondition", oracle, question_id, 2)
    abi, _ = artifact("ConditionalTokens")
    c = Web3(Web3.HTTPProvider(url)).eth.contract(address=Web3.to_checksum_address(ctf), abi=abi)
    cid: bytes = c.functions.getConditionId(oracle, question_id, 2).call()
    return "0x" + cid.hex()


def report_payouts(
    url: str, oracle_key: str, ctf: str, question_id: bytes, payouts: list[int]
) -> None:
    """Resolve a condition as its oracle: ``reportPayouts(questionId, payouts)``."""
    _transact(url, oracle_key, "ConditionalTokens", ctf, "reportPayouts", question_id, payouts)
