"""Alembic migrations of the hub database (applied by hub.core.db.migrate)."""
