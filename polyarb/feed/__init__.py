"""The market-channel client adapter: connections, sharding, heartbeat, watchdog, backoff.

:class:`FeedClient` hands every received frame, and the open/subscribe/close/
gap/error/tick rows around them, to its sinks in one order (a read's frames
as one :class:`~polyarb.frames.FrameBlock`). The
recorder and the shadow engine both consume that stream; this package is the
only one that reads the wall clock for it.
"""

from polyarb.feed.backoff import Backoff
from polyarb.feed.client import FeedClient, FeedConfig, FramesSink, QueueSink, Sink, frames_to_rows

__all__ = [
    "Backoff",
    "FeedClient",
    "FeedConfig",
    "FramesSink",
    "QueueSink",
    "Sink",
    "frames_to_rows",
]
