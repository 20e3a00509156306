"""the language a user reads the web app and the product's mail in

``users.language`` is one of the languages the product speaks (gateway.locale.LANGUAGES: en, it, de), or
NULL: then the browser's Accept-Language chooses for the web app, and English for mail.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
