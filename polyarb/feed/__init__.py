"""The market-channel client adapter: connections, sharding, heartbeat, watchdog, backoff.

:class:`FeedClient` hands every received frame, and the open/subscribe/close/
gap/error/tick rows around them, to one callback (a :data:`Sink`). The
recorder and the shadow engine both consume that stream; this package is the
only one that reads the wall clock for it.
"""

from polyarb.feed.backoff import Backoff
from polyarb.feed.client import FeedClient, FeedConfig, QueueSink, Sink

__all__ = ["Backoff", "FeedClient", "FeedConfig", "QueueSink", "Sink"]
