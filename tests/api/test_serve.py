"""``attract keys create`` and ``attract serve`` end to end, over real HTTP on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from tests.conftest import Trained
from tests.served import free_port


def test_keys_create_then_serve(trained: Trained) -> None:
    env = {
        **os.environ,
        "ATTRACT_HOME": str(trained.settings.home),
        "ATTRACT_DATA_DIR": str(trained.data_dir),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    created = subprocess.run(
        [sys.executable, "-m", "api.cli", "keys", "create", "--role", "officer"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sa_") and key not in created.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 120
        seen: list[int] = []
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{base}/ready", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            seen.append(r.status_code)
            # alive (liveness) as soon as it answers, ready only once everything is loaded
            assert httpx.get(f"{base}/health", timeout=2).status_code == 200
            if r.status_code == 200:
                break
            components = r.json()["components"]
            assert r.status_code == 503 and any(v != "ready" for v in components.values()), r.text
            time.sleep(0.5)
        assert seen and seen[-1] == 200, seen
        assert set(seen) <= {200, 503}
        leads = httpx.get(
            f"{base}/leads",
            params={"track": "bigdata", "limit": 3},
            headers={"X-API-Key": key},
            timeout=10,
        )
        assert leads.status_code == 200 and len(leads.json()["items"]) == 3
        assert (
            httpx.get(f"{base}/leads", params={"track": "bigdata"}, timeout=10).status_code == 401
        )
        assert (
            httpx.post(f"{base}/admin/reload", headers={"X-API-Key": key}, timeout=10).status_code
            == 403
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_access_log_is_on_unless_turned_off(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``attract serve`` logs a line per request by default; ``--no-access-log`` (behind a proxy
    that logs) turns uvicorn's access log off."""
    import uvicorn

    from data.settings import get_settings

    monkeypatch.setenv("ATTRACT_HOME", str(trained.settings.home))
    monkeypatch.setenv("ATTRACT_DATA_DIR", str(trained.data_dir))
    for variable in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",  # serve sets these two; restored after the test
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "ATTRACT_PARK",
    ):
        monkeypatch.delenv(variable, raising=False)
    asked: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **options: asked.append(options))
    runner = CliRunner()
    try:
        for args in (["serve"], ["serve", "--no-access-log"]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    assert [a["access_log"] for a in asked] == [True, False]
    assert all(a["log_level"] == "info" for a in asked)
