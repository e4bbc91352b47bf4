"""The hub's tables (SQLAlchemy Core) and column types."""
