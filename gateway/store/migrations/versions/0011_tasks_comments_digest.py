"""tasks from messages, discussions on messages, overdue notices and the daily digest

``activities.message_pk`` is the message a task was made from (its records are the activity's record);
``activities.overdue_notified_at`` says its owner heard it is overdue, so that they hear it once.
``comments`` holds a discussion on a message, seen by whoever may see the message.
``notifications.activity_id`` is the task a notification is about. ``users.digest`` is a user's choice of a
daily mail of their unread notifications, ``users.digest_at`` when the last one went out.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMNs, no foreign keys: on SQLite a key (or a batch) needs a copy of the table, whose rebuilt text depends on
    # the order of a set (a template copy would differ from a fresh migration); readers check both ends
    op.add_column("activities", sa.Column("message_pk", sa.Integer(), nullable=True))
    op.add_column("activities", sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_activities_owner_status", "activities", ["owner_user_id", "status"])
    op.add_column("notifications", sa.Column("activity_id", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("digest_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_pk", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author_user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comments_message_pk", "comments", ["message_pk", "id"])


def downgrade() -> None:
    op.drop_index("ix_comments_message_pk", table_name="comments")
    op.drop_table("comments")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("digest_at")
        batch.drop_column("digest")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("activity_id")
    op.drop_index("ix_activities_owner_status", table_name="activities")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("overdue_notified_at")
        batch.drop_column("message_pk")
