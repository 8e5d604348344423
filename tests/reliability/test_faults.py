"""Faults against a real ``attract serve`` on loopback: no champion, an unreachable tracking
server, a reload under load, ``kill -9`` in a stream of writes, corrupted data files.
(The locked database is in ``test_database.py``, in process.)"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import Trained
from tests.served import (
    Server,
    free_port,
    home_with_models,
    make_key,
    serve_env,
    serving,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def firm_ids(trained: Trained) -> list[str]:
    ent = pd.read_parquet(trained.data_dir / "enterprises.parquet", columns=["enterprise_id"])
    return ent["enterprise_id"].iloc[::97].head(60).tolist()


def _attract(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True
    )


def _no_key_logged(server: Server, *keys: str) -> None:
    text = server.log_text()
    assert "Uvicorn running" in text or "Application startup complete" in text, text[-2000:]
    for key in keys:
        assert key not in text and hashlib.sha256(key.encode()).hexdigest() not in text


# ---------------------------------------------------------------- no model / no registry


def test_no_champion_answers_503_then_recovers_on_reload(trained: Trained, tmp_path: Path) -> None:
    home = tmp_path / "home"  # an empty state folder: an empty registry, so no champion
    env = serve_env(home, trained.data_dir)
    analyst = make_key(home, "analyst")
    with serving(env, tmp_path / "server.log") as server:
        ready = server.ready()
        assert ready.status_code == 503
        components = ready.json()["components"]
        assert components["data"] == "ready" and components["graph"] == "ready"
        assert "no model lead-scorer-shibei@champion" in components["model"]
        leads = server.get("/leads", analyst, params={"track": "hq"})
        assert leads.status_code == 503 and leads.headers["retry-after"]
        assert "model: not loaded" in leads.json()["detail"]
        # what does not need the model keeps serving
        assert server.get("/chains/big_data/gaps", analyst).status_code == 200
        assert server.post("/admin/reload", analyst).status_code == 503

        # a data scientist trains and promotes into the same registry; one reload picks it up
        for args in (["train", "--data", str(trained.data_dir)], ["promote"]):
            done = _attract(env, *args)
            assert done.returncode == 0, done.stderr[-3000:]
        reload = server.post("/admin/reload", analyst)
        assert reload.status_code == 200, reload.text
        assert reload.json()["model_version"] == "1"
        assert server.get("/ready").status_code == 200
        assert server.get("/leads", analyst, params={"track": "hq"}).status_code == 200
    _no_key_logged(server, analyst)


def test_tracking_server_unreachable_then_recovers(trained: Trained, tmp_path: Path) -> None:
    if shutil.which("mlflow", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the mlflow command is not installed beside this Python")
    registry_port = free_port()
    uri = f"http://127.0.0.1:{registry_port}"
    home = tmp_path / "home"
    env = serve_env(home, trained.data_dir, ATTRACT_MLFLOW_TRACKING_URI=uri)
    analyst = make_key(home, "analyst")
    store = tmp_path / "store"
    home_with_models(trained.settings.home, store)  # the registry the tracking server will serve
    with serving(env, tmp_path / "server.log") as server:
        ready = server.ready()
        assert ready.status_code == 503
        model = ready.json()["components"]["model"]
        assert model.startswith("not loaded:") and str(registry_port) in model
        assert server.get("/leads", analyst, params={"track": "hq"}).status_code == 503

        tracking = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(registry_port),
                "--backend-store-uri",
                f"sqlite:///{store / 'mlflow.db'}",
                "--workers",
                "1",
            ],
            stdout=(tmp_path / "mlflow.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:

            def up() -> bool:
                try:
                    return httpx.get(f"{uri}/health", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(up, timeout=120, what="mlflow server")
            reload = server.post("/admin/reload", analyst)
            assert reload.status_code == 200, reload.text
            assert server.get("/leads", analyst, params={"track": "hq"}).status_code == 200
        finally:
            tracking.terminate()
            tracking.wait(timeout=30)
    _no_key_logged(server, analyst)


# ---------------------------------------------------------------- reload under load


@dataclass
class Load:
    """Client threads sending a mix of reads and writes; every answer that is not 2xx and
    every transport error is a failure."""

    server: Server
    key: str
    firm_ids: list[str]
    threads: int = 4
    done: list[tuple[float, float, str, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def requests(self, worker: int) -> Iterator[tuple[str, str, dict[str, object]]]:
        n = 0
        while True:
            firm = self.firm_ids[(worker * 7 + n) % len(self.firm_ids)]
            yield from [
                ("GET", "/leads", {"params": {"track": "bigdata", "limit": 50}}),
                ("GET", f"/enterprises/{firm}", {}),
                ("GET", "/leads", {"params": {"track": "hq", "chain": "big_data", "offset": 50}}),
                ("GET", "/chains/big_data/gaps", {}),
                ("GET", "/chains/big_data/links/privacy_computing/candidates", {}),
                ("GET", "/leads", {"params": {"track": "bigdata", "province": "江苏省"}}),
                (
                    "POST",
                    "/outreach",
                    {
                        "json": {
                            "enterprise_id": firm,
                            "track": "bigdata",
                            "outcome": "pending",
                            "contacted_on": "2026-11-20",
                            "note": f"load {worker}-{n}",
                        },
                        "headers": {"Idempotency-Key": f"load-{worker}-{n}"},
                    },
                ),
            ]
            n += 1

    def run(self, worker: int) -> None:
        with httpx.Client(base_url=self.server.base, timeout=30) as client:
            for method, path, kwargs in self.requests(worker):
                if self.stop.is_set():
                    return
                headers = {"X-API-Key": self.key, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
                started = time.monotonic()
                try:
                    r = client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
                    status = r.status_code
                except httpx.TransportError as exc:
                    status = 0
                    self.failures.append(f"{method} {path}: {type(exc).__name__}")
                if status and not 200 <= status < 300:
                    self.failures.append(f"{method} {path}: {status} {r.text[:200]}")
                self.done.append((started, time.monotonic(), path, status))

    def __enter__(self) -> Load:
        self._workers = [
            threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(self.threads)
        ]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for w in self._workers:
            w.join(timeout=60)


def test_reload_under_load_fails_no_request(
    trained: Trained, tmp_path: Path, firm_ids: list[str]
) -> None:
    home = home_with_models(trained.settings.home, tmp_path / "home")
    analyst = make_key(home, "analyst")
    officer = make_key(home, "officer")
    with serving(serve_env(home, trained.data_dir), tmp_path / "server.log") as server:
        assert server.ready().status_code == 200
        windows = []
        with Load(server, officer, firm_ids) as load:
            time.sleep(2)
            for _ in range(3):
                started = time.monotonic()
                reload = server.post("/admin/reload", analyst)
                windows.append((started, time.monotonic()))
                assert reload.status_code == 200, reload.text
                time.sleep(1)
        assert not load.failures, (load.failures[:10], server.log_text()[-6000:])
        during = [d for d in load.done if any(a <= d[0] and d[1] <= b for a, b in windows)]
        kinds = Counter(path.split("/")[1] for _, _, path, _ in load.done)
        assert len(load.done) > 200 and len(during) > 20, (len(load.done), len(during))
        assert {"leads", "enterprises", "chains", "outreach"} <= set(kinds)
        print(  # the figures of the closing note (pytest -rP)
            f"{len(load.done)} requests ({dict(kinds)}), {len(during)} of them during the "
            f"3 reloads ({', '.join(f'{b - a:.1f} s' for a, b in windows)}), 0 failed"
        )
    _no_key_logged(server, analyst, officer)


# ---------------------------------------------------------------- kill -9 mid-stream


def test_kill_9_during_outreach_stream_loses_and_duplicates_nothing(
    trained: Trained, tmp_path: Path, firm_ids: list[str]
) -> None:
    home = home_with_models(trained.settings.home, tmp_path / "home")
    officer = make_key(home, "officer")
    server = Server(serve_env(home, trained.data_dir), tmp_path / "server.log").start()
    run = uuid.uuid4().hex[:8]
    per_worker, workers = 60, 4
    acked: dict[str, str] = {}  # idempotency key → outreach_id of the acknowledged answer
    unexpected: list[str] = []
    retries = Counter[str]()

    def client(worker: int) -> None:
        deadline = time.monotonic() + 300
        with httpx.Client(base_url=server.base, timeout=15) as http:
            for i in range(per_worker):
                key = f"{run}-{worker}-{i}"
                body = {
                    "enterprise_id": firm_ids[(worker * per_worker + i) % len(firm_ids)],
                    "track": "hq",
                    "outcome": "interested",
                    "contacted_on": "2026-11-24",
                    "note": key,
                }
                while time.monotonic() < deadline:  # retry the same key until acknowledged
                    try:
                        r = http.post(
                            "/outreach",
                            json=body,
                            headers={"X-API-Key": officer, "Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        retries["transport"] += 1
                        time.sleep(0.2)
                        continue
                    if r.status_code == 503:  # restarting: loading, or the database busy
                        retries["503"] += 1
                        time.sleep(0.2)
                        continue
                    if r.status_code == 201:
                        acked[key] = r.json()["outreach_id"]
                    else:
                        unexpected.append(f"{key}: {r.status_code} {r.text[:200]}")
                    break

    try:
        assert server.ready().status_code == 200
        threads = [threading.Thread(target=client, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 60, timeout=120, what="60 acknowledged writes")
        server.kill()
        killed_at = len(acked)
        time.sleep(1)
        server.start()  # same port, same database
        for t in threads:
            t.join(timeout=320)
    finally:
        server.stop()

    assert not unexpected, unexpected[:10]
    assert len(acked) == per_worker * workers, len(acked)
    assert killed_at < per_worker * workers and retries["transport"] > 0, (killed_at, retries)
    with sqlite3.connect(home / "service.db") as db:
        rows = db.execute(
            "SELECT note, outreach_id FROM outreach_records WHERE note LIKE ?", (f"{run}-%",)
        ).fetchall()
    counts = Counter(note for note, _ in rows)
    assert set(counts) == set(acked) and set(counts.values()) == {1}
    assert dict(rows) == acked  # every acknowledged record is the stored one
    print(
        f"killed after {killed_at} acknowledged writes; {len(acked)} acknowledged, {len(rows)} "
        f"stored, each once; retries: {dict(retries)}"
    )


# ---------------------------------------------------------------- broken data files


def test_broken_files_name_the_file_and_the_previous_state_keeps_serving(
    trained: Trained, tmp_path: Path
) -> None:
    data = tmp_path / "universe"
    shutil.copytree(trained.data_dir, data)
    home = home_with_models(trained.settings.home, tmp_path / "home")
    analyst = make_key(home, "analyst")
    env = serve_env(home, data)
    with serving(env, tmp_path / "server.log") as server:
        assert server.ready().status_code == 200
        before = server.get("/leads", analyst, params={"track": "bigdata", "limit": 5}).json()
        enterprises = data / "enterprises.parquet"
        good = enterprises.read_bytes()

        def refused_reload(expected: str) -> None:
            reload = server.post("/admin/reload", analyst)
            assert reload.status_code == 503, reload.text
            assert expected in reload.json()["components"]["data"]
            ready = server.get("/ready")  # the previous state still serves, and says why
            assert ready.status_code == 200
            assert expected in ready.json()["last_reload_error"]
            now = server.get("/leads", analyst, params={"track": "bigdata", "limit": 5})
            assert now.status_code == 200 and now.json() == before

        enterprises.write_bytes(good[: len(good) // 2])  # truncated
        refused_reload(f"{enterprises}: not a readable parquet file")
        enterprises.write_bytes(b"PAR1" + bytes(len(good) - 8) + b"PAR1")  # corrupted
        refused_reload(f"{enterprises}: not a readable parquet file")
        enterprises.write_bytes(good)

        # importing a broken CSV or a false Excel into the universe fails naming the file and
        # leaves the served table as it was
        outreach = data / "outreach.parquet"
        kept = outreach.read_bytes()
        broken_csv = tmp_path / "outreach.csv"
        broken_csv.write_bytes(b"enterprise_id,track\n" + b"\xff\xfe\x80 bad\n")
        fake_xlsx = tmp_path / "outreach.xlsx"
        fake_xlsx.write_text("enterprise_id,track\nnot a workbook\n", encoding="utf-8")
        for bad, reason in (
            (broken_csv, "not readable as UTF-8 or GB18030"),
            (fake_xlsx, "not a readable Excel (.xlsx) workbook"),
        ):
            done = _attract(env, "import", "table", "outreach", str(bad), "--out", str(data))
            assert done.returncode != 0
            message = " ".join(done.stderr.split())
            assert str(bad) in message.replace(" ", "") or bad.name in message, message
            assert reason in message, message
            assert outreach.read_bytes() == kept

        reload = server.post("/admin/reload", analyst)
        assert reload.status_code == 200, reload.text
        assert server.get("/ready").json()["last_reload_error"] is None
        after = server.get("/leads", analyst, params={"track": "bigdata", "limit": 5}).json()
        assert after == before
    _no_key_logged(server, analyst)
