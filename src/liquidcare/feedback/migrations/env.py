"""Alembic environment: the store hands over an open connection; nothing is read from ini files."""

from alembic import context

from liquidcare.feedback.models import Base

connection = context.config.attributes["connection"]
# render_as_batch lets later migrations alter SQLite tables (copy-and-move) the same way as others.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
