"""A real PostgreSQL server for the tests, from Debian's ``postgresql`` package (``make test``
installs it): a throw-away cluster on a free port, started with ``pg_ctl`` (as the ``postgres``
user when the tests run as root, since PostgreSQL refuses to run as root), and fresh databases
in it made by pytest-postgresql's ``DatabaseJanitor``."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_postgresql.janitor import DatabaseJanitor

from tests.served import free_port

USER = "attract"
_databases = itertools.count()


def pg_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (the newest version), if installed."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One cluster in a temporary folder; ``database()`` makes a new, empty database."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="attract-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-800:]}")

    def start(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new database for the duration of the block; its SQLAlchemy URL."""
        name = f"attract_{os.getpid()}_{next(_databases)}"
        janitor = DatabaseJanitor(user=USER, host="127.0.0.1", port=self.port, dbname=name)
        janitor.init()
        try:
            yield f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{name}"
        finally:
            janitor.drop()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A started server, stopped and deleted afterwards; ``RuntimeError`` if it cannot start."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError("Debian's postgresql is not installed (make test installs it)")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()
