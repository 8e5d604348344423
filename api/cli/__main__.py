"""``python -m api.cli``: the ``attract`` command line."""

from api.cli import app

app()
