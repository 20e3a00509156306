"""Fixtures for the `smartbcc` command line: a runner bound to the test's database, and seeded data
(the helpers are in tests/support/clitest.py)."""

from __future__ import annotations

import pytest

from gateway.commands.output import jsonable
from gateway.config import Settings
from gateway.services import companies, records, users
from gateway.store.database import Database
from tests.support.clitest import Seeded, Smartbcc, run_db


@pytest.fixture
def bare(settings: Settings) -> Smartbcc:
    """A runner on a database that has not been initialized."""
    return Smartbcc(settings)


@pytest.fixture
def smartbcc(bare: Smartbcc) -> Smartbcc:
    bare.ok("init")
    return bare


@pytest.fixture
def seeded(smartbcc: Smartbcc) -> Seeded:
    """Acme (user ada, org Customer Inc, contact bob, a deal) and Globex, as the add commands print them.

    Made through the services in one database session (the commands themselves have their own tests).
    """
    async def work(db: Database) -> Seeded:
        acme = await companies.add_company(db, "Acme Corp", "acme.example")
        globex = await companies.add_company(db, "Globex", "globex.example")
        ada = await users.add_user(db, "ada@acme.example", "acme", "Ada")
        org = await records.add_org(db, "acme", "Customer Inc", "customer.example")
        person = await records.add_person(db, "acme", "bob@customer.example", "Bob", org.id)
        deal = await records.add_record(db, "deal", "acme", "Big order", person.id)
        return Seeded(*(jsonable(view) for view in (acme, globex, ada, person, org, deal)))
    return run_db(smartbcc.settings, work)
