"""filing on the right records: the company's own domains, organizations made from company domains, and
what a message's filing left out

``companies.own_domains``: the domains of the company's colleagues (a JSON list); NULL means the company's
domain alone. ``companies.create_orgs``: an unknown company domain (not a free-mail provider's) makes an
organization. ``messages.filing_notes``: which participants got no record and why, one per line.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("own_domains", sa.JSON(), nullable=True))
        # a plain string default: SQLite adds the column in place instead of copying the table
        batch.add_column(sa.Column("create_orgs", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("filing_notes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("filing_notes")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("create_orgs")
        batch.drop_column("own_domains")
