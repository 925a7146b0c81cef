"""Decision → arrival delay of simulated orders, drawn from the run's own seeded generator."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise

from polyarb.config.profile import LatencyModel

_NS_PER_MS = 1_000_000
_STEPS = 1_000_000
"""Resolution of an empirical draw between two neighbouring quantile points."""


class Latency:
    """Draws order latencies in ns: ``constant``, ``uniform`` (mean ± jitter), ``normal``
    or ``empirical`` (evenly spaced quantile points, linear between them).

    Owns a ``random.Random(seed)`` so two runs with one profile draw the same
    sequence; global randomness is never touched. Draws are clamped at 0.
    """

    __slots__ = ("_jitter_ns", "_kind", "_mean_ns", "_points", "_rng")

    def __init__(
        self,
        kind: str = "constant",
        mean_ms: int = 50,
        jitter_ms: int = 0,
        seed: int = 0,
        quantiles_ns: Sequence[int] = (),
    ):
        if kind not in ("constant", "uniform", "normal", "empirical"):
            raise ValueError(
                f"latency kind must be constant, uniform, normal or empirical, got {kind!r}"
            )
        if mean_ms < 0 or jitter_ms < 0:
            raise ValueError("latency mean_ms and jitter_ms must be >= 0")
        points = tuple(quantiles_ns)
        if kind == "empirical" and (
            len(points) < 2 or points[0] < 0 or any(b < a for a, b in pairwise(points))
        ):
            raise ValueError("empirical latency needs >= 2 non-decreasing quantile points >= 0")
        self._points = points
        self._kind = kind
        self._mean_ns = mean_ms * _NS_PER_MS
        self._jitter_ns = jitter_ms * _NS_PER_MS
        self._rng = random.Random(seed)

    @classmethod
    def from_profile(cls, model: LatencyModel) -> Latency:
        """The latency of a profile's ``latency`` section."""
        return cls(model.kind, model.mean_ms, model.jitter_ms, model.seed, model.quantiles_ns or ())

    def draw_ns(self) -> int:
        """The next latency in ns (deterministic given the seed and the number of draws)."""
        if self._kind == "empirical":
            # Inverse CDF of the quantile points, in integers: a uniform position among
            # the segments, then linear within its segment.
            points = self._points
            i, frac = divmod(self._rng.randrange(_STEPS * (len(points) - 1)), _STEPS)
            return points[i] + (points[i + 1] - points[i]) * frac // _STEPS
        if self._kind == "constant" or self._jitter_ns == 0:
            return self._mean_ns
        if self._kind == "uniform":
            # Integer draw: no float rounding can differ between platforms.
            return max(
                0,
                self._rng.randint(self._mean_ns - self._jitter_ns, self._mean_ns + self._jitter_ns),
            )
        return max(0, round(self._rng.gauss(self._mean_ns, self._jitter_ns)))


MODEL_DRAWS = 10_001
"""Draws that stand for a latency model's distribution when its quantiles are needed."""


def sorted_quantile(sorted_values: Sequence[int], num: int, den: int) -> int:
    """The ``num/den`` quantile of sorted integers, linear between ranks, in integers."""
    n = len(sorted_values)
    i, rest = divmod(num * (n - 1), den)
    if rest == 0 or i + 1 >= n:
        return sorted_values[i]
    low, high = sorted_values[i], sorted_values[i + 1]
    return low + (high - low) * rest // den


def model_sample(model: LatencyModel, draws: int = MODEL_DRAWS) -> list[int]:
    """Sorted draws of a fresh generator of ``model``: its distribution, deterministically."""
    latency = Latency.from_profile(model)
    return sorted(latency.draw_ns() for _ in range(draws))
