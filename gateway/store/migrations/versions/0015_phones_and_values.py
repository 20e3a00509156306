"""phones and values: a phone on contacts, organizations and leads; a value and currency on deals and leads

``phone`` holds a record's phone numbers as one text, ``; `` between them (as an import reads them from
a CRM's several phone columns). ``value`` is an amount (two decimals) in ``currency``, a three-letter code
(ISO 4217, upper case), both empty when unknown.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    for table in ("persons", "organizations", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("phone", sa.Text(), nullable=False, server_default=""))
    for table in ("deals", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("value", sa.Numeric(14, 2), nullable=True))
            batch.add_column(sa.Column("currency", sa.String(3), nullable=True))


def downgrade() -> None:
    for table in ("deals", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("currency")
            batch.drop_column("value")
    for table in ("persons", "organizations", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("phone")
