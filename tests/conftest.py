from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "src" / "lambdasec" / "rules" / "fixtures"
# Every rule test uses the same injected clock.
FIXTURE_CLOCK = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> dt.datetime:
    return FIXTURE_CLOCK
