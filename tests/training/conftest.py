"""The loaded app fixture of the API tests, shared here (the pipeline loop test)."""

from tests.api.conftest import api  # noqa: F401  (re-exported fixture)
