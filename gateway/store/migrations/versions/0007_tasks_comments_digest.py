"""tasks from messages, discussions on messages, overdue notices and the daily digest

``activities.message_pk`` is the message a task was made from (its records are the activity's record);
``activities.overdue_notified_at`` says its owner heard it is overdue, so that they hear it once.
``comments`` holds a discussion on a message, seen by whoever may see the message.
``notifications.activity_id`` is the task a notification is about. ``users.digest`` is a user's choice of a
daily mail of their unread notifications, ``users.digest_at`` when the last one went out.

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("message_pk", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_activities_message_pk_messages", "messages", ["message_pk"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_activities_owner_status", ["owner_user_id", "status"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("activity_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_notifications_activity_id_activities", "activities", ["activity_id"], ["id"],
                                 ondelete="CASCADE")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("digest_at", sa.DateTime(timezone=True), nullable=True))
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
        batch.drop_constraint("fk_notifications_activity_id_activities", type_="foreignkey")
        batch.drop_column("activity_id")
    with op.batch_alter_table("activities") as batch:
        batch.drop_index("ix_activities_owner_status")
        batch.drop_constraint("fk_activities_message_pk_messages", type_="foreignkey")
        batch.drop_column("overdue_notified_at")
        batch.drop_column("message_pk")
