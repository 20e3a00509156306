"""Fixtures of the web mailbox tests (helpers in webtest.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from gateway.config import Settings
from tests.support.webtest import Site, site_for


@pytest.fixture
def site(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The gateway and the web mailbox on one fresh database (SQLite and PostgreSQL); a test may pass
    settings with ``@pytest.mark.parametrize("site", [{...}], indirect=True)``."""
    extra = getattr(request, "param", {})
    yield from site_for(settings, **extra)


