"""The authenticated user channel: order and trade events of one API key, as received.

Subscribe frame and heartbeat rules: docs/protocol.md §User channel (same PING/PONG
as the market channel). Frames are yielded exactly as received so the caller
can record each one as a ``user`` row before interpreting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from polyarb.venues.polymarket.signing import ApiCreds

USER_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/user"


def subscribe_frame(creds: ApiCreds, markets: list[str]) -> str:
    """The first frame: the L2 key triple and the condition ids to hear about."""
    auth = {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}
    return json.dumps({"auth": auth, "markets": list(markets), "type": "user"})


async def user_frames(
    url: str, creds: ApiCreds, markets: list[str], *, ping_s: float = 10.0
) -> AsyncIterator[str]:
    """Yield every text frame but PONG until the socket closes (the caller reconnects)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url, ping_interval=None, compression=None) as ws:
        await ws.send(subscribe_frame(creds, markets))

        async def pinger() -> None:
            while True:
                await asyncio.sleep(ping_s)
                await ws.send("PING")

        task = asyncio.create_task(pinger())
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                if text != "PONG":
                    yield text
        except ConnectionClosed:
            return  # dropped (1006/1011): the iterator ends, the caller reconnects and reconciles
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
