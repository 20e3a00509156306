"""parse budget: messages say when their parse was degraded; a quarantined message retried is one entry

``messages.parse_degraded`` names what the parser's budget cut or skipped (gateway.mail.parsing), ""
when every field was read whole. ``quarantine.content_hash`` identifies a message the way filing does,
so that a sender retrying one that is kept in the quarantine raises ``quarantine.arrivals`` instead of
adding an entry.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("parse_degraded", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("arrivals", sa.Integer(), nullable=False, server_default="1"))
        batch.create_index("ix_quarantine_content_hash", ["content_hash"])


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_index("ix_quarantine_content_hash")
        batch.drop_column("arrivals")
        batch.drop_column("content_hash")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("parse_degraded")
