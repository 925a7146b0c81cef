"""Live trading: the shadow loop with :class:`~polyarb.live.venue.LiveVenue` (docs/live.md)."""
