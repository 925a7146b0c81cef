"""Reconnect delays: exponential with jitter, from an injected random generator."""

from __future__ import annotations

import random


class Backoff:
    """``next()`` gives the delay before the next attempt; ``reset()`` after a good connection.

    Delay n is ``min(max_s, initial_s * 2**n)`` scaled by a factor drawn from
    ``[1 - jitter, 1]``, so many clients reconnecting at once spread out
    (simultaneous connects drew 429s, docs/protocol.md §Feed pitfalls).
    """

    def __init__(
        self,
        initial_s: float = 0.5,
        max_s: float = 30.0,
        *,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial_s < 0 or max_s < initial_s:
            raise ValueError(f"bad backoff range {initial_s}..{max_s}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {jitter}")
        self.initial_s = initial_s
        self.max_s = max_s
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.attempt = 0

    def next(self) -> float:
        base = min(self.max_s, self.initial_s * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 62)
        return base * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self.attempt = 0
