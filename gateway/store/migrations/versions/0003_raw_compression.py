"""raw bytes on PostgreSQL: lz4 instead of pglz, or stored as they are

PostgreSQL compresses large values with pglz by default. For a message's raw bytes (mostly base64
attachments of files that are compressed already) pglz spends about 15 ms of the database server's
CPU per MB and then keeps the bytes uncompressed anyway; lz4 tries in a fifth of that. Where the server
has no lz4 (before PostgreSQL 14, or built without it) the bytes are stored as they are. Values
already stored keep their form. Nothing changes on SQLite, which compresses nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (("message_raw", "raw"), ("raw_pieces", "data"))


def _has_lz4() -> bool:
    """The server can compress with lz4: pg_settings lists it among default_toast_compression's values."""
    return bool(op.get_bind().execute(sa.text(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")).first())


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    change = "SET COMPRESSION lz4" if _has_lz4() else "SET STORAGE EXTERNAL"
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} {change}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    lz4 = _has_lz4()
    for table, column in COLUMNS:
        if lz4:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION DEFAULT")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTENDED")
