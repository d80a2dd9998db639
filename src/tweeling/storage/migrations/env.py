"""Alembic environment: runs on the connection that ``Database.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from tweeling.storage.schema import declared_here, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_object=declared_here(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
