"""`smartbcc init`: create or upgrade the schema of the configured database, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.store.database import initialize
from gateway.store.engine import normalize_url


@dataclass(frozen=True)
class InitResult:
    database: str          # the URL, password hidden
    before: str | None     # schema revision before; None: there was no schema
    after: str | None

    @property
    def state(self) -> str:
        if self.before is None:
            return "created"
        if self.before == self.after:
            return "already up to date"
        return f"upgraded from {self.before}"


def database_display(settings: Settings) -> str:
    """The database URL as it may be printed: with the password hidden."""
    return make_url(normalize_url(settings.effective_database_url)).render_as_string(hide_password=True)


async def initialize_database(settings: Settings) -> InitResult:
    display = database_display(settings)
    before, after = await initialize(settings)
    return InitResult(display, before, after)
