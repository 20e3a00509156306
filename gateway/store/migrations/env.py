"""Alembic environment: migrations always run on a connection handed in by gateway.store.migrate."""

from alembic import context

from gateway.store.models import Base, managed_by_orm

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `smartbcc init`, which hands Alembic its connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_name=lambda name, kind, _parent: kind != "table" or name is None or managed_by_orm(name),
)
with context.begin_transaction():
    context.run_migrations()
