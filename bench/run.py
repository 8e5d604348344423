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
        "met": statistics.median(times) <= 60 and max(peaks) <= 4096,
    }


BENCHES = {"demo_generation": bench_demo_generation}


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
        measured = f"{result['seconds_median']} s (runs {result['seconds_runs']}), peak {result['peak_rss_mb_max']} MB"
        table.add_row(
            str(result["bench"]), str(result["target"]), measured, "yes" if result["met"] else "NO"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
