"""the web mailbox: passwords, sessions, sign-in codes and failures, access tokens, folders, each user's
state of each message, the indexes of its keyset pages, and the full-text index of messages

The full-text index is filled by triggers on ``messages``, so mail filed by the SMTP road (and by any
other writer) is searchable with no change to filing: on SQLite an FTS5 table whose rowid is the
message's id; on PostgreSQL a table of tsvectors ('simple' configuration: no language guessed) with a
GIN index, its rows deleted with their message by a foreign key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The text a message is found by: subject, participants (names and addresses), body (text, else HTML).
_SQLITE_PARTICIPANTS = (
    "new.from_name || ' ' || new.from_email || ' ' || "
    "coalesce((SELECT group_concat(coalesce(value ->> 'name', '') || ' ' || coalesce(value ->> 'email', ''), ' ') "
    "FROM json_each(new.to_addrs)), '') || ' ' || "
    "coalesce((SELECT group_concat(coalesce(value ->> 'name', '') || ' ' || coalesce(value ->> 'email', ''), ' ') "
    "FROM json_each(new.cc_addrs)), '')")
_SQLITE = [
    "CREATE VIRTUAL TABLE message_search USING fts5(subject, participants, body, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_search (rowid, subject, participants, body) VALUES (new.id, new.subject, "
    f"{_SQLITE_PARTICIPANTS}, CASE WHEN new.text_body != '' THEN new.text_body ELSE new.html_body END); END",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_search WHERE rowid = old.id; END",
    "INSERT INTO message_search (rowid, subject, participants, body) SELECT new.id, new.subject, "
    f"{_SQLITE_PARTICIPANTS}, CASE WHEN new.text_body != '' THEN new.text_body ELSE new.html_body END "
    "FROM messages AS new",
]
_PG_PARTICIPANTS = (
    "coalesce(m.from_name, '') || ' ' || coalesce(m.from_email, '') || ' ' || "
    "coalesce((SELECT string_agg(coalesce(a ->> 'name', '') || ' ' || coalesce(a ->> 'email', ''), ' ') "
    "FROM json_array_elements(m.to_addrs) AS a), '') || ' ' || "
    "coalesce((SELECT string_agg(coalesce(a ->> 'name', '') || ' ' || coalesce(a ->> 'email', ''), ' ') "
    "FROM json_array_elements(m.cc_addrs) AS a), '')")
_PG_DOCUMENT = (
    "setweight(to_tsvector('simple', coalesce(m.subject, '')), 'A') || "
    f"setweight(to_tsvector('simple', {_PG_PARTICIPANTS}), 'B') || "
    "to_tsvector('simple', left(CASE WHEN m.text_body <> '' THEN m.text_body ELSE m.html_body END, 500000))")
_POSTGRES = [
    "CREATE TABLE message_search (message_pk integer PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_message_search_document ON message_search USING gin (document)",
    "CREATE FUNCTION message_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO message_search (message_pk, document) SELECT m.id, {_PG_DOCUMENT} FROM (SELECT NEW.*) AS m; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER message_search_insert AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION message_search_fill()",
    f"INSERT INTO message_search (message_pk, document) SELECT m.id, {_PG_DOCUMENT} FROM messages AS m",
]


def upgrade() -> None:
    op.create_table('web_passwords',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_passwords_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_web_passwords'))
    )
    op.create_table('web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_sessions'))
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)
    op.create_table('sign_in_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes'))
    )
    op.create_index(op.f('ix_sign_in_codes_user_id'), 'sign_in_codes', ['user_id'], unique=False)
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=330), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    op.create_index('ix_sign_in_failures_key_at', 'sign_in_failures', ['key', 'at'], unique=False)
    op.create_table('access_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_access_tokens_token_hash'))
    )
    op.create_index(op.f('ix_access_tokens_user_id'), 'access_tokens', ['user_id'], unique=False)
    op.create_table('mail_folders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_folders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_folders')),
    sa.UniqueConstraint('user_id', 'name', name='uq_mail_folders_user_name')
    )
    op.create_table('mailbox_entries',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=False),
    sa.Column('read', sa.Boolean(), nullable=False),
    sa.Column('folder', sa.String(length=16), nullable=True),
    sa.Column('folder_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['mail_folders.id'], name=op.f('fk_mailbox_entries_folder_id_mail_folders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], name=op.f('fk_mailbox_entries_message_pk_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mailbox_entries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'message_pk', name=op.f('pk_mailbox_entries'))
    )
    op.create_index('ix_mailbox_entries_folder', 'mailbox_entries',
                    ['user_id', 'folder', 'folder_id', 'received_at', 'message_pk'], unique=False)
    op.create_index(op.f('ix_mailbox_entries_message_pk'), 'mailbox_entries', ['message_pk'], unique=False)
    # every message is "outgoing" or "incoming" (filing's words); the model's old default "sent" counts as outgoing
    op.execute("UPDATE messages SET direction = 'outgoing' WHERE direction NOT IN ('outgoing', 'incoming')")
    op.create_index('ix_messages_owner_received', 'messages', ['owner_user_id', 'direction', 'received_at', 'id'],
                    unique=False)
    op.create_index('ix_messages_shared_received', 'messages', ['company_id', 'visibility', 'direction', 'received_at', 'id'],
                    unique=False)
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER message_search_insert ON messages")
        op.execute("DROP FUNCTION message_search_fill()")
    else:
        op.execute("DROP TRIGGER message_search_insert")
        op.execute("DROP TRIGGER message_search_delete")
    op.execute("DROP TABLE message_search")
    op.drop_index('ix_messages_shared_received', table_name='messages')
    op.drop_index('ix_messages_owner_received', table_name='messages')
    op.drop_table('mailbox_entries')
    op.drop_table('mail_folders')
    op.drop_table('access_tokens')
    op.drop_table('sign_in_failures')
    op.drop_table('sign_in_codes')
    op.drop_table('web_sessions')
    op.drop_table('web_passwords')
