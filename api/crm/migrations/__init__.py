"""Alembic migrations of the service database (``attract db upgrade``; ``api/migrate.py``)."""
