"""``attract serve`` in a child process on loopback, for tests that need a real server:
its log goes to a file (read back to prove no key is ever logged); it can be killed with
SIGKILL and started again on the same port and state folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy.orm import sessionmaker

from api.crm.migrate import open_database
from api.crm.people import create_user
from api.crm.tables import create_key
from data.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(home: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server over ``data_dir`` with its state (MLflow, DB) in ``home``."""
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)  # the server finds its store in its own home
    return env | {
        "ATTRACT_HOME": str(home),
        "ATTRACT_DATA_DIR": str(data_dir),
        "ATTRACT_REASONS_PRECOMPUTED": "100",
        **extra,
    }


def home_with_models(source: Path, home: Path) -> Path:
    """A new state folder sharing ``source``'s MLflow store (artifacts stay where they are)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "mlflow.db", home / "mlflow.db")
    return home


def make_key(home: Path, role: str) -> str:
    """A new API key in the service database of ``home``."""
    engine = open_database(Settings(home=home).database)
    try:
        return create_key(sessionmaker(engine), role=role, label="test")
    finally:
        engine.dispose()


def make_user(home: Path, username: str, role: str, password: str) -> None:
    """A new user who signs in with ``password``, in the service database of ``home``."""
    engine = open_database(Settings(home=home).database)
    try:
        create_user(sessionmaker(engine), username=username, role=role, password=password)
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, every: float = 0.2) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


class Server:
    """One ``attract serve`` child; ``start`` again after ``kill`` reuses port and state."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    def start(self) -> Server:
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        return self

    def ready(self, timeout: float = 180) -> httpx.Response:
        """Wait until the load finished (``/ready`` no longer says ``loading``); its answer."""
        answer: list[httpx.Response] = []

        def loaded() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_text()
            try:
                r = httpx.get(f"{self.base}/ready", timeout=5)
            except httpx.TransportError:
                return False
            answer[:] = [r]
            return "loading" not in r.json()["components"].values()

        wait_for(loaded, timeout=timeout, what=f"server on port {self.port} loaded")
        return answer[0]

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def get(self, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def post(self, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({"X-API-Key": key} if key else {})}
        return httpx.post(f"{self.base}{path}", headers=headers, timeout=60, **kwargs)


@contextmanager
def serving(env: dict[str, str], log: Path, port: int | None = None) -> Iterator[Server]:
    """A started server, stopped on exit."""
    server = Server(env, log, port).start()
    try:
        yield server
    finally:
        server.stop()
