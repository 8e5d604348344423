"""Run every benchmark, print target vs measured, write ``bench/results/<name>.json``.

Timings are medians of repeated runs in fresh processes (peak RSS is per process); targets come
from DESIGN.md's performance table.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
REPEATS = 3


def _run_measured(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of a command, from GNU time's report if present."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_WRAPPER, *args], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    peak_mb = float(proc.stdout.strip().splitlines()[-1])
    return elapsed, peak_mb


# runs the command as a child and reports its peak RSS (ru_maxrss of children, in kB on Linux)
_RSS_WRAPPER = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def bench_demo_generation(candidates: int = 1_000_000) -> dict[str, object]:
    """`attract demo --candidates 1000000`: wall time and peak RSS (target ≤ 60 s, ≤ 4 GB)."""
    attract = str(Path(sys.executable).parent / "attract")
    times, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(REPEATS):
            out = Path(tmp) / f"demo{i}"
            elapsed, peak = _run_measured(
                [attract, "demo", "--candidates", str(candidates), "--out", str(out)]
            )
            times.append(elapsed)
            peaks.append(peak)
    return {
        "bench": "demo generation, 1 M candidates",
        "target": "≤ 60 s, peak RSS ≤ 4 GB",
        "seconds_median": round(statistics.median(times), 2),
        "seconds_runs": [round(t, 2) for t in times],
        "peak_rss_mb_max": round(max(peaks), 1),
        "measured": f"{statistics.median(times):.1f} s (runs {', '.join(f'{t:.1f}' for t in times)}), "
        f"peak RSS {max(peaks):,.0f} MB",
        "met": statistics.median(times) <= 60 and max(peaks) <= 4096,
    }


def _median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def _shared_data() -> Path:
    from data.settings import get_settings

    folder = get_settings().shared_data
    if not (folder / "chainkg").is_dir():
        raise SystemExit(
            f"benchmark needs the real data at {folder.resolve()} (set ATTRACT_SHARED_DATA)"
        )
    return folder


def bench_chainkg_graph() -> dict[str, object]:
    """ChainKnowledgeGraph import + knowledge-graph build (target ≤ 10 s)."""
    from data.chainkg import import_chainkg
    from data.reference import default_chains, default_parks
    from industry_graph.graph import build_graph

    folder = _shared_data() / "chainkg"
    sizes: dict[str, int] = {}

    def run() -> None:
        imported = import_chainkg(folder, chains=default_chains())
        graph = build_graph(chains=default_chains(), tables=imported.tables, parks=default_parks())
        sizes.update(nodes=graph.number_of_nodes(), edges=graph.number_of_edges())

    median, times = _median_seconds(run, REPEATS)
    return {
        "bench": "ChainKnowledgeGraph import + graph build",
        "target": "≤ 10 s",
        "seconds_median": round(median, 3),
        "seconds_runs": [round(t, 3) for t in times],
        "measured": f"{median:.2f} s for {sizes['nodes']:,} nodes, {sizes['edges']:,} edges",
        "met": median <= 10,
    }


def bench_gap_analysis(candidates: int = 1_000_000) -> dict[str, object]:
    """One chain's gap analysis for Shibei over a 1 M-candidate demo (target ≤ 50 ms)."""
    from data.demo.generator import generate
    from data.reference import default_chains, default_parks
    from data.settings import SEED
    from industry_graph.gaps import analyse_gaps, park_context

    tables = generate(candidates=candidates, seed=SEED).tables
    started = time.perf_counter()
    ctx = park_context(
        park=default_parks()["shibei"],
        chains=default_chains(),
        enterprises=tables["enterprises"],
        enterprise_links=tables["enterprise_links"],
        park_roster=tables["park_roster"],
    )
    context_seconds = time.perf_counter() - started
    median, _times = _median_seconds(lambda: analyse_gaps(ctx, "big_data"), 21)
    return {
        "bench": "one chain's gap analysis (big_data, 1 M candidates)",
        "target": "≤ 50 ms",
        "seconds_median": round(median, 5),
        "context_seconds": round(context_seconds, 3),
        "measured": f"{median * 1000:.2f} ms (median of 21); park context built once in {context_seconds:.2f} s",
        "met": median <= 0.050,
    }


BENCHES: dict[str, Callable[[], dict[str, object]]] = {
    "demo_generation": bench_demo_generation,
    "chainkg_graph": bench_chainkg_graph,
    "gap_analysis": bench_gap_analysis,
}


def main() -> None:
    """Run the benchmarks named on the command line (default: all)."""
    names = sys.argv[1:] or list(BENCHES)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = Table(title="Shibei Attract benchmarks")
    for col in ("bench", "target", "measured", "met"):
        table.add_column(col)
    for name in names:
        result = BENCHES[name]()
        result |= {
            "machine": platform.node(),
            "python": platform.python_version(),
            "at": datetime.now(UTC).isoformat(),
        }
        (RESULTS / f"{name}.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=2) + "\n"
        )
        table.add_row(
            str(result["bench"]),
            str(result["target"]),
            str(result["measured"]),
            "yes" if result["met"] else "NO",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
