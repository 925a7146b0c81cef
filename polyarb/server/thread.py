"""Run a :class:`ReplayServer` on its own event loop in a background thread.

For tests and tools that drive a client from another loop or process (the
recorder's tests, shadow mode's), without a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any, Self

from polyarb.server.replay import ReplayServer, ServeStats


class LoopThread:
    """Run :meth:`_serve` on its own event loop in a daemon thread.

    ``start()`` (or ``with``) returns once :meth:`_serve` set ``_ready`` and re-raises
    what failed before; ``stop()`` cancels it and joins the thread.
    """

    thread_name = "server"

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def start(self) -> Self:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve()

    async def _serve(self) -> None:
        """Start serving, set ``self._ready``, serve until cancelled."""
        raise NotImplementedError


class ServerThread(LoopThread):
    """``with ServerThread(session, speed=None) as s: connect(s.url)``; stats after exit."""

    thread_name = "replay-server"

    def __init__(self, session_dir: Path | str, **options: Any) -> None:
        super().__init__()
        self._session_dir = session_dir
        self._options = options
        self._finished = threading.Event()
        self.server: ReplayServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def stats(self) -> ServeStats:
        assert self.server is not None
        return self.server.stats

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the whole session has been played (or ``timeout``)."""
        return self._finished.wait(timeout)

    async def _serve(self) -> None:
        self.server = ReplayServer(self._session_dir, **self._options)
        await self.server.start()
        self._ready.set()
        watcher = asyncio.create_task(self._watch(self.server))
        try:
            await self.server.serve()
        finally:
            watcher.cancel()
            self._finished.set()

    async def _watch(self, server: ReplayServer) -> None:
        await server.finished.wait()
        self._finished.set()
