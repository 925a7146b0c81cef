"""`.env` loading: the only place secrets enter polyarb.

Values are held in :class:`Secret` wrappers whose ``repr``/``str`` never show
them, so a secret that reaches a log line, an exception or a report prints as
``***``. Live phases require the file to be mode 600 (owner read/write only).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from polyarb.errors import PolyarbError

PRIVATE_KEY_VAR = "POLYARB_PRIVATE_KEY"
RPC_URL_VAR = "POLYGON_RPC_URL"
DRY_RUN_VAR = "POLYARB_DRY_RUN"
SECRET_VARS = frozenset({PRIVATE_KEY_VAR, RPC_URL_VAR, "POLYARB_ALERT_WEBHOOK_URL",
                         "POLY_API_KEY", "POLY_API_SECRET", "POLY_API_PASSPHRASE"})  # fmt: skip
"""Variables treated as secrets even when a name does not say so (RPC URLs embed API keys)."""

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_SECP256K1_N = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)


class EnvError(ValueError, PolyarbError):
    """A `.env` that cannot be used; the message never contains a value."""


class Secret:
    """A string that refuses to be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass
class EnvFile:
    path: Path
    mode: int
    values: dict[str, Secret] = field(default_factory=dict)

    @property
    def private_mode(self) -> bool:
        """True when group and others have no access at all (mode 600 or stricter)."""
        return self.mode & 0o077 == 0

    def get(self, name: str) -> Secret | None:
        return self.values.get(name)

    def secret(self, name: str) -> str | None:
        """The revealed value, for the one call that needs it (``notifier_from_env(..., env.secret)``)."""
        v = self.values.get(name)
        return v.reveal() if v is not None else None

    def plain(self, name: str) -> str | None:
        """A non-secret setting (e.g. ``POLYARB_DRY_RUN``); refuses secret names."""
        if name in SECRET_VARS:
            raise EnvError(f"{name} is a secret; use get(...).reveal() where it is needed")
        v = self.values.get(name)
        return v.reveal() if v is not None else None


def read_env(path: Path | str) -> EnvFile:
    """Parse ``KEY=VALUE`` lines (``#`` comments, optional quotes and ``export``)."""
    from polyarb.configfile import read_config_text

    p = Path(path)
    text = read_config_text(p, EnvError, "secrets file")  # regular files only, size-capped
    try:
        st = p.stat()
    except OSError as exc:
        raise EnvError(f"{p}: cannot read: {exc.strerror or exc}") from None
    env = EnvFile(p, stat.S_IMODE(st.st_mode))
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise EnvError(f"{p}:{n}: not a KEY=VALUE line (value not shown)")
        key, value = m.group(1), m.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env.values[key] = Secret(value)
    return env


def require_private(env: EnvFile) -> None:
    """Live trading refuses a `.env` that others can read."""
    if not env.private_mode:
        raise EnvError(f"{env.path}: mode {env.mode:03o}, must be 600: run 'chmod 600 {env.path}'")


def key_address(key: Secret) -> str:
    """Validate a private key's form and derive its address; errors never echo the key."""
    raw = key.reveal().strip()
    if not _KEY.match(raw):
        raise EnvError(
            f"{PRIVATE_KEY_VAR} is malformed: expected 64 hex digits with optional 0x "
            f"(got {len(raw)} characters; value not shown)"
        )
    n = int(raw.removeprefix("0x"), 16)
    if not 0 < n < _SECP256K1_N:
        raise EnvError(f"{PRIVATE_KEY_VAR} is out of the secp256k1 range (value not shown)")
    from eth_account import Account

    return str(Account.from_key(raw).address)


def default_env_path() -> Path:
    return Path(os.environ.get("POLYARB_ENV_FILE", ".env"))


def redact_url(url: str) -> str:
    """Scheme and host only: provider URLs carry API keys in the path or query."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}"
