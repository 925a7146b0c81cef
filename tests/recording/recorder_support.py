"""Helpers for the recorder, crash and quality tests (fixtures live in the test modules)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyarb.feed import FeedConfig
from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.recorder import Recorder, RecorderStatus

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Epoch:
    """The frames one connection delivered between its open and close rows."""

    conn_id: int
    frames: int
    bytes: int
    sha256: str


def epochs(session: Path, *, include_open: bool = False) -> list[Epoch]:
    """Per connection attempt, in open order: count, bytes and the server's digest rule."""
    out: list[Epoch] = []
    hashers: list[Any] = []
    live: dict[int, tuple[Epoch, Any]] = {}
    for f in SessionReader(session).frames(include_open=include_open):
        if f.kind == "open":
            epoch, digest = Epoch(f.conn_id, 0, 0, ""), hashlib.sha256()
            out.append(epoch)
            hashers.append(digest)
            live[f.conn_id] = (epoch, digest)
        elif f.kind == "frame":
            epoch, digest = live[f.conn_id]
            data = f.payload.encode()
            digest.update(len(data).to_bytes(4, "big"))
            digest.update(data)
            epoch.frames += 1
            epoch.bytes += len(data)
    for epoch, digest in zip(out, hashers, strict=True):
        epoch.sha256 = digest.hexdigest()
    return out


async def record(
    url: str,
    recordings: Path,
    session_id: str,
    assets: list[str],
    *,
    until: asyncio.Event | Callable[[RecorderStatus], bool] | None = None,
    settle_s: float = 0.3,
    **config: object,
) -> RecorderStatus:
    """Record ``url`` until ``until`` is set (or, a predicate, holds for the recorder's
    status: a condition rather than a guessed duration), then ``settle_s`` more; seal."""
    writer = SessionWriter(recordings, session_id, feed_url=url)
    options: dict[str, object] = {"tick_interval_s": 0.1, "backoff_initial_s": 0.02}
    options.update(config)
    recorder = Recorder(writer, assets, config=FeedConfig(url=url, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(recorder.run())
    if isinstance(until, asyncio.Event):
        await until.wait()
    elif until is not None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not until(recorder.status()):
            assert loop.time() < deadline, "the recording never reached its condition"
            await asyncio.sleep(0.05)
    await asyncio.sleep(settle_s)
    recorder.stop()
    return await task


@contextmanager
def serve_process(session: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``polyarb serve`` in a subprocess on a free port; yields its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polyarb",
            "serve",
            "--session",
            str(session),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "serving" not in line:
            proc.kill()
            raise AssertionError(
                f"serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield line.split(" on ")[1].split()[0], proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)
