"""The filing reads run on SQLite's own cursor (gateway.store.prebuilt) give the rows SQLAlchemy gives."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, insert

from gateway.store.filing import context
from gateway.store.models import Base, Company, Deal, Lead, Link, Message, Organization, Person, RecordEmail, User
from gateway.store.prebuilt import Prebuilt

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def connection():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(Company), [dict(id=1, name="Acme", domain="acme.example", slug="acme")])
        connection.execute(insert(User), [dict(id=1, company_id=1, email="ada@acme.example")])
        connection.execute(insert(Organization), [dict(id=1, company_id=1, name="Org", domain="org.example")])
        connection.execute(insert(Person), [dict(id=i, company_id=1, email=f"p{i}@org.example", name="", org_id=1)
                                            for i in (1, 2, 3)])
        connection.execute(insert(Lead), [dict(id=1, company_id=1, title="L", email="lead@x.example", name="",
                                               status="open")])
        connection.execute(insert(Deal), [dict(id=i, company_id=1, title="D", person_id=i, status="open",
                                               created_at=WHEN) for i in (1, 2)])
        connection.execute(insert(RecordEmail), [dict(company_id=1, kind="person", record_id=3,
                                                      email="other@org.example")])
        connection.execute(insert(Message), [dict(id=1, company_id=1, message_id="<m1@x>", content_hash="h",
                                                  sha256="s", size=1, direction="in", owner_user_id=1,
                                                  visibility="private")])
        connection.execute(insert(Link), [dict(message_pk=1, kind="deal", record_id=2, rule="r", created_at=WHEN)])
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.mark.parametrize("params", [
    dict(company_id=1, emails=["p1@org.example", "lead@x.example", "other@org.example", "none@x.example"],
         domains=["org.example"], message_id="<m1@x>", content_hash="h", ids=["<m1@x>"]),
    dict(company_id=1, emails=[], domains=[], message_id="<no@x>", content_hash="", ids=[]),
    dict(company_id=2, emails=["p1@org.example"], domains=["org.example"], message_id="<m1@x>", content_hash="h",
         ids=[]),
])
def test_the_participants_read_gives_sqlalchemys_rows(connection, params):
    expected = connection.execute(context._KNOWN, params).all()
    assert sorted(map(tuple, context._KNOWN_READ.rows(connection, params))) == sorted(map(tuple, expected))
    if params["company_id"] == 1 and params["emails"]:
        assert expected


def test_the_open_records_read_gives_aware_datetimes(connection):
    params = {"person_ids": [1, 2, 3]}
    rows = context._OPEN_RECORDS_READ.rows(connection, params)
    expected = connection.execute(context._OPEN_RECORDS, params).all()
    assert sorted(map(tuple, rows)) == sorted(map(tuple, expected)) and len(rows) == 2
    assert {row.created_at for row in rows} == {WHEN}
    assert [row.kind for row in rows] == ["deal", "deal"]
    assert context._OPEN_RECORDS_READ.rows(connection, {"person_ids": []}) == []


def test_a_parameter_that_needs_processing_is_refused(connection):
    with pytest.raises(ValueError, match="bind processing"):
        Prebuilt(context.select(Message.id).where(Message.received_at > WHEN)).rows(connection, {})
