"""Run every benchmark of DESIGN.md's table, print target vs measured, write bench/results/*.json.

Each benchmark runs in its own process (``python -m bench.run --one NAME``) so that memory and
threads of one do not disturb the next. Timings are medians of repeated runs; comparisons are
ratios measured in the same run. Inputs live in ``bench/.work/`` (git-ignored): the 1 M-candidate
demo, the 200 k demo and an MLflow store with the model trained on it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
WORK = ROOT / ".work"
DEMO_1M = WORK / "demo1m"
DEMO_200K = WORK / "demo200k"
HOME = WORK / "home"
REPEATS = 3
ATTRACT = str(Path(sys.executable).parent / "attract")


def _env() -> dict[str, str]:
    env = {**os.environ, "ATTRACT_HOME": str(HOME)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _timed(
    bench: str, target: str, times: list[float], limit_s: float, measured: str, digits: int = 2
) -> dict[str, object]:
    """The result row of a benchmark judged by its median time against ``limit_s``."""
    median = statistics.median(times)
    return {
        "bench": bench,
        "target": target,
        "seconds_median": round(median, digits),
        "seconds_runs": [round(t, digits) for t in times],
        "met": median <= limit_s,
        "measured": measured,
    }


def _median(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def _ensure_demo(path: Path, candidates: int) -> None:
    if not (path / "manifest.json").exists():
        subprocess.run(
            [ATTRACT, "demo", "--candidates", str(candidates), "--out", str(path)],
            env=_env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def _ensure_model() -> None:
    _ensure_demo(DEMO_200K, 200_000)
    from data.settings import Settings
    from models.registry import CHAMPION, load_scorer, version_by_alias

    settings = Settings(home=HOME)
    try:  # a champion saved by an older version of the scorer is trained again
        usable = version_by_alias(settings, "shibei", CHAMPION) is not None
        if usable:
            load_scorer(settings, "shibei")
    except (AttributeError, ImportError, ModuleNotFoundError):
        usable = False
    if not usable:
        for cmd in (["train", "--data", str(DEMO_200K)], ["promote"]):
            subprocess.run(
                [ATTRACT, *cmd],
                env=_env(),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )


def _officer_key(env: dict[str, str], role: str = "officer") -> str:
    created = subprocess.run(
        [ATTRACT, "keys", "create", "--role", role, "--label", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


# worker processes of the served benchmarks (they map one snapshot, home/snapshots)
WORKERS = int(os.environ.get("ATTRACT_SERVE_WORKERS", "2"))


@contextmanager
def _serving(
    env: dict[str, str], port: int, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str, float]]:
    """`attract serve` on loopback, once ready: (process, base URL, seconds until ready). With
    several workers it is ready when 20 answers in a row are 200 (any worker may answer one).
    Without the access log, as behind a proxy that logs the requests."""
    import httpx

    server = subprocess.Popen(
        [ATTRACT, "serve", "--port", str(port), "--workers", str(workers), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        in_a_row = 0
        while in_a_row < (1 if workers == 1 else 20):
            try:
                ok = httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200
            except httpx.TransportError:
                ok = False
            in_a_row = in_a_row + 1 if ok else 0
            if server.poll() is not None or time.perf_counter() - started > 300:
                raise SystemExit("server not ready in 300 s")
            time.sleep(0.02 if ok else 0.25)
        yield server, base, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)


def _memory_mb(pid: int) -> tuple[float, float]:
    """(Σ PSS, Σ RSS) in MB of a server and its worker processes: PSS counts a page shared by
    n processes 1/n in each (the mapped snapshot once in all), RSS in full in every one."""
    import psutil

    root = psutil.Process(pid)
    pss = rss = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        pss += info.pss / 2**20
        rss += info.rss / 2**20
    return pss, rss


# ------------------------------------------------------------------ the benchmarks


def bench_demo_generation() -> dict[str, object]:
    """`attract demo --candidates 1000000`: wall time and peak RSS (≤ 60 s, ≤ 4 GB)."""
    times, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(REPEATS):
            out = Path(tmp) / f"demo{i}"
            started = time.perf_counter()
            child = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _RSS_CHILD,
                    ATTRACT,
                    "demo",
                    "--candidates",
                    "1000000",
                    "--out",
                    str(out),
                ],
                env=_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(time.perf_counter() - started)
            peaks.append(float(child.stdout.strip().splitlines()[-1]))
        if not DEMO_1M.exists():
            WORK.mkdir(parents=True, exist_ok=True)
            shutil.copytree(out, DEMO_1M)
    median = statistics.median(times)
    return {
        "bench": "demo generation, 1 M candidates",
        "target": "≤ 60 s, peak RSS ≤ 4 GB",
        "seconds_median": round(median, 2),
        "seconds_runs": [round(t, 2) for t in times],
        "peak_rss_mb": round(max(peaks)),
        "met": median <= 60 and max(peaks) <= 4096,
        "measured": f"{median:.1f} s (runs {', '.join(f'{t:.1f}' for t in times)}), peak RSS {max(peaks):,.0f} MB",
    }


_RSS_CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def bench_training() -> dict[str, object]:
    """`attract train` on 200 k candidates + ~19 k outreach rows (≤ 120 s)."""
    _ensure_demo(DEMO_200K, 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**_env(), "ATTRACT_HOME": tmp}

        def run() -> None:
            subprocess.run(
                [ATTRACT, "train", "--data", str(DEMO_200K)],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        median, times = _median(run)
    return _timed(
        "training, 200 k candidates + 19 k outreach rows",
        "≤ 120 s",
        times,
        120,
        f"{median:.1f} s (runs {', '.join(f'{t:.1f}' for t in times)}), MLflow logging included",
        digits=1,
    )


def bench_batch_scoring() -> dict[str, object]:
    """Scoring 1 M candidates (eligibility, features, all boosters, value, rank) against bare
    ``Booster.predict`` of the same boosters on the same prepared matrices (≤ 1.5×). The
    universe's feature context (gap analysis, gap values, industry rates) is computed once per
    universe, as ``training.batch.score_context`` does, and is not part of a run."""
    _ensure_demo(DEMO_1M, 1_000_000)
    _ensure_model()
    import numpy as np
    import pandas as pd

    from data.settings import Settings
    from data.universe import load_universe
    from training.batch import add_ranks, score_context, score_partition

    tables = load_universe(
        DEMO_1M, ["enterprises", "enterprise_links", "park_roster", "tax_records"]
    )
    settings = Settings(home=HOME)
    ctx0 = score_context(settings, DEMO_1M, "shibei", tables)
    scorer = ctx0.scorer
    firms = tables["enterprises"]
    matrices: list[tuple[str, pd.DataFrame]] = []

    def pipeline() -> pd.DataFrame:
        parts = [
            score_partition(firms.iloc[i : i + 250_000], ctx0)
            for i in range(0, len(firms), 250_000)
        ]
        return add_ranks(pd.concat(parts, ignore_index=True))

    def bare() -> None:  # what the scorer asks of LightGBM: rate boosters where revenue is known
        for _track, X in matrices:
            tax_X = X[list(scorer.tax_features)]
            rated = np.expm1(tax_X["log_revenue"].to_numpy()) > 0
            for (kind, _q), booster in scorer.tax.boosters_.items():
                rows = rated if kind == "rate" else ~rated
                booster.booster_.predict(tax_X[rows].to_numpy())
            scorer.propensity.booster_.booster_.predict(
                X[list(scorer.propensity_features)].to_numpy()
            )  # type: ignore[union-attr]

    _collect_matrices(ctx0, firms, matrices)
    rows = len(pipeline())
    pipe_times, bare_times = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        pipeline()
        pipe_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - started)
    p, b = statistics.median(pipe_times), statistics.median(bare_times)
    n_rows = sum(len(X) for _, X in matrices)
    return {
        "bench": "batch scoring, 1 M candidates",
        "target": "≤ 1.5× bare Booster.predict",
        "seconds_median": round(p, 1),
        "bare_seconds_median": round(b, 1),
        "ratio": round(p / b, 3),
        "scored_rows": rows,
        "matrix_rows": n_rows,
        "met": p / b <= 1.5,
        "measured": f"{p:.1f} s vs bare {b:.1f} s = {p / b:.2f}× ({n_rows:,} firm-track rows)",
    }


def _collect_matrices(ctx: object, firms: object, out: list[tuple[str, object]]) -> None:
    from models.leads import score_candidates

    for track in ctx.fc.park.tracks:  # type: ignore[attr-defined]
        cands = score_candidates(
            scorer=ctx.scorer,  # type: ignore[attr-defined]
            fc=ctx.fc,  # type: ignore[attr-defined]
            firms=firms,  # type: ignore[arg-type]
            links=ctx.links,  # type: ignore[attr-defined]
            track=track,
            as_of=ctx.as_of,  # type: ignore[attr-defined]
            history=ctx.history,  # type: ignore[attr-defined]
            ranked=False,
        )
        out.append((track, cands.features))


def bench_leads_load() -> dict[str, object]:
    """`GET /leads` with filters over 1 M candidates: wrk (a separate process) against
    `attract serve` on loopback; p50 ≤ 15 ms, p99 ≤ 60 ms, ≥ 300 req/s; server RSS ≤ 2 GB."""
    _ensure_demo(DEMO_1M, 1_000_000)
    _ensure_model()

    _need_wrk()
    env = {**_env(), "ATTRACT_DATA_DIR": str(DEMO_1M)}
    key = _officer_key(env)
    with _serving(env, port=8799, workers=WORKERS) as (server, base, ready_seconds):
        time.sleep(30)  # let the background warm-up of reasons finish
        script = WORK / "leads.lua"
        lua = _WRK_SCRIPT.replace("KEY", key).replace("PATHS", _lua_list(LEAD_PATHS))
        script.write_text(lua, encoding="utf-8")
        cold = _wrk(base, script, seconds=20)
        warm = _wrk(base, script, seconds=30)
        pss, rss = _memory_mb(server.pid)
    met = warm["p50_ms"] <= 15 and warm["p99_ms"] <= 60 and warm["rps"] >= 300 and pss <= 2048
    return {
        "bench": f"GET /leads with filters, 1 M candidates, {WORKERS} workers",
        "target": "p50 ≤ 15 ms, p99 ≤ 60 ms, ≥ 300 req/s, Σ PSS of the workers ≤ 2 GB",
        "ready_seconds": round(ready_seconds, 1),
        "first_run": cold,
        "steady_run": warm,
        "server_pss_mb": round(pss),
        "server_rss_mb": round(rss),
        "load_average": os.getloadavg(),
        "met": met,
        "measured": f"steady: p50 {warm['p50_ms']:.1f} ms, p99 {warm['p99_ms']:.1f} ms, {warm['rps']:.0f} req/s; "
        f"first 20 s: p50 {cold['p50_ms']:.1f}, p99 {cold['p99_ms']:.1f} ms, {cold['rps']:.0f} req/s; "
        f"Σ PSS {pss:,.0f} MB (Σ RSS {rss:,.0f} MB); ready in {ready_seconds:.1f} s",
    }


LEAD_PATHS = (
    "/api/v1/leads?track=bigdata&limit=50",
    "/api/v1/leads?track=hq&limit=50",
    "/api/v1/leads?track=bigdata&chain=big_data&limit=50",
    "/api/v1/leads?track=bigdata&link=big_data.privacy_computing&limit=50",
    "/api/v1/leads?track=bigdata&province=%E6%B1%9F%E8%8B%8F%E7%9C%81&min_tax=100&limit=50",
    "/api/v1/leads?track=hq&min_probability=0.2&offset=50&limit=50",
)


def _lua_list(values: list[str] | tuple[str, ...]) -> str:
    """A Lua table of strings (a JSON string literal is a Lua one)."""
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


_WRK_SCRIPT = """
local paths = PATHS
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {["X-API-Key"] = "KEY"})
end
"""


def _need_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk (apt-get install wrk)")


MIXED_SECONDS = int(os.environ.get("ATTRACT_LOAD_SECONDS", "120"))
RELOAD_AT = int(os.environ.get("ATTRACT_LOAD_RELOAD_AT", "0"))  # seconds into the load; 0: none
CONNECTIONS = 4


# the service database of the mixed load: ``sqlite`` (the bench home's file) or ``postgresql``
# (a throwaway server of Debian's postgresql, as the tests start it)
LOAD_DATABASE = os.environ.get("ATTRACT_LOAD_DATABASE", "sqlite")


def bench_mixed_load() -> dict[str, object]:
    """The load script of the throughput target: wrk (a separate process) against `attract serve`
    over the 1 M demo for two minutes, a mix of lead lists (30 %), enterprise pages (20 %), chain
    reads (15 %), outreach writes (10 %), pipeline reads (15 %) and pipeline updates (10 %);
    zero errors, ≥ 400 req/s, p99 ≤ 50 ms, server RSS ≤ 2 GB, every acknowledged write stored
    exactly once and every pipeline update in the audit exactly once; on the service database
    ``ATTRACT_LOAD_DATABASE`` names."""
    if LOAD_DATABASE == "postgresql":
        from tests.pg import postgres_server

        with postgres_server() as pg, pg.database() as url:
            return _mixed_load(url)
    if LOAD_DATABASE != "sqlite":
        raise SystemExit(
            f"ATTRACT_LOAD_DATABASE: {LOAD_DATABASE!r} is neither sqlite nor postgresql"
        )
    return _mixed_load(f"sqlite:///{HOME / 'service.db'}")


class _Driver:
    """A SQLAlchemy connection answering ``execute(sql with ?, params)`` in the driver's own
    parameter style (qmark for SQLite, format for psycopg)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        return self._connection.exec_driver_sql(sql.replace("?", self._mark), params)


def _mixed_load(database_url: str) -> dict[str, object]:
    _ensure_demo(DEMO_1M, 1_000_000)
    _ensure_model()
    import threading
    import uuid

    import pandas as pd

    from data.reference import default_chains, default_parks

    _need_wrk()
    env = {**_env(), "ATTRACT_DATA_DIR": str(DEMO_1M), "ATTRACT_DATABASE_URL": database_url}
    key = _officer_key(env)
    run = f"load-{uuid.uuid4().hex[:10]}"
    firms = pd.read_parquet(DEMO_1M / "enterprises.parquet", columns=["enterprise_id"])
    sample = firms["enterprise_id"].sample(n=2_000, random_state=20211102).tolist()
    links = [(c.id, link.id) for c in default_chains().values() for link in c.links]
    prelude = (
        f'key = "{key}"\nrun = "{run}"\n'
        f"leads = {_lua_list((*LEAD_PATHS, '/api/v1/leads?track=hq&exclude_contacted=true&limit=20'))}\n"
        f"firms = {_lua_list(sample)}\n"
        f"tracks = {_lua_list(list(default_parks()['shibei'].tracks))}\n"
        f"links = {{{', '.join(f'{{{json.dumps(c)}, {json.dumps(ln)}}}' for c, ln in links)}}}\n"
    )
    script = WORK / "mixed.lua"
    with _serving(env, port=8798, workers=WORKERS) as (server, base, ready_seconds):
        versions = _pipeline_leads(base, key, PIPELINE_LEADS)
        pipeline = list(versions)
        prelude += f"pipeline = {{{', '.join(str(i) for i in pipeline)}}}\n"
        prelude += (
            f"start_versions = {{{', '.join(f'[{i}] = {v}' for i, v in versions.items())}}}\n"
        )
        script.write_text(
            prelude + (ROOT / "mixed.lua").read_text(encoding="utf-8"), encoding="utf-8"
        )
        time.sleep(30)  # let the background warm-up of reasons finish
        rss_samples: list[float] = []
        pss_samples: list[float] = []
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.wait(2.0):
                pss, rss = _memory_mb(server.pid)
                pss_samples.append(pss)
                rss_samples.append(rss)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        reloads: list[dict[str, object]] = []
        if RELOAD_AT:  # POST /admin/reload while wrk runs (a worker swaps its state under load)
            analyst = _officer_key(env, role="analyst")

            def reload_later() -> None:
                import httpx

                if stop.wait(RELOAD_AT):
                    return
                started = time.perf_counter()
                r = httpx.post(
                    f"{base}/api/v1/admin/reload", headers={"X-API-Key": analyst}, timeout=120
                )
                reloads.append(
                    {
                        "at_s": RELOAD_AT,
                        "status": r.status_code,
                        "seconds": time.perf_counter() - started,
                    }
                )

            threading.Thread(target=reload_later, daemon=True).start()
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                "-c4",
                f"-d{MIXED_SECONDS}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        stop.set()
        sampler.join()
    result = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.connect() as connection:
        db = _Driver(connection)
        stored = db.execute(
            "SELECT COUNT(*) FROM outreach_records WHERE note = ?", (run,)
        ).fetchone()[0]
        keys = db.execute(
            "SELECT COUNT(*) FROM idempotency_keys WHERE key LIKE ?", (f"{run}-%",)
        ).fetchone()[0]
        audit = _pipeline_audit(db, run, pipeline)
    engine.dispose()
    statuses = {int(k): v for k, v in result["statuses"].items()}
    errors = sum(v for k, v in statuses.items() if not 200 <= k < 300) + result["socket_errors"]
    errors += result["timeouts"]
    rps = result["requests"] / result["seconds"]
    written = statuses.get(201, 0)
    # a write in flight when wrk stops may be stored without wrk counting its answer
    writes_ok = stored == keys and written <= stored <= written + CONNECTIONS
    rss_max = max(rss_samples, default=0.0)
    pss_max = max(pss_samples, default=0.0)
    met = (
        errors == 0
        and rps >= 400
        and result["p99_ms"] <= 50
        and pss_max <= 2048
        and writes_ok
        and audit["ok"]
    )
    return {
        "bench": f"mixed load, {MIXED_SECONDS} s, 1 M candidates, {LOAD_DATABASE}",
        "database": LOAD_DATABASE,
        "target": "≥ 400 req/s, p99 ≤ 50 ms, zero errors, Σ PSS ≤ 2 GB; every acknowledged write "
        "stored once, every pipeline update in the audit once",
        "ready_seconds": round(ready_seconds, 1),
        "run": run,
        **result,
        "rps": round(rps, 1),
        "errors": errors,
        "writes_acknowledged": written,
        "writes_stored": stored,
        "writes_stored_once": stored == keys,
        "workers": WORKERS,
        "reloads": reloads,
        "server_pss_mb_max": round(pss_max),
        "server_rss_mb_max": round(rss_max),
        "load_average": os.getloadavg(),
        "pipeline": audit,
        "met": met,
        "measured": f"{rps:.0f} req/s over {result['requests']:,} requests "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(result['kinds'].items()))}); "
        f"p50 {result['p50_ms']:.1f}, p90 {result['p90_ms']:.1f}, p99 {result['p99_ms']:.1f}, "
        f"max {result['max_ms']:.0f} ms; {errors} errors; writes {written:,} acknowledged, "
        f"{stored:,} stored, each once: {stored == keys}; pipeline updates {audit['updates']:,} "
        f"in the audit, each once: {audit['ok']}; {WORKERS} workers, Σ PSS ≤ {pss_max:,.0f} MB "
        f"(Σ RSS ≤ {rss_max:,.0f} MB); ready in {ready_seconds:.1f} s",
    }


PIPELINE_LEADS = 200


def _pipeline_leads(base: str, key: str, n: int) -> dict[int, int]:
    """``n`` leads of the big-data list put on the pipeline by the load's key (its user owns
    them; those already there from an earlier run are taken as they are): id → version."""
    import httpx

    headers = {"X-API-Key": key}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=60) as http:
        items = http.get("/leads", params={"track": "bigdata", "limit": n, "offset": 5_000}).json()[
            "items"
        ]
        leads: dict[int, int] = {}
        for item in items:
            body = {"enterprise_id": item["enterprise_id"], "track": "bigdata"}
            r = http.post("/pipeline", json=body)
            if r.status_code == 409:  # on the pipeline from an earlier run
                lead_id = int(r.json()["detail"].rsplit("lead ", 1)[1].rstrip(")"))
                r = http.get(f"/pipeline/{lead_id}")
            r.raise_for_status()
            leads[int(r.json()["id"])] = int(r.json()["version"])
    return leads


def _pipeline_audit(db: object, run: str, leads: list[int]) -> dict[str, object]:
    """The load's pipeline updates in the audit: each note of the run once, and every lead's
    version one more than its changes so far (no lost or doubled update)."""
    marks = ",".join("?" * len(leads))
    notes = db.execute(  # type: ignore[attr-defined]
        f"SELECT to_value, COUNT(*) FROM pipeline_events WHERE field = 'note' AND to_value LIKE ? "
        f"AND lead_id IN ({marks}) GROUP BY to_value",
        (f"{run}-%", *leads),
    ).fetchall()
    changes = dict(
        db.execute(  # type: ignore[attr-defined]
            f"SELECT lead_id, COUNT(*) FROM (SELECT DISTINCT lead_id, version FROM pipeline_events "
            f"WHERE lead_id IN ({marks})) AS changed GROUP BY lead_id",
            tuple(leads),
        ).fetchall()
    )
    versions = dict(
        db.execute(  # type: ignore[attr-defined]
            f"SELECT id, version FROM pipeline_leads WHERE id IN ({marks})", tuple(leads)
        ).fetchall()
    )
    once = all(count == 1 for _, count in notes)
    versions_ok = all(versions[i] == changes.get(i, 0) for i in leads)
    return {
        "updates": len(notes),
        "each_once": once,
        "versions_match": versions_ok,
        "ok": once and versions_ok,
    }


def _wrk(base: str, script: Path, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def pct(label: str) -> float:
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(label))
        value = line.split()[-1]
        scale = (
            1000.0
            if value.endswith("s") and not value.endswith("ms") and not value.endswith("us")
            else 1.0
        )
        return float(value.rstrip("msu")) * (scale if not value.endswith("us") else 0.001)

    rps = float(next(ln for ln in out.splitlines() if ln.startswith("Requests/sec")).split()[-1])
    errors = sum(
        int(w) for ln in out.splitlines() if "Non-2xx" in ln for w in ln.split() if w.isdigit()
    )
    return {
        "p50_ms": pct("50%"),
        "p90_ms": pct("90%"),
        "p99_ms": pct("99%"),
        "rps": rps,
        "non_2xx": errors,
    }


def bench_chainkg_graph() -> dict[str, object]:
    """ChainKnowledgeGraph import + knowledge-graph build (≤ 10 s)."""
    from data.chainkg import import_chainkg
    from data.reference import default_chains, default_parks
    from data.settings import get_settings
    from industry_graph.attach import attach_universe
    from industry_graph.graph import build_graph

    folder = get_settings().shared_data / "chainkg"
    if not folder.is_dir():
        raise SystemExit(f"needs the real data at {folder.resolve()} (set ATTRACT_SHARED_DATA)")
    sizes: dict[str, int] = {}

    def run() -> None:
        imported = import_chainkg(folder)
        attach_universe(imported.results, source=folder)
        graph = build_graph(chains=default_chains(), tables=imported.tables, parks=default_parks())
        sizes.update(nodes=graph.number_of_nodes(), edges=graph.number_of_edges())

    median, times = _median(run)
    return _timed(
        "ChainKnowledgeGraph import + attachment + graph build",
        "≤ 10 s",
        times,
        10,
        f"{median:.2f} s for {sizes['nodes']:,} nodes, {sizes['edges']:,} edges",
    )


def bench_gap_analysis() -> dict[str, object]:
    """One chain's gap analysis for Shibei over the 1 M-candidate demo (≤ 50 ms)."""
    _ensure_demo(DEMO_1M, 1_000_000)
    from data.reference import default_chains, default_parks
    from data.universe import load_universe
    from industry_graph.gaps import analyse_gaps, park_context

    tables = load_universe(DEMO_1M, ["enterprises", "enterprise_links", "park_roster"])
    started = time.perf_counter()
    ctx = park_context(
        park=default_parks()["shibei"],
        chains=default_chains(),
        enterprises=tables["enterprises"],
        enterprise_links=tables["enterprise_links"],
        park_roster=tables["park_roster"],
    )
    context_seconds = time.perf_counter() - started
    median, _ = _median(lambda: analyse_gaps(ctx, "big_data"), 21)
    return {
        "bench": "one chain's gap analysis (big_data, 1 M candidates)",
        "target": "≤ 50 ms",
        "seconds_median": round(median, 5),
        "context_seconds": round(context_seconds, 3),
        "met": median <= 0.05,
        "measured": f"{median * 1000:.2f} ms (median of 21); park context built once in {context_seconds:.2f} s",
    }


def bench_attach_real() -> dict[str, object]:
    """Attaching the ChainKG firms (products) plus the 74,799 Shanghai registrations (business
    scope) to chain links, imports excluded (≤ 30 s)."""
    import pandas as pd

    from data import columns as C
    from data.chainkg import import_chainkg
    from data.importers import import_enterprises
    from data.settings import get_settings
    from industry_graph.attach import attach_tables

    shared = get_settings().shared_data
    registry = (
        shared
        / "shanghai_enterprise_registration_1979_2004"
        / "shanghai_registrations_1979_2004.csv"
    )
    if not registry.exists():
        raise SystemExit(f"needs the real data at {shared.resolve()} (set ATTRACT_SHARED_DATA)")
    tables = import_chainkg(shared / "chainkg").tables
    firms = pd.concat(
        [tables["enterprises"], import_enterprises(registry).frame], ignore_index=True
    )
    counts: dict[str, int] = {}

    def run() -> None:
        attachment = attach_tables({**tables, "enterprises": firms})
        counts.update(firms=len(firms), attached=attachment.links[C.ENTERPRISE_ID].nunique())

    median, times = _median(run)
    return _timed(
        "attach ChainKG firms + Shanghai registrations to links",
        "≤ 30 s",
        times,
        30,
        f"{median:.1f} s for {counts['firms']:,} firms ({counts['attached']:,} attached)",
    )


def bench_attach_demo() -> dict[str, object]:
    """Attaching the 1 M-candidate demo from its business scopes (≤ 60 s; the whole demo
    generation, attachment included, is ``demo_generation``)."""
    _ensure_demo(DEMO_1M, 1_000_000)
    from data import columns as C
    from data.universe import load_universe
    from industry_graph.attach import attach_tables

    tables = load_universe(DEMO_1M, ["enterprises"])
    attached: list[int] = []
    median, times = _median(
        lambda: attached.append(attach_tables(tables).links[C.ENTERPRISE_ID].nunique())
    )
    return _timed(
        "attach the 1 M demo from business scopes",
        "≤ 60 s",
        times,
        60,
        f"{median:.1f} s for {len(tables['enterprises']):,} firms ({attached[-1]:,} attached)",
    )


def bench_lookalikes_real() -> dict[str, object]:
    """Lookalikes against Shenwan without the industry code, and the district hold-out of the
    roster fit, on the real A-share universe (``bench/lookalikes.py``)."""
    from bench.lookalikes import run

    return run(WORK)


def bench_pipeline_concurrency() -> dict[str, object]:
    """Eight clients (team leads, each with its own key) reading and changing the same 50
    pipeline leads for 60 s against `attract serve` over the 200 k demo, on SQLite and on a
    PostgreSQL server: no lost update, every accepted change in the audit exactly once, every
    refused one a 409."""
    _ensure_model()
    import tempfile

    import httpx
    from sqlalchemy.orm import sessionmaker

    from api.crm.migrate import open_database
    from api.crm.people import create_user
    from api.crm.tables import create_key
    from bench.pipeline_load import check, hammer
    from tests.pg import postgres_server

    seconds = int(os.environ.get("ATTRACT_PIPELINE_SECONDS", "60"))
    figures: dict[str, dict[str, object]] = {}
    with postgres_server() as pg, pg.database() as pg_url, tempfile.TemporaryDirectory() as tmp:
        for backend, url in (("sqlite", f"sqlite:///{tmp}/service.db"), ("postgresql", pg_url)):
            engine = open_database(url)
            sessions = sessionmaker(engine, expire_on_commit=False)
            keys = []
            for n in range(8):
                create_user(sessions, username=f"lead{n}", role="lead", password=f"lead-pw-{n:04d}")
                keys.append(create_key(sessions, username=f"lead{n}"))
            engine.dispose()
            env = {**_env(), "ATTRACT_DATA_DIR": str(DEMO_200K), "ATTRACT_DATABASE_URL": url}
            with _serving(env, port=8797) as (_server, base, _ready):
                time.sleep(20)  # the background warm-up
                with httpx.Client(
                    base_url=f"{base}/api/v1", headers={"X-API-Key": keys[0]}, timeout=60
                ) as http:
                    items = http.get("/leads", params={"track": "bigdata", "limit": 50}).json()
                    leads = [
                        int(
                            http.post(
                                "/pipeline",
                                json={"enterprise_id": x["enterprise_id"], "track": "bigdata"},
                            ).json()["id"]
                        )
                        for x in items["items"]
                    ]
                tally = hammer(f"{base}/api/v1", keys, leads, seconds=seconds)
            figures[backend] = check(url, leads, tally)
    met = all(f["ok"] for f in figures.values())
    return {
        "bench": f"pipeline concurrency, 8 clients × 50 leads × {seconds} s, 200 k candidates",
        "target": "no lost update; every accepted change in the audit once; refusals are 409",
        **figures,
        "met": met,
        "measured": "; ".join(
            f"{b}: {f['accepted']:,} accepted, {f['refused_409']:,} refused (409), "
            f"audit rows {f['audit_rows']:,}, each once {f['each_accepted_change_in_audit_once']}, "
            f"versions match {f['final_versions_match']}, other {f['other_statuses']}, "
            f"PATCH p50 {f['patch_p50_ms']} ms, p99 {f['patch_p99_ms']} ms"
            for b, f in figures.items()
        ),
    }


def bench_link_corrections() -> dict[str, object]:
    """Issue 27, point 4 (``industry_graph.link_study``): the tuning labels of
    tests/fixtures/link_labels.csv as a curator's corrections, the vocabulary changes they
    suggest (accepted when they change ≥ 2 tuning firms and undo none), the holdout before and
    after, and the review-queue items a curator corrects before the holdout reaches 0.80 / 0.85;
    each accepted change's reach over all ChainKG firms and Shanghai registrations."""
    from data import columns as C
    from data.settings import get_settings
    from industry_graph.attach import read_link_labels, sample_tables
    from industry_graph.link_study import run_link_study

    shared = get_settings().shared_data
    if not (shared / "chainkg").exists():
        raise SystemExit(f"needs the real data at {shared.resolve()} (set ATTRACT_SHARED_DATA)")
    labels = read_link_labels(ROOT.parent / "tests" / "fixtures" / "link_labels.csv")
    universe = sample_tables(shared)
    firms = universe["enterprises"]
    tables = {
        **universe,
        "enterprises": firms[firms[C.ENTERPRISE_ID].isin(set(labels[C.ENTERPRISE_ID]))],
    }
    started = time.perf_counter()
    study = run_link_study(tables=tables, labels=labels, universe=universe)
    seconds = time.perf_counter() - started
    summary = study.summary()
    before, after = study.holdout_before, study.holdout_after
    return {
        "bench": "link corrections: suggestions on the holdout, queue items to the goals",
        "target": "holdout not lowered; queue reaches 0.80 / 0.85 before a random order",
        "met": after[0] >= before[0] and after[1] >= before[1],
        "measured": (
            f"holdout {before[0]:.3f}/{before[1]:.3f} → {after[0]:.3f}/{after[1]:.3f} with "
            f"{len(study.accepted)} of {study.suggested} suggestions; queue: "
            f"{study.queue.to_both} of {len(study.queue.order)} items to both goals "
            f"(random {study.random_to_both}, oracle {study.oracle.to_both}); {seconds:.0f} s"
        ),
        **summary,
    }


def bench_contact_plan() -> dict[str, object]:
    """The contact plan over the 1 M-candidate demo (issue 25): from the loaded service state
    (lead tables scored by the 200 k champion, an empty pipeline) the targets, the candidates
    and their target matrix, the LP with its column generation, the tax-only LP, the KPI
    targets' costs and both lists (≤ 30 s); the state's load is timed apart; peak RSS of the
    process stated."""
    _ensure_demo(DEMO_1M, 1_000_000)
    _ensure_model()
    from sqlalchemy.orm import sessionmaker

    from api.crm.migrate import open_database
    from api.serving import plan as served_plan
    from api.serving.state import load_state
    from data.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'service.db'}"
        engine = open_database(url)
        settings = Settings(home=HOME, data_dir=DEMO_1M, database_url=url)
        started = time.perf_counter()
        state = load_state(settings)
        load_s = time.perf_counter() - started
        assert state.ready, state.status
        factory = sessionmaker(engine, expire_on_commit=False)
        times, last = [], None
        for capacity in (None, 16, 17):  # each a new plan (the memo holds one per capacity)
            started = time.perf_counter()
            last = served_plan.contact_plan(state, factory, capacity=capacity)
            times.append(time.perf_counter() - started)
        engine.dispose()
    assert last is not None
    median = statistics.median(times)
    plan = last.plan
    rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {
        "bench": "contact plan, 1 M candidates",
        "target": "≤ 30 s end to end from the loaded state",
        "seconds_median": round(median, 1),
        "seconds_runs": [round(t, 1) for t in times],
        "state_load_seconds": round(load_s, 1),
        "candidates": plan.candidates_in,
        "candidates_solved": len(plan.candidates),
        "rounds": plan.rounds,
        "targets": len(plan.targets),
        "peak_rss_mb": rss_mb,
        "met": median <= 30,
        "measured": f"{median:.1f} s ({plan.candidates_in:,} candidate rows, "
        f"{len(plan.candidates):,} in the LP, {len(plan.targets)} targets); state load "
        f"{load_s:.0f} s; peak RSS {rss_mb:,} MB",
    }


BENCHES: dict[str, Callable[[], dict[str, object]]] = {
    "demo_generation": bench_demo_generation,
    "training": bench_training,
    "batch_scoring": bench_batch_scoring,
    "leads_load": bench_leads_load,
    "mixed_load": bench_mixed_load,
    "chainkg_graph": bench_chainkg_graph,
    "gap_analysis": bench_gap_analysis,
    "attach_real": bench_attach_real,
    "attach_demo": bench_attach_demo,
    "lookalikes_real": bench_lookalikes_real,
    "pipeline_concurrency": bench_pipeline_concurrency,
    "link_corrections": bench_link_corrections,
    "contact_plan": bench_contact_plan,
}


def _run_one(name: str) -> None:
    result = BENCHES[name]()
    result |= {
        "machine": platform.node(),
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(),
        "max_rss_mb_bench_process": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def main() -> None:
    """`python -m bench.run [NAME ...]`: the named benchmarks (default: all), each in its own process."""
    args = sys.argv[1:]
    if args[:1] == ["--one"]:
        _run_one(args[1])
        return
    names = args or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    table = Table(title="Shibei Attract benchmarks (DESIGN.md targets)")
    for col in ("bench", "target", "measured", "met"):
        table.add_column(col)
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "bench.run", "--one", name], check=True, cwd=ROOT.parent
        )
        result = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
        table.add_row(
            str(result["bench"]),
            str(result["target"]),
            str(result["measured"]),
            "yes" if result["met"] else "NO",
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
