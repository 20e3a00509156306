"""large messages' raw bytes in pieces

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('raw_pieces',
    sa.Column('upload', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('upload', 'seq', name=op.f('pk_raw_pieces'))
    )
    with op.batch_alter_table('raw_pieces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_pieces_created_at'), ['created_at'], unique=False)
    # a plain ADD COLUMN (no table copy): message_raw holds every message's bytes
    op.add_column('message_raw', sa.Column('upload', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_message_raw_upload'), 'message_raw', ['upload'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_message_raw_upload'), table_name='message_raw')
    with op.batch_alter_table('message_raw', schema=None) as batch_op:
        batch_op.drop_column('upload')
    with op.batch_alter_table('raw_pieces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_pieces_created_at'))
    op.drop_table('raw_pieces')
