"""The API tests' app: ``Api`` and the ``api`` fixture live in ``tests/apps.py``."""

from tests.apps import Api

__all__ = ["Api"]
