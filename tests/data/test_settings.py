"""The settings read from the environment outside the settings object: LightGBM's threads."""

from __future__ import annotations

import pytest

from data.settings import FIT_THREADS, fit_threads


def test_fit_threads_come_from_the_environment_else_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTRACT_FIT_THREADS", raising=False)
    assert fit_threads() == FIT_THREADS == 2
    monkeypatch.setenv("ATTRACT_FIT_THREADS", "1")
    assert fit_threads() == 1


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ATTRACT_FIT_THREADS", raw)
    with pytest.raises(ValueError, match=r"ATTRACT_FIT_THREADS: expected a whole number"):
        fit_threads()
