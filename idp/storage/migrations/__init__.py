"""Alembic migrations of the durable store; run with ``idp db upgrade``."""
