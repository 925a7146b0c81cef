"""Acceptance 1: the engine reads no clock, no global randomness, no network; rows in, rows out."""

from __future__ import annotations

import random
import socket
import time

import pytest
from engine_support import big_profile

from polyarb.engine import MemorySink, replay


def _boom(*_a, **_k):
    raise AssertionError("the engine must not read the wall clock, global randomness or network")


def test_replay_runs_with_clock_randomness_and_network_forbidden(negrisk_session, monkeypatch):
    profile = big_profile()  # built before the trap: pydantic is not the engine
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"):
        monkeypatch.setattr(time, name, _boom)
    for name in ("random", "randint", "uniform", "gauss", "choice", "shuffle", "seed"):
        monkeypatch.setattr(random, name, _boom)
    monkeypatch.setattr(socket, "socket", _boom)
    sink = MemorySink()
    run = replay(negrisk_session, profile, sink=sink)
    monkeypatch.undo()
    s = run["summary"]
    # every kind of output really was produced under the trap
    assert s["opportunities_total"] == 2 and s["fills"] == 10 and s["settlements"] == 5
    for table in ("decisions", "orders", "fills", "pnl", "positions", "alerts"):
        assert sink.tables[table], table
    assert sink.alert_lines and sink.lines


def test_trap_is_able_to_fail():
    with pytest.raises(AssertionError):
        _boom()
