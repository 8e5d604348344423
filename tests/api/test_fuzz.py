"""schemathesis over the whole OpenAPI schema, with a valid admin key (every role's routes): no 5xx, no response
that breaks the schema, every documented status code, nothing internal in any answer."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.api.conftest import Api

# what must never reach a client: a stack trace, a source path, the database layer's words
INTERNALS = re.compile(r'Traceback \(most recent|File "/|sqlalchemy|sqlite3\.|\bSELECT\b.+\bFROM\b')


def test_every_operation_conforms(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # a reload rebuilds the whole state (seconds each) and takes no input worth varying:
        # twice is enough; on PostgreSQL the database's side only: fewer examples
        examples = 8 if api.backend == "sqlite" else 3
        if operation.label.endswith("/admin/reload"):
            examples = 2

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            # JSON Schema cannot say "the 18th character is the GB 32100 check character", so a
            # schema-valid credit code may still be rightly rejected with 422: that one check is off
            response = case.call_and_validate(
                headers=api.admin, excluded_checks=[positive_data_acceptance]
            )
            leaked = INTERNALS.search(response.content.decode("utf-8", "replace"))  # xlsx too
            assert leaked is None, f"response shows internals: {leaked.group(0)!r}"

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:2000]}"
    assert operations >= 21
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
