"""Shibei's park YAML with one edit, which loading must refuse naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.reference import PARKS_DIR, ReferenceDataError, load_park


def assert_edit_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    """Replace the first ``old`` of shibei.yaml by ``new``: loading it raises ``message``."""
    text = (PARKS_DIR / "shibei.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "shibei.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_park(path)
