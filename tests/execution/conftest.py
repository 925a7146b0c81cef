"""Fixtures for the execution tests."""

from __future__ import annotations

import pytest
from venue_fakes import FakeBook


@pytest.fixture
def book() -> FakeBook:
    return FakeBook()
