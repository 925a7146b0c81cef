"""``polyarb serve``: a loopback WebSocket server speaking the market channel from a session.

It is the test double for every live component and a product feature: any bot
can be run against recorded history (docs/recording.md).
"""

from polyarb.server.faults import FaultPlan
from polyarb.server.replay import ReplayServer, ServeStats

__all__ = ["FaultPlan", "ReplayServer", "ServeStats"]
