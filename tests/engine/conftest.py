"""Engine test helpers: the neg-risk session and a profile big enough to fill its baskets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polyarb.config.profile import Execution, LatencyModel, Profile, RiskLimits
from polyarb.recording.imports.negrisk import import_negrisk


@pytest.fixture(scope="session")
def negrisk_session(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    return import_negrisk(shared_data, tmp_path_factory.mktemp("negrisk"))


def big_profile(**risk: object) -> Profile:
    """$200 baskets so every neg-risk leg clears the venue's $1 minimum notional."""
    latency = risk.pop("latency", LatencyModel())
    execution = risk.pop("execution", Execution())
    limits = {
        "trade_size_usd": Decimal("200"),
        "max_position_per_market_usd": Decimal("1000"),
        "max_total_position_usd": Decimal("5000"),
        "max_daily_loss_usd": Decimal("100"),
        **risk,
    }
    return Profile(
        name="big",
        detectors=("binary_complete_set", "negrisk_basket"),
        risk=RiskLimits(**limits),  # type: ignore[arg-type]
        latency=latency,  # type: ignore[arg-type]
        execution=execution,  # type: ignore[arg-type]
    )
