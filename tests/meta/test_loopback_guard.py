"""The suite-wide guard in tests/conftest.py keeps every test on this machine."""

import socket

import pytest


def test_the_loopback_guard_blocks_the_internet() -> None:
    with pytest.raises(OSError, match="non-local host"):
        socket.getaddrinfo("clob.polymarket.com", 443)
    with socket.socket() as s, pytest.raises(OSError, match="non-local address"):
        s.connect(("8.8.8.8", 53))
