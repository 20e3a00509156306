"""connected mailboxes: a user's IMAP mailboxes, their folders and the copies of messages on them

``connected_mailboxes`` holds where a mailbox is and how to sign in (the password encrypted with the
deployment's mailbox key) and how its sync goes; ``mailbox_folders`` each folder's role, UIDVALIDITY and
last UID fetched; ``mailbox_copies`` which stored message each UID was filed as, with the \\Seen flag last
agreed with the server. ``companies.mailbox_autofile`` chooses whether synced mail from or to known
contacts is filed at once or only when the user saves it to the CRM.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # a plain ADD COLUMN (a batch would copy the table, its constraints in no fixed order)
    op.add_column("companies", sa.Column("mailbox_autofile", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "connected_mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(16), nullable=False),
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("ca_file", sa.String(1000), nullable=False),
        sa.Column("first_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("idle", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_connected_mailboxes_company_id_companies"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_connected_mailboxes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connected_mailboxes")),
        sa.UniqueConstraint("user_id", "host", "username", name="uq_connected_mailboxes_login"),
    )
    op.create_index(op.f("ix_connected_mailboxes_user_id"), "connected_mailboxes", ["user_id"], unique=False)
    op.create_table(
        "mailbox_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("folder_id", sa.Integer(), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["connected_mailboxes.id"],
                                name=op.f("fk_mailbox_folders_mailbox_id_connected_mailboxes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["folder_id"], ["mail_folders.id"], name=op.f("fk_mailbox_folders_folder_id_mail_folders"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_folders")),
        sa.UniqueConstraint("mailbox_id", "name", name="uq_mailbox_folders_name"),
    )
    op.create_table(
        "mailbox_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("folder_pk", sa.Integer(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("seen", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["connected_mailboxes.id"],
                                name=op.f("fk_mailbox_copies_mailbox_id_connected_mailboxes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["folder_pk"], ["mailbox_folders.id"],
                                name=op.f("fk_mailbox_copies_folder_pk_mailbox_folders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_pk"], ["messages.id"], name=op.f("fk_mailbox_copies_message_pk_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_copies")),
        sa.UniqueConstraint("folder_pk", "uid", name="uq_mailbox_copies_uid"),
    )
    op.create_index(op.f("ix_mailbox_copies_mailbox_id"), "mailbox_copies", ["mailbox_id"], unique=False)
    op.create_index(op.f("ix_mailbox_copies_message_pk"), "mailbox_copies", ["message_pk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mailbox_copies_message_pk"), table_name="mailbox_copies")
    op.drop_index(op.f("ix_mailbox_copies_mailbox_id"), table_name="mailbox_copies")
    op.drop_table("mailbox_copies")
    op.drop_table("mailbox_folders")
    op.drop_index(op.f("ix_connected_mailboxes_user_id"), table_name="connected_mailboxes")
    op.drop_table("connected_mailboxes")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("mailbox_autofile")
