"""What the service holds in memory: data, graph, champion model and the scored lead tables.

``load_state`` loads the three components in turn and records, for each, either ``ready`` or the
reason it is not; it never raises, so the server starts and ``/ready`` explains what is missing.
``StateHolder.reload`` builds a new state beside the old one and swaps it in one assignment, so
requests in flight finish on the state they started with.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from api.crm.corrections import stored_corrections
from api.crm.tables import landed_firms, pipeline_states
from api.serving.lead_table import LeadTable, unique_position
from api.serving.offered import NotOffered
from api.serving.snapshot import (
    Snapshot,
    building,
    current_key,
    mark_current,
    read_snapshot,
    snapshot_key,
    snapshots_root,
    write_snapshot,
)
from data import columns as C
from data.corrections import LinkCorrection
from data.landing import track_forms
from data.loaders import DataFileError
from data.reference import Chain, Park, ReferenceDataError, default_chains, default_parks
from data.settings import Settings
from data.universe import load_universe, read_manifest, universe_as_of, with_members
from features.build import FeatureContext, feature_context, latest_tax_history
from features.similarity import Lookalikes, firm_vectors
from models import exclusions
from models.registry import LoadedScorer, load_scorer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

COMPONENTS = ("data", "graph", "model")
FOLLOW_SECONDS = 2.0  # how often a worker looks for the snapshot the others serve


@dataclass(frozen=True)
class RowIndex:
    """The rows of a table holding each value of one column, found by binary search: no scan
    per lookup and no dict of a million entries."""

    order: np.ndarray  # row positions, ordered by value
    keys: np.ndarray  # the values in that order

    @classmethod
    def ordered(cls, column: pd.Series, order: np.ndarray) -> RowIndex:
        """The index of ``column`` whose ``order`` was computed before (a mapped snapshot)."""
        return cls(order=order, keys=column.to_numpy(dtype=object)[order])

    @classmethod
    def of(cls, column: pd.Series) -> RowIndex:
        values = column.to_numpy(dtype=object)
        order = np.argsort(values, kind="stable")
        return cls(order=order, keys=values[order])

    def rows(self, value: str) -> np.ndarray:
        lo = int(np.searchsorted(self.keys, value, side="left"))
        hi = int(np.searchsorted(self.keys, value, side="right"))
        return self.order[lo:hi]


@dataclass
class ServiceState:
    """One consistent snapshot of everything the routes read."""

    settings: Settings
    park: Park | None = None
    chains: Mapping[str, Chain] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    manifest: Mapping[str, object] = field(default_factory=dict)
    fc: FeatureContext | None = None
    model: LoadedScorer | None = None
    leads: dict[str, LeadTable] = field(default_factory=dict)
    history_contacted: frozenset[str] = frozenset()
    park_outreach: pd.DataFrame = field(default_factory=pd.DataFrame)  # the park's, newest first
    tax_history: pd.DataFrame | None = None  # latest year's tax record per firm
    enterprise_index: pd.Index = field(default_factory=lambda: pd.Index([]))
    link_rows: RowIndex = field(default_factory=lambda: RowIndex.of(pd.Series([], dtype=object)))
    outreach_rows: RowIndex = field(
        default_factory=lambda: RowIndex.of(pd.Series([], dtype=object))
    )
    as_of: pd.Timestamp | None = None
    not_offered: NotOffered = field(default_factory=NotOffered)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: dict[str, str] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, "not loaded"))
    loaded_at: str = ""
    load_seconds: float = 0.0
    snapshot_key: str = ""  # the mapped snapshot (``api.serving.snapshot``), "" when built here
    _lookalikes: Lookalikes | None = None
    _lookalike_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        """All three components are loaded."""
        return all(self.status[c] == "ready" for c in COMPONENTS)

    def problems(self, *components: str) -> list[str]:
        """``component: reason`` for each named component that is not ready."""
        return [f"{c}: {self.status[c]}" for c in components if self.status[c] != "ready"]

    def lookalikes(self) -> Lookalikes:
        """The lookalike index of the universe, built on the first request that needs it (a few
        seconds per 100,000 firms, and memory the lists do not need until then)."""
        with self._lookalike_lock:
            if self._lookalikes is None:
                assert self.fc is not None
                firms = self.tables["enterprises"]
                path = self.settings.universe_dir / "enterprises.parquet"
                text = [
                    c for c in (C.BUSINESS_SCOPE, C.DESCRIPTION) if c in pq.read_schema(path).names
                ]
                if text:  # the free text the server dropped after the roster fit
                    extra = pq.read_table(path, columns=[C.ENTERPRISE_ID, *text]).to_pandas()
                    firms = firms.merge(extra, on=C.ENTERPRISE_ID, how="left")
                self._lookalikes = Lookalikes.of(
                    dict(self.tables) | {"enterprises": firms},
                    chains=self.chains,
                    members=self.fc.park_members,
                )
            return self._lookalikes

    @property
    def park_id(self) -> str:
        """The served park's id."""
        return self.settings.park

    def firm_name(self, enterprise_id: str, track: str) -> str:
        """A firm's name: from the track's lead table (fast), else from the universe, else its id."""
        table = self.leads.get(track)
        pos = table.position_of(enterprise_id) if table is not None else None
        if table is not None and pos is not None:
            return table.name_at(pos)
        row = self.row_of(enterprise_id)
        return enterprise_id if row is None else str(self.tables["enterprises"][C.NAME].iloc[row])

    def lead_scores(self, enterprise_id: str, track: str) -> dict[str, Any]:
        """A firm's lead scores on a track now (empty when it is no candidate of the track):
        what a pipeline lead keeps from the day it entered."""
        table = self.leads.get(track)
        pos = table.position_of(enterprise_id) if table is not None else None
        if table is None or pos is None:
            return {}
        scores = table.scores_at(pos)
        return {
            "p_land": scores["p_land"],
            "value_wan_cny": scores["value_wan_cny"],
            "tax_p10_wan_cny": scores["tax_p10_wan_cny"],
            "tax_p50_wan_cny": scores["tax_p50_wan_cny"],
            "tax_p90_wan_cny": scores["tax_p90_wan_cny"],
            "model_version": table.model_version,
            "landing_form": scores["landing_form"],
            "group_tax_p50_wan_cny": scores["group_tax_p50_wan_cny"],
            "in_park_tax_share_p10": scores["in_park_tax_share_p10"],
            "in_park_tax_share_p90": scores["in_park_tax_share_p90"],
        }

    def stage_p_land(self, leads: pd.DataFrame) -> np.ndarray:
        """P(land) of pipeline leads at their stage and time there (``models.stages``, fitted
        by the champion's training run on the pipeline's moves), their entry P(land) where the
        champion has no stage model."""
        entry = pd.to_numeric(leads["entry_p_land"], errors="coerce").to_numpy(dtype=float)
        stages = self.model.scorer.stages if self.model is not None else None
        if stages is None or not len(leads):
            return entry
        return stages.predict(leads)

    def row_of(self, enterprise_id: str) -> int | None:
        """The row of a firm in ``enterprises``, or ``None`` for an unknown id."""
        return unique_position(self.enterprise_index, enterprise_id)

    def links_of(self, enterprise_id: str) -> pd.DataFrame:
        """A firm's rows of ``enterprise_links`` (a binary search, not a scan)."""
        return self.tables["enterprise_links"].iloc[self.link_rows.rows(enterprise_id)]

    def tables_of_many(self, enterprise_ids: list[str]) -> dict[str, pd.DataFrame]:
        """The rows of ``enterprises`` and ``enterprise_links`` of some firms, as the tables of
        a universe of those firms (unknown ids have none)."""
        rows = [r for r in (self.row_of(e) for e in enterprise_ids) if r is not None]
        return {
            "enterprises": self.tables["enterprises"].iloc[rows],
            "enterprise_links": self.links_of_many(enterprise_ids),
        }

    def links_of_many(self, enterprise_ids: list[str]) -> pd.DataFrame:
        """The rows of ``enterprise_links`` of several firms, in one take (a take of an Arrow
        table costs the same for one row as for fifty)."""
        rows = [self.link_rows.rows(eid) for eid in enterprise_ids]
        found = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
        return self.tables["enterprise_links"].iloc[found]

    def outreach_of(self, enterprise_id: str) -> pd.DataFrame:
        """A firm's imported outreach with the park, newest first."""
        rows = self.outreach_rows.rows(enterprise_id)
        return self.park_outreach.iloc[np.sort(rows)] if len(rows) else self.park_outreach[:0]

    @property
    def snapshot_id(self) -> str:
        """The universe's content hash."""
        return str(self.manifest.get("snapshot_id", ""))


def load_state(settings: Settings) -> ServiceState:
    """Load data, graph and model; each failure is recorded, never raised. With
    ``settings.serve_snapshots`` the state of a snapshot built before is mapped from its files
    (``api.serving.snapshot``), else built and written there first (then mapped, so the worker
    that built it shares its pages with the others too)."""
    started = time.perf_counter()
    state = ServiceState(settings=settings, started_at=datetime.now(UTC))
    # the strategists' link corrections (service database), applied over enterprise_links
    corrections: Sequence[LinkCorrection] = stored_corrections(settings.database)
    if not settings.serve_snapshots:
        return _load_built(settings, state, started, corrections)
    try:
        parks = default_parks()
        if settings.park not in parks:
            raise ReferenceDataError(f"unknown park {settings.park!r}")
        manifest = read_manifest(settings.universe_dir)
        landed = landed_firms(settings.database, settings.park)
    except (DataFileError, ReferenceDataError, OSError, ValueError):
        return _load_built(settings, state, started, corrections)  # it says what is missing
    model: LoadedScorer | Exception
    try:
        model = load_scorer(settings, settings.park)
    except Exception as exc:  # the cold load records it as the model's status
        return _load_built(settings, state, started, corrections, model=exc)
    key = snapshot_key(
        snapshot_id=str(manifest.get("snapshot_id", "")),
        model_version=str(model.version),
        park=settings.park,
        landed=landed,
        corrections=corrections,
        universe_dir=settings.universe_dir,
        profile=parks[settings.park].model_dump_json()
        + "".join(chain.model_dump_json() for _, chain in sorted(default_chains().items())),
    )
    root = snapshots_root(settings)
    with building(root, key):
        snap = read_snapshot(root / key)
        if snap is None:
            built = _load_built(settings, state, started, corrections, model=model)
            if not built.ready:
                return built
            write_snapshot(root / key, _snapshot_of(built, key))
            del built
            gc.collect()
            _return_free_memory()
            snap = read_snapshot(root / key)
            assert snap is not None
    return _load_mapped(settings, state, started, snap, model)


def _check_forms(model: LoadedScorer, park: Park) -> None:
    """A model whose landing forms are not the park YAML's (names and order) is refused."""
    model.scorer.check_forms({t: list(track_forms(park, t)) for t in park.tracks})


def _snapshot_of(state: ServiceState, key: str) -> Snapshot:
    assert state.fc is not None
    return Snapshot(
        key=key,
        tables=dict(state.tables),
        park_outreach=state.park_outreach,
        tax_history=state.tax_history,
        link_order=state.link_rows.order,
        outreach_order=state.outreach_rows.order,
        fc=state.fc,
        leads={track: table.frames for track, table in state.leads.items()},
    )


def _load_mapped(
    settings: Settings,
    state: ServiceState,
    started: float,
    snap: Snapshot,
    model: LoadedScorer,
) -> ServiceState:
    """The state of a mapped snapshot: tables, feature context and lead frames are views of
    its files; indexes over them, the champion and what the pipeline says are this process'."""
    state.snapshot_key = snap.key
    parks = default_parks()
    state.chains = default_chains()
    state.park = parks[settings.park]
    folder = settings.universe_dir
    state.tables = snap.tables
    state.manifest = read_manifest(folder)
    state.as_of = universe_as_of(folder)
    state.enterprise_index = pd.Index(state.tables["enterprises"][C.ENTERPRISE_ID])
    state.park_outreach = snap.park_outreach
    state.history_contacted = frozenset(snap.park_outreach[C.ENTERPRISE_ID])
    state.tax_history = snap.tax_history
    state.link_rows = RowIndex.ordered(
        state.tables["enterprise_links"][C.ENTERPRISE_ID], snap.link_order
    )
    state.outreach_rows = RowIndex.ordered(
        state.park_outreach[C.ENTERPRISE_ID], snap.outreach_order
    )
    state.status["data"] = "ready"
    state.fc = snap.fc
    state.status["graph"] = "ready"
    try:
        _check_forms(model, state.park)
        state.model = model
        state.leads = {
            track: LeadTable(
                scorer=model.scorer,
                fc=state.fc,
                tables=state.tables,
                track=track,
                as_of=state.as_of,
                model_version=model.version,
                snapshot_id=state.snapshot_id,
                precompute=settings.reasons_precomputed,
                contacted_history=state.history_contacted,
                frames=snap.leads[track],
            )
            for track in state.park.tracks
        }
        not_leads = exclusions.not_leads(
            park=state.park,
            park_roster=state.tables["park_roster"],
            outreach=state.tables["outreach"],
            pipeline=pipeline_states(settings.database, settings.park),
            today=state.started_at.date(),
        )
        state.not_offered = NotOffered.of(not_leads, state.leads)
        state.status["model"] = "ready"
    except Exception as exc:  # the database may be unreachable: any failure leaves the server up
        state.status["model"] = f"not loaded: {type(exc).__name__}: {_reason(exc)}"
    return _finish(state, started)


def _load_built(
    settings: Settings,
    state: ServiceState,
    started: float,
    corrections: Sequence[LinkCorrection],
    model: LoadedScorer | Exception | None = None,
) -> ServiceState:
    """Load data, graph and model from the universe's files (validated, scored here);
    ``model`` is the champion already loaded (or why it could not be)."""
    try:
        parks = default_parks()
        state.chains = default_chains()
        if settings.park not in parks:
            raise ReferenceDataError(f"unknown park {settings.park!r}; known: {', '.join(parks)}")
        state.park = parks[settings.park]
        folder = settings.universe_dir
        # the strategists' link corrections (service database) over the attacher's links
        state.tables = load_universe(folder, corrections=corrections)
        # free-text registry columns (经营范围 …) are read by the attacher at import and by the
        # lookalike vectors (the roster fit below; lookalikes, rebuilt on demand), not by any
        # route; at 1 M firms they hold ~100 MB the 2 GB server budget has no room for. Optional
        # columns the universe does not fill (the demo's expansion signals) go too.
        full = state.tables["enterprises"]
        empty = [c for c in C.ENTERPRISE_OPTIONAL_SIGNALS if c in full and full[c].isna().all()]
        state.tables["enterprises"] = full.drop(
            columns=[c for c in C.ENTERPRISE_EXTRA_COLUMNS if c in full] + empty
        )
        # firms the pipeline says landed are park members before the next import says so
        state.tables["park_roster"] = with_members(
            state.tables["park_roster"],
            settings.park,
            landed_firms(settings.database, settings.park),
        )
        state.manifest = read_manifest(folder)
        state.as_of = universe_as_of(folder)
        ent = state.tables["enterprises"]
        state.enterprise_index = pd.Index(ent[C.ENTERPRISE_ID])
        outreach = state.tables["outreach"]
        park_outreach = outreach[outreach[C.PARK_ID] == settings.park]
        state.park_outreach = park_outreach.sort_values(
            [C.CONTACTED_ON, C.OUTREACH_ID], ascending=[False, True]
        ).reset_index(drop=True)
        state.history_contacted = frozenset(park_outreach[C.ENTERPRISE_ID])
        state.tax_history = latest_tax_history(state.tables["tax_records"])
        state.link_rows = RowIndex.of(state.tables["enterprise_links"][C.ENTERPRISE_ID])
        state.outreach_rows = RowIndex.of(state.park_outreach[C.ENTERPRISE_ID])
        state.status["data"] = "ready"
    except (DataFileError, ReferenceDataError, OSError, ValueError) as exc:
        state.status["data"] = f"not loaded: {_reason(exc)}"
        state.status["graph"] = "not loaded: needs the data"
        state.status["model"] = "not loaded: needs the data"
        return _finish(state, started)
    try:
        vectors = firm_vectors(dict(state.tables) | {"enterprises": full})
        del full
        state.fc = feature_context(
            park=state.park, chains=state.chains, tables=state.tables, vectors=vectors
        )
        del vectors
        state.status["graph"] = "ready"
    except (KeyError, ValueError) as exc:
        state.status["graph"] = f"not built: {_reason(exc)}"
        state.status["model"] = "not loaded: needs the graph"
        return _finish(state, started)
    try:
        if isinstance(model, Exception):
            raise model
        state.model = model or load_scorer(settings, state.park.id)
        _check_forms(state.model, state.park)
        state.leads = {
            track: LeadTable(
                scorer=state.model.scorer,
                fc=state.fc,
                tables=state.tables,
                track=track,
                as_of=state.as_of,
                model_version=state.model.version,
                snapshot_id=state.snapshot_id,
                precompute=settings.reasons_precomputed,
                contacted_history=state.history_contacted,
            )
            for track in state.park.tracks
        }
        not_leads = exclusions.not_leads(
            park=state.park,
            park_roster=state.tables["park_roster"],
            outreach=state.tables["outreach"],
            pipeline=pipeline_states(settings.database, settings.park),
            today=state.started_at.date(),
        )
        state.not_offered = NotOffered.of(not_leads, state.leads)
        state.status["model"] = "ready"
    except LookupError as exc:
        state.status["model"] = f"not loaded: {_reason(exc)}"
    except Exception as exc:  # the registry may be unreachable: any failure leaves the server up
        state.status["model"] = f"not loaded: {type(exc).__name__}: {_reason(exc)}"
    return _finish(state, started)


def _reason(exc: Exception) -> str:
    """The error's message for the open ``/ready``: credentials in a URL are masked, and it is
    kept to one line of at most 500 characters."""
    text = " ".join(str(exc).split())
    text = re.sub(r"(//)[^/@\s]+@", r"\1***@", text)
    return text if len(text) <= 500 else text[:497] + "..."


def _finish(state: ServiceState, started: float) -> ServiceState:
    state.loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
    state.load_seconds = round(time.perf_counter() - started, 2)
    return state


def _warm(state: ServiceState, sessions: sessionmaker[Session] | None) -> None:
    """Precompute the reasons of the first pages of every filter and, with the database's
    ``sessions``, the lists' plan prices and the space report the enterprise pages read (else
    the first requests of a load start them: seconds of a core while they wait), then freeze
    what that built out of the collector's way too (hundreds of thousands of small objects that
    every full collection would otherwise walk: the p99 of a mixed load)."""
    if sessions is not None:
        _warm_with_database(state, sessions)
    warmers = [
        threading.Thread(target=table.warm, name=f"warm-{table.track}", daemon=True)
        for table in state.leads.values()
    ]
    for w in warmers:
        w.start()
    for w in warmers:
        w.join()
    gc.collect()
    gc.freeze()


def _warm_with_database(state: ServiceState, sessions: sessionmaker[Session]) -> None:
    from api.errors import NotFound
    from api.serving.buildings import latest_report
    from api.serving.plan import prices_soon

    try:  # the lists' prices: solved in a thread of its own (or read: another worker's)
        prices_soon(state, sessions)
    except Exception:  # the lists go on without plan values; the plan page says why
        log.exception("warming the lists' plan prices failed")
    try:
        latest_report(state, sessions)
    except NotFound:  # a park without buildings: its pages say what to import
        pass
    except Exception:
        log.exception("warming the space report failed")


def _return_free_memory() -> None:
    """Hand freed heap pages back to the OS. Loading builds and drops GBs of temporaries
    (parquet chunks, feature matrices); glibc and Arrow's allocator keep them mapped, which at
    1 M firms was ~160 MB of the server's RSS."""
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class StateHolder:
    """The current state, swapped atomically on reload."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current = ServiceState(settings=settings)
        self.current.status = dict.fromkeys(COMPONENTS, "loading")
        # why the last reload was not swapped in (``None`` once one succeeds)
        self.last_reload_error: str | None = None
        # the service database, for warming what a load's first requests would otherwise build
        self.sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    def load(self) -> ServiceState:
        """Load (or reload) and swap in the new state; keep the old one if the new is worse."""
        with self._lock:
            new = load_state(self.settings)
            old = self.current
            if new.ready or not old.ready:
                self.current = new
                self.last_reload_error = None
            else:
                self.last_reload_error = (
                    f"{new.loaded_at}: {'; '.join(new.problems(*COMPONENTS))} "
                    f"(still serving the state loaded at {old.loaded_at})"
                )
            # millions of long-lived objects (tables, indexes, caches) would make every full GC
            # pass a pause of hundreds of ms; freezing moves them out of the collector's way
            gc.collect()
            gc.freeze()
            _return_free_memory()
            if new.ready and new.snapshot_key:  # the others follow (``follow``)
                marked = current_key(snapshots_root(self.settings))
                if marked is None or marked[0] != new.snapshot_key:
                    mark_current(snapshots_root(self.settings), new.snapshot_key)
            if new.ready:  # first pages of every chain / link / province filter, in the background
                threading.Thread(
                    target=_warm, args=(new, self.sessions), name="warm", daemon=True
                ).start()
            return new

    def start_background_load(self, *, follow: bool = True) -> threading.Thread:
        """Load in a thread so the server answers (503 on /ready) while it loads; then, with
        ``follow`` and snapshots on, follow the snapshot the other workers mark current (a
        reload that one worker answered reaches every worker within ``FOLLOW_SECONDS``)."""

        def run() -> None:
            self.load()
            while follow and self.settings.serve_snapshots:
                time.sleep(FOLLOW_SECONDS)
                with contextlib.suppress(Exception):  # a failed look is tried again
                    self.follow()

        thread = threading.Thread(target=run, name="attract-load", daemon=True)
        thread.start()
        return thread

    def follow(self) -> bool:
        """Reload when another worker marked a snapshot other than the one served current;
        whether it reloaded."""
        marked = current_key(snapshots_root(self.settings))
        if marked is None or marked[0] == self.current.snapshot_key:
            return False
        self.load()
        return True
