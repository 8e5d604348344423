"""The team's system of record: people and their roles, API keys and sign-in sessions, the lead
pipeline with its append-only audit, and outreach records — in the service database, whose
schema only the Alembic migrations (``migrations/``, ``migrate.py``) create and change.

``tables`` maps the tables; ``people`` signs people in; ``pipeline`` creates and moves leads
(one creator, one writer of a change); ``outreach`` stores outcomes idempotently as pipeline
events; ``contacted`` caches the firms contacted through the service. The words of the pipeline
(stages, moves, reasons, roles) are ``data.pipeline``'s. Nothing here imports the serving state:
what the pipeline asks of the served universe is the ``served.Served`` protocol.
"""
