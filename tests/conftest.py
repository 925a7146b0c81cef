"""Fixtures every area shares: the real data folder and the bundled sessions, imported once."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from polyarb.cli.common import shared_data_dir
from polyarb.recording.imports import import_burst, import_resolvedkit

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():  # type: ignore[no-untyped-def]
    """No test may resolve or connect to anything but this machine (in-process guard)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_local(host):
            raise OSError(f"test tried to resolve non-local host {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: object) -> None:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if inet and isinstance(address, tuple) and not _is_local(address[0]):
            raise OSError(f"test tried to connect to non-local address {address!r}")

    def connect(self, address):  # type: ignore[no-untyped-def]
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        check(self, address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data/polymarket``; the tests read real data from there, never from the repo."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}")
    return path


@pytest.fixture(scope="session")
def bundled_recordings(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A recordings folder holding every bundled session (import once per test run).

    Treat it as read-only: tests that write runs should copy a session first
    (``copy_session``) so they do not disturb each other.
    """
    root = tmp_path_factory.mktemp("bundled") / "recordings"
    import_resolvedkit(shared_data / "resolvedkit_btc15m", root)
    import_burst(shared_data, root)
    return root


@pytest.fixture
def copy_session(bundled_recordings: Path, tmp_path: Path):
    """``copy_session(id) -> Path``: a private writable copy of a bundled session."""
    import shutil

    def _copy(session_id: str) -> Path:
        target = tmp_path / "recordings" / session_id
        shutil.copytree(bundled_recordings / session_id, target)
        return target

    return _copy


BUNDLED_SESSIONS = ("resolvedkit-btc15m", "crossing-burst-2026-09-29")
