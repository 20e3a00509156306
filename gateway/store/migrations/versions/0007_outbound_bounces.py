"""outbound mail and its bounces: each message sent from a record has an envelope sender of its own

``outbound_mail`` holds one row per message sent through the smarthost, with the token of its envelope
sender (``<slug>+bounce-<token>@<mail_domain>``), written before the message leaves so that even the
quickest bounce finds it. ``bounces`` keeps every delivery report that came back to such an address,
raw bytes and what it says (action, status, diagnostic), on the sent message.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "outbound_mail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("message_pk", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True),
        sa.Column("record_kind", sa.String(16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token", name="uq_outbound_mail_token"),
    )
    op.create_index("ix_outbound_mail_message_pk", "outbound_mail", ["message_pk"])
    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("outbound_id", sa.Integer(), sa.ForeignKey("outbound_mail.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope_from", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_bounces_outbound_id", "bounces", ["outbound_id"])


def downgrade() -> None:
    op.drop_index("ix_bounces_outbound_id", table_name="bounces")
    op.drop_table("bounces")
    op.drop_index("ix_outbound_mail_message_pk", table_name="outbound_mail")
    op.drop_table("outbound_mail")
