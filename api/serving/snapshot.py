"""The service's heavy state as files that every worker maps read-only (one snapshot per
universe, champion, park, landed firms and link corrections).

``load_state`` builds the state once (validated tables, feature context, scored lead tables)
and writes it here; every later load — another worker, a restart, a reload with nothing new —
maps the files instead: Arrow IPC files opened with ``pyarrow.memory_map`` and turned into
pandas frames whose columns are views of the mapped pages (one block per column, so no column is
copied into a consolidated block), so N workers share one copy in the page cache. What the
files cannot hold (the champion, the gap analysis' small graph) is loaded or unpickled per
process. Files are written into a temporary folder and renamed into place, under a lock, so a
worker never maps half a snapshot and two workers never build the same one twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from data.settings import Settings
from features.build import FeatureContext

T = TypeVar("T")

# bump when what a snapshot holds (or how) changes: older folders are then never mapped
FORMAT = 1
KEEP = 2  # snapshot folders kept on disk: the one served and the one before it
CURRENT = "current.json"  # which snapshot the workers serve (``StateHolder`` follows it)


def snapshots_root(settings: Settings) -> Path:
    """Where the snapshots live: beside the model store in the service's home."""
    return settings.home / "snapshots"


def snapshot_key(
    *,
    snapshot_id: str,
    model_version: str,
    park: str,
    landed: Iterable[str],
    corrections: Sequence[object] = (),
    universe_dir: Path,
    profile: str = "",
) -> str:
    """The id of a snapshot: a hash of everything its content depends on. The universe's files
    enter by name, size and modification time as well as by the manifest's content hash, so a
    file changed behind the manifest's back (copied over, truncated) is read again, and refused
    if it is broken, instead of being served from the snapshot of what it was. ``profile``: the
    park profile and the chains as the service read them (their JSON), so an edited YAML — a
    landing rule, a share, a target — is served, not the snapshot scored under the old one."""
    digest = hashlib.sha256()
    parts: list[str] = [
        f"format={FORMAT}",
        f"universe={universe_dir.resolve()}",
        f"snapshot={snapshot_id}",
        f"model={model_version}",
        f"park={park}",
        "landed=" + ",".join(sorted(str(x) for x in landed)),
        "corrections=" + repr(list(corrections)),
        "files=" + ",".join(_file_stamps(universe_dir)),
        "profile=" + hashlib.sha256(profile.encode("utf-8")).hexdigest(),
    ]
    digest.update("\n".join(parts).encode("utf-8"))
    return digest.hexdigest()[:20]


def _file_stamps(folder: Path) -> list[str]:
    """Name, size, inode, modification and change time of each file of the universe folder
    (not its hidden files: a table being written is ``.name.pid.tmp`` until it is renamed)."""
    stamps = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            st = path.stat()
            stamps.append(f"{path.name}:{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    return stamps


# ------------------------------------------------------------------ frames as mapped files


def write_frame(path: Path, frame: pd.DataFrame, *, index: bool = False) -> None:
    """A frame as one Arrow IPC file of one record batch (so a mapped column is one buffer)."""
    table = pa.Table.from_pandas(frame, preserve_index=index).combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def map_frame(path: Path) -> pd.DataFrame:
    """A frame whose columns are views of the mapped file (numeric columns without nulls and
    string columns are not copied; nullable integers and booleans copy their mask)."""
    with pa.memory_map(str(path), "r") as source:
        table = pa.ipc.open_file(source).read_all()
    frame: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=False)
    return frame


def write_series(path: Path, series: pd.Series) -> None:
    """A series with its index (as a one-column frame)."""
    write_frame(path, series.rename("value").to_frame(), index=True)


def map_series(path: Path) -> pd.Series:
    """A series written by ``write_series``."""
    out = map_frame(path)["value"]
    out.name = None
    return out


def write_array(path: Path, values: np.ndarray) -> None:
    """A 1-D numeric array as raw bytes beside a small header (``map_array`` maps it)."""
    arr = np.ascontiguousarray(values)
    meta = {"dtype": arr.dtype.str, "shape": list(arr.shape)}
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    arr.tofile(path)


def map_array(path: Path) -> np.ndarray:
    """An array written by ``write_array``, mapped read-only."""
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    shape = tuple(meta["shape"])
    if not int(np.prod(shape)):
        return np.empty(shape, dtype=np.dtype(meta["dtype"]))
    return np.memmap(path, dtype=np.dtype(meta["dtype"]), mode="r", shape=shape)


# ------------------------------------------------------------------ a whole snapshot


@dataclass
class LeadFrames:
    """What a track's lead table is built from: the ranked firms with their scores, and the
    features of each row (the reasons' input)."""

    frame: pd.DataFrame
    features: pd.DataFrame


@dataclass
class Snapshot:
    """The mapped parts of a service state (``api.serving.state``)."""

    key: str
    tables: dict[str, pd.DataFrame]
    park_outreach: pd.DataFrame
    tax_history: pd.DataFrame | None
    link_order: np.ndarray
    outreach_order: np.ndarray
    fc: FeatureContext
    leads: dict[str, LeadFrames]


def write_snapshot(folder: Path, snap: Snapshot) -> None:
    """Write a snapshot into ``folder`` (a new one, renamed into place when complete)."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tables = tmp / "tables"
    tables.mkdir()
    for name, frame in snap.tables.items():
        write_frame(tables / f"{name}.arrow", frame)
    write_frame(tmp / "park_outreach.arrow", snap.park_outreach)
    if snap.tax_history is not None:
        write_frame(tmp / "tax_history.arrow", snap.tax_history, index=True)
    write_array(tmp / "link_order.bin", snap.link_order.astype(np.int64))
    write_array(tmp / "outreach_order.bin", snap.outreach_order.astype(np.int64))
    fc = snap.fc
    fcdir = tmp / "features"
    fcdir.mkdir()
    for track, frame in fc.by_track.items():
        write_frame(fcdir / f"by_track-{track}.arrow", frame, index=True)
    for track, series in fc.in_target.items():
        write_series(fcdir / f"in_target-{track}.arrow", series)
    write_series(fcdir / "n_links.arrow", fc.n_links)
    write_series(fcdir / "roster_fit.arrow", fc.roster_fit)
    small = replace(
        fc,
        by_track={},
        in_target={},
        n_links=pd.Series(dtype=float),
        roster_fit=pd.Series(dtype=float),
        vectors=None,
    )
    (fcdir / "context.pickle").write_bytes(pickle.dumps(small, protocol=pickle.HIGHEST_PROTOCOL))
    leads = tmp / "leads"
    leads.mkdir()
    for track, lf in snap.leads.items():
        write_frame(leads / f"{track}.arrow", lf.frame)
        write_frame(leads / f"{track}-features.arrow", lf.features)
    (tmp / "snapshot.json").write_text(
        json.dumps(
            {
                "key": snap.key,
                "format": FORMAT,
                "tables": sorted(snap.tables),
                "tracks": sorted(snap.leads),
                "by_track": sorted(fc.by_track),
                "in_target": sorted(fc.in_target),
                "has_tax_history": snap.tax_history is not None,
                "written_at": time.time(),
            }
        ),
        encoding="utf-8",
    )
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def read_snapshot(folder: Path) -> Snapshot | None:
    """Map a complete snapshot folder (``None`` when there is none, or of another format)."""
    manifest_path = folder / "snapshot.json"
    if not manifest_path.exists():
        return None
    meta: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        return None
    tables = {name: map_frame(folder / "tables" / f"{name}.arrow") for name in meta["tables"]}
    fcdir = folder / "features"
    small: FeatureContext = pickle.loads(
        (fcdir / "context.pickle").read_bytes()
    )  # written by this service
    fc = replace(
        small,
        by_track={t: map_frame(fcdir / f"by_track-{t}.arrow") for t in meta["by_track"]},
        in_target={t: map_series(fcdir / f"in_target-{t}.arrow") for t in meta["in_target"]},
        n_links=map_series(fcdir / "n_links.arrow"),
        roster_fit=map_series(fcdir / "roster_fit.arrow"),
    )
    leads = {
        t: LeadFrames(
            frame=map_frame(folder / "leads" / f"{t}.arrow"),
            features=map_frame(folder / "leads" / f"{t}-features.arrow"),
        )
        for t in meta["tracks"]
    }
    return Snapshot(
        key=str(meta["key"]),
        tables=tables,
        park_outreach=map_frame(folder / "park_outreach.arrow"),
        tax_history=map_frame(folder / "tax_history.arrow") if meta["has_tax_history"] else None,
        link_order=map_array(folder / "link_order.bin"),
        outreach_order=map_array(folder / "outreach_order.bin"),
        fc=fc,
        leads=leads,
    )


@contextlib.contextmanager
def building(root: Path, key: str) -> Iterator[None]:
    """Hold the lock of one snapshot while it is built, so a second worker waits for the first
    and then maps what it wrote."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def once_per_snapshot(
    root: Path,
    key: str,
    name: str,
    make: Callable[[], T],
    *,
    kind: type,
    max_age_seconds: float | None = None,
) -> T:
    """A result every worker serving snapshot ``key`` shares: the first to ask computes it and
    pickles it into the snapshot's folder, under a lock, and the others wait and read it. A file
    older than ``max_age_seconds``, one that cannot be read or one that is not a ``kind`` (an
    older version of the class) is made again. Only for what the service wrote itself."""
    folder = root / key
    path = folder / f"{name}.pickle"
    with building(root, f"{key}-{name}"):
        fresh = path.exists() and (
            max_age_seconds is None or time.time() - path.stat().st_mtime < max_age_seconds
        )
        if fresh:
            try:
                value = pickle.loads(path.read_bytes())
            except Exception:  # half a file, a class that changed: made again
                value = None
            if isinstance(value, kind):
                return value  # type: ignore[return-value]
        made = make()
        if (folder / "snapshot.json").exists():  # not into a folder pruned meanwhile
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            with contextlib.suppress(OSError):
                tmp.write_bytes(pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
                tmp.replace(path)
        return made


def mark_current(root: Path, key: str) -> None:
    """Record the snapshot the workers serve (the others follow it) and drop older folders."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(json.dumps({"key": key, "at": time.time()}), encoding="utf-8")
    tmp.replace(root / CURRENT)
    prune(root, keep={key})


def current_key(root: Path) -> tuple[str, float] | None:
    """The snapshot last marked current and when (``None`` before any)."""
    try:
        data: Mapping[str, Any] = json.loads((root / CURRENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data["key"]), float(data["at"])


def prune(root: Path, keep: set[str]) -> None:
    """Delete all but the ``KEEP`` newest snapshot folders (and always those in ``keep``).
    A worker still mapping a deleted one keeps its pages until it drops them."""

    def written(folder: Path) -> float:  # not the folder's mtime: a shared result bumps it
        with contextlib.suppress(OSError):
            return (folder / "snapshot.json").stat().st_mtime
        return 0.0  # no snapshot in it: the first to go

    folders = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=written,
        reverse=True,
    )
    for old in folders[KEEP:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
            for lock in [root / f".{old.name}.lock", *root.glob(f".{old.name}-*.lock")]:
                with contextlib.suppress(OSError):
                    lock.unlink()
