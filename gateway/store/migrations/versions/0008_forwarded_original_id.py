"""the forwarded original's Message-ID: a reply to a customer's message joins the thread of its forward

``messages.original_message_id`` holds the Message-ID of the message a stored forward carries (attached,
or named in an inline header block); filing looks replies up by it as by ``message_id``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("original_message_id", sa.String(998), nullable=True))
    op.create_index("ix_messages_company_original_message_id", "messages", ["company_id", "original_message_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_company_original_message_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("original_message_id")
