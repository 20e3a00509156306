"""a generation counter for the lookups the SMTP side keeps

``lookup_generation`` holds one row; every INSERT, UPDATE or DELETE on the tables the SMTP dialogue and
filing keep lookups of (companies, former_slugs, users, alternate_addresses, exclusions) bumps its value,
by triggers, whoever writes: the serving process, the CLI, the web app, another gateway, plain SQL. A
serving process reads the one value per message and drops what it kept once the value moved, so a
deactivated user is refused from the next message on (gateway.store.lookup_cache).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("companies", "former_slugs", "users", "alternate_addresses", "exclusions")
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE lookup_generation SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "lookup_generation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO lookup_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION lookup_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"{BUMP}; RETURN NULL; END $$")
        for table in TABLES:   # once per statement: a bulk change bumps it once
            op.execute(f"CREATE TRIGGER {table}_lookup_generation AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION lookup_generation_bump()")
        return
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER {table}_lookup_generation_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_lookup_generation ON {table}")
        op.execute("DROP FUNCTION lookup_generation_bump()")
    else:
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_lookup_generation_{event.lower()}")
    op.drop_table("lookup_generation")
