"""The loaded app fixture of the API tests, shared here."""

from tests.api.conftest import api  # noqa: F401  (re-exported fixture)
