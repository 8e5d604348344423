"""`attract links` on a small A-share import: a correction made with the CLI is in the log once,
and survives `attract import ashare` of the same files (the universe keeps the attacher's links;
every load applies the stored corrections over them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from api.crm.corrections import stored_corrections
from data import columns as C
from data.settings import Settings
from data.universe import load_universe
from tests.chainkg_fixture import write_chainkg
from tests.data.test_ashare import write_reports
from tests.served import make_user


def _attract(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env
    )


def test_a_cli_correction_survives_a_reimport_of_the_same_files(tmp_path: Path) -> None:
    import os

    home = tmp_path / "home"
    make_user(home, "chen.analyst", "analyst", "analyst-pass-123")
    env = dict(os.environ) | {"ATTRACT_HOME": str(home)}
    out = tmp_path / "u"
    files = [
        "import", "ashare", "--reports", str(write_reports(tmp_path / "r")),
        "--chainkg", str(write_chainkg(tmp_path / "kg")), "--out", str(out),
    ]  # fmt: skip
    first = _attract(env, *files)
    assert first.returncode == 0, first.stderr
    links = pd.read_parquet(out / "enterprise_links.parquet")
    firm = str(links[C.ENTERPRISE_ID].iloc[0])
    url = Settings(home=home).database

    done = _attract(env, "links", "outside", firm, "--by", "chen.analyst", "--data", str(out))
    assert done.returncode == 0, done.stderr
    refused = _attract(env, "links", "outside", firm, "--by", "nobody", "--data", str(out))
    assert refused.returncode == 2 and "--by" in refused.stderr

    again = _attract(env, *files)
    assert again.returncode == 0, again.stderr
    assert "1 in effect on 1 firms" in again.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["link_corrections"]["corrections_applied"] == 1
    corrected = load_universe(
        out, ["enterprises", "enterprise_links"], corrections=stored_corrections(url)
    )["enterprise_links"]
    assert firm not in set(corrected[C.ENTERPRISE_ID])
    assert firm in set(pd.read_parquet(out / "enterprise_links.parquet")[C.ENTERPRISE_ID])
    log = _attract(env, "links", "list", "--format", "json")
    assert json.loads(log.stdout)["total"] == 1
