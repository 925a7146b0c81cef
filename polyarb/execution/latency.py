"""Decision → arrival delay of simulated orders, drawn from the run's own seeded generator."""

from __future__ import annotations

import random

from polyarb.config.profile import LatencyModel

_NS_PER_MS = 1_000_000


class Latency:
    """Draws order latencies in ns: ``constant``, ``uniform`` (mean ± jitter) or ``normal``.

    Owns a ``random.Random(seed)`` so two runs with one profile draw the same
    sequence; global randomness is never touched. Draws are clamped at 0.
    """

    __slots__ = ("_jitter_ns", "_kind", "_mean_ns", "_rng")

    def __init__(
        self, kind: str = "constant", mean_ms: int = 50, jitter_ms: int = 0, seed: int = 0
    ):
        if kind not in ("constant", "uniform", "normal"):
            raise ValueError(f"latency kind must be constant, uniform or normal, got {kind!r}")
        if mean_ms < 0 or jitter_ms < 0:
            raise ValueError("latency mean_ms and jitter_ms must be >= 0")
        self._kind = kind
        self._mean_ns = mean_ms * _NS_PER_MS
        self._jitter_ns = jitter_ms * _NS_PER_MS
        self._rng = random.Random(seed)

    @classmethod
    def from_profile(cls, model: LatencyModel) -> Latency:
        """The latency of a profile's ``latency`` section."""
        return cls(model.kind, model.mean_ms, model.jitter_ms, model.seed)

    def draw_ns(self) -> int:
        """The next latency in ns (deterministic given the seed and the number of draws)."""
        if self._kind == "constant" or self._jitter_ns == 0:
            return self._mean_ns
        if self._kind == "uniform":
            # Integer draw: no float rounding can differ between platforms.
            return max(
                0,
                self._rng.randint(self._mean_ns - self._jitter_ns, self._mean_ns + self._jitter_ns),
            )
        return max(0, round(self._rng.gauss(self._mean_ns, self._jitter_ns)))
