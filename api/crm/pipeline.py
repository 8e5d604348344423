"""The lead pipeline: a firm on a track moves through stages, has an owner, a next follow-up and
notes; every change is one row of the append-only audit (``pipeline_events``).

One function creates a lead (``add_lead``) and one writes a change of it (``apply_change``, a
compare-and-set ``UPDATE`` on the version the change names): the API (``create_lead``,
``update_lead``), recorded outreach (``record_outreach``) and the demo's simulated plan period
all go through them, so every lead obeys the same moves (``data.pipeline.MOVES``) and audit.
Two officers editing the same lead never lose each other's change: the second gets a
``Conflict`` (409) with the current version. Officers change only leads they own (or unowned
ones, which they may claim); the team lead (``lead``) and admins assign and reassign. The
pipeline's resolved stages are where ``attract train`` reads outcomes (``pipeline_outcomes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.crm.people import Caller
from api.crm.served import Served
from api.crm.tables import PipelineEvent, PipelineLead, User, session_scope, with_retries
from api.errors import Conflict, InvalidInput, NotFound
from data import columns as C
from data.landing import form_index
from data.pipeline import (
    ASSIGNERS,
    LANDED_STAGES,
    LOST_OUTCOME,
    LOST_REASONS,
    OPEN_STAGES,
    OUTCOME_STAGE,
    OWNER_ROLES,
    RESOLVED_STAGES,
    STAGE_LABELS,
    STAGE_OUTCOME,
    STAGES,
    WRITERS,
    stage_move_error,
)
from data.reference import track_error

UNSET: Any = object()  # a field the update leaves alone (``None`` clears it)
# the scores a lead keeps from the day it entered the pipeline (``Served.lead_scores``)
SNAPSHOT_FIELDS = (
    "p_land",
    "value_wan_cny",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "model_version",
    "landing_form",
    "group_tax_p50_wan_cny",
    "in_park_tax_share_p10",
    "in_park_tax_share_p90",
)


@dataclass(frozen=True)
class Change:
    """What an update asks for; ``UNSET`` fields are left as they are."""

    version: int
    stage: str | None = None
    lost_reason: str | None = None
    owner: Any = UNSET  # a username, or None to unassign
    follow_up_on: Any = UNSET  # a date, or None to clear
    note: Any = UNSET  # text, or None to clear
    landed_as: Any = UNSET  # the form it landed in (a form id of its track), or None to clear


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _user_id(s: Session, username: str) -> int:
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidInput(f"owner: no user {username!r}")
    if user.disabled:
        raise InvalidInput(f"owner: {username!r} is disabled")
    if user.role not in OWNER_ROLES:
        raise InvalidInput(f"owner: {username!r} is {user.role}; leads are owned by officers")
    return user.id


def _check_writer(caller: Caller) -> None:
    if caller.role not in WRITERS:
        raise PermissionError(f"role {caller.role!r} may not change the pipeline")


def _check_firm(served: Served, enterprise_id: str, track: str) -> None:
    if served.row_of(enterprise_id) is None:
        raise NotFound(f"enterprise_id: no enterprise {enterprise_id!r}")
    assert served.park is not None
    error = track_error(served.park, track)
    if error is not None:
        raise InvalidInput(error)


def _check_form(served: Served, track: str, form: str) -> None:
    assert served.park is not None
    try:
        form_index(served.park, track, form, field="landed_as")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def audit_event(
    lead: PipelineLead | int,
    caller: Caller | None,
    field: str,
    old: Any,
    new: Any,
    version: int,
    at: datetime,
    outreach_id: str | None = None,
) -> PipelineEvent:
    """One row of a lead's audit trail; ``caller`` ``None`` is the system (the demo's history)."""
    return PipelineEvent(
        lead_id=lead if isinstance(lead, int) else lead.id,
        at=at,
        user_id=caller.user_id if caller else None,
        field=field,
        from_value=None if old is None else str(old),
        to_value=None if new is None else str(new),
        version=version,
        outreach_id=outreach_id,
    )


def add_lead(
    s: Session,
    caller: Caller | None,
    *,
    park: str,
    enterprise_id: str,
    track: str,
    snapshot: dict[str, Any],
    at: datetime,
    owner_id: int | None = None,
    follow_up_on: date | None = None,
    note: str | None = None,
    stage: str = "new",
    lost_reason: str | None = None,
    contacted_on: date | None = None,
    closed_on: date | None = None,
    outreach_id: str | None = None,
) -> PipelineLead:
    """Create a lead in the caller's transaction, with the scores it has now (``snapshot``:
    ``SNAPSHOT_FIELDS``) and its first audit row: ``created`` at ``new``, or ``outreach`` when
    recorded outreach puts it straight at the outcome's stage. The unique (park, firm, track)
    key refuses a second lead of the same firm on a track (``IntegrityError`` on flush)."""
    lead = PipelineLead(
        park_id=park,
        enterprise_id=enterprise_id,
        track=track,
        stage=stage,
        lost_reason=lost_reason,
        owner_id=owner_id,
        follow_up_on=follow_up_on,
        note=note,
        version=1,
        created_at=at,
        updated_at=at,
        stage_since=at,
        contacted_on=contacted_on,
        closed_on=closed_on,
        **{k: snapshot.get(k) for k in SNAPSHOT_FIELDS},
    )
    s.add(lead)
    s.flush()
    field = "outreach" if outreach_id is not None else "created"
    s.add(audit_event(lead, caller, field, None, stage, 1, at, outreach_id))
    return lead


def create_lead(
    served: Served,
    factory: sessionmaker[Session],
    caller: Caller,
    *,
    enterprise_id: str,
    track: str,
    owner: str | None = None,
    follow_up_on: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Put a firm on the pipeline at ``new``, owned by ``owner`` (an officer creating it owns it
    unless a team lead names someone), with the scores it has now."""
    _check_writer(caller)
    _check_firm(served, enterprise_id, track)
    if owner not in (None, caller.username) and caller.role not in ASSIGNERS:
        raise PermissionError("owner: only a team lead or an admin assigns a lead to someone else")
    snapshot = served.lead_scores(enterprise_id, track)

    def write() -> int:
        with session_scope(factory) as s:
            owner_id = (
                _user_id(s, owner)
                if owner is not None
                else (caller.user_id if caller.role in OWNER_ROLES else None)
            )
            lead = add_lead(
                s,
                caller,
                park=served.park_id,
                enterprise_id=enterprise_id,
                track=track,
                snapshot=snapshot,
                at=_now(),
                owner_id=owner_id,
                follow_up_on=follow_up_on,
                note=note,
            )
            return lead.id

    try:
        lead_id = with_retries(write)
    except IntegrityError as exc:
        existing = _find_id(factory, served.park_id, enterprise_id, track)
        raise Conflict(
            f"enterprise_id: {enterprise_id!r} is already on the {track} pipeline (lead {existing})"
        ) from exc
    return get_lead(served, factory, lead_id)


def _find_id(
    factory: sessionmaker[Session], park: str, enterprise_id: str, track: str
) -> int | None:
    with session_scope(factory) as s:
        return s.scalar(
            select(PipelineLead.id).where(
                PipelineLead.park_id == park,
                PipelineLead.enterprise_id == enterprise_id,
                PipelineLead.track == track,
            )
        )


def _write(
    s: Session,
    lead: PipelineLead,
    caller: Caller | None,
    *,
    expected_version: int,
    values: dict[str, Any],
    events: list[tuple[str, Any, Any]],
    at: datetime,
    outreach_id: str | None = None,
) -> int | None:
    """Write ``values`` and their audit rows if the lead is still at ``expected_version`` (one
    compare-and-set ``UPDATE``): the new version, or ``None`` when another writer got in first."""
    version = expected_version + 1
    done = s.execute(  # a CursorResult: an UPDATE's rowcount
        update(PipelineLead)
        .where(PipelineLead.id == lead.id, PipelineLead.version == expected_version)
        .values(**values, version=version, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], done).rowcount != 1:
        return None
    for field, old, new in events:
        s.add(audit_event(lead, caller, field, old, new, version, at, outreach_id))
    return version


def apply_change(
    s: Session, lead: PipelineLead, caller: Caller | None, change: Change, at: datetime
) -> int | None:
    """Apply ``change`` to ``lead`` in the caller's transaction: the moves' rules
    (``InvalidInput`` naming the stages or the field), then the compare-and-set write on
    ``change.version`` (``Conflict`` when the lead is at another version). Returns the new
    version, or ``None`` for a change that changes nothing. ``caller`` ``None`` is the system."""
    if lead.version != change.version:
        raise Conflict(
            f"version: the lead changed since you read it (you sent {change.version}, "
            f"it is now at {lead.version}); read it again and reapply your change"
        )
    values, events = _changes(s, lead, caller, change, at)
    if not values:
        return None
    version = _write(
        s, lead, caller, expected_version=change.version, values=values, events=events, at=at
    )
    if version is None:  # another writer got in between the read and the update
        raise Conflict(
            f"version: the lead changed since you read it (you sent {change.version}); "
            "read it again and reapply your change"
        )
    return version


def update_lead(
    served: Served,
    factory: sessionmaker[Session],
    caller: Caller,
    lead_id: int,
    change: Change,
) -> dict[str, Any]:
    """Apply ``change`` if the lead is still at ``change.version`` (``Conflict`` otherwise); a
    forbidden stage move or a missing loss reason is ``InvalidInput`` naming the stages or field."""
    _check_writer(caller)

    def write() -> None:
        with session_scope(factory) as s:
            lead = s.get(PipelineLead, lead_id)
            if lead is None or lead.park_id != served.park_id:
                raise NotFound(f"id: no pipeline lead {lead_id}")
            if change.landed_as not in (UNSET, None):
                _check_form(served, lead.track, change.landed_as)
            mine = lead.owner_id in (None, caller.user_id)
            if caller.role not in ASSIGNERS and not mine and lead.version == change.version:
                raise PermissionError(
                    "this lead belongs to another officer; the team lead or an admin can reassign it"
                )
            apply_change(s, lead, caller, change, _now())

    with_retries(write)
    return get_lead(served, factory, lead_id)


def _stage_values(
    lead: PipelineLead, stage: str, lost_reason: str | None, at: datetime
) -> dict[str, Any]:
    """The columns a move to ``stage`` sets: the stage and its day, the loss reason, the day of
    first contact and the day the contact was resolved (cleared when a lead is reopened)."""
    values: dict[str, Any] = {
        "stage": stage,
        "stage_since": at,
        "lost_reason": lost_reason if stage == "lost" else None,
    }
    if stage == "contacted" and lead.contacted_on is None:
        values["contacted_on"] = at.date()
    if stage in RESOLVED_STAGES:
        values["closed_on"] = at.date()
    elif stage == "contacted":  # reopened or stepped back: unresolved again
        values["closed_on"] = None
    return values


def _changes(
    s: Session, lead: PipelineLead, caller: Caller | None, change: Change, now: datetime
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """The column values and audit rows of ``change`` against ``lead`` (nothing for a no-op)."""
    values: dict[str, Any] = {}
    events: list[tuple[str, Any, Any]] = []
    if change.lost_reason is not None and change.lost_reason not in LOST_REASONS:
        raise InvalidInput(f"lost_reason: must be one of {', '.join(LOST_REASONS)}")
    if change.stage is not None and change.stage != lead.stage:
        error = stage_move_error(lead.stage, change.stage)
        if error:
            raise InvalidInput(error)
        if change.stage == "lost" and change.lost_reason is None:
            raise InvalidInput(f"lost_reason: required to move to lost ({', '.join(LOST_REASONS)})")
        values.update(_stage_values(lead, change.stage, change.lost_reason, now))
        events.append(("stage", lead.stage, change.stage))
        if change.stage == "lost":
            events.append(("lost_reason", lead.lost_reason, change.lost_reason))
    elif change.lost_reason is not None and lead.stage != "lost":
        raise InvalidInput("lost_reason: only with stage lost")
    if change.owner is not UNSET:
        assigns = caller is None or caller.role in ASSIGNERS
        if not assigns and change.owner not in (None, caller.username):  # type: ignore[union-attr]
            raise PermissionError(
                "owner: only a team lead or an admin assigns a lead to someone else"
            )
        owner_id = None if change.owner is None else _user_id(s, change.owner)
        if owner_id != lead.owner_id:
            old = s.get(User, lead.owner_id).username if lead.owner_id else None  # type: ignore[union-attr]
            values["owner_id"] = owner_id
            events.append(("owner", old, change.owner))
    if change.follow_up_on is not UNSET and change.follow_up_on != lead.follow_up_on:
        values["follow_up_on"] = change.follow_up_on
        events.append(("follow_up_on", lead.follow_up_on, change.follow_up_on))
    if change.note is not UNSET and change.note != lead.note:
        values["note"] = change.note
        events.append(("note", lead.note, change.note))
    if change.landed_as is not UNSET and change.landed_as != lead.landed_as:
        if change.landed_as is not None and (change.stage or lead.stage) not in LANDED_STAGES:
            raise InvalidInput(
                f"landed_as: the form a firm landed in is recorded at stage landed or paying "
                f"(this lead is at {change.stage or lead.stage})"
            )
        values["landed_as"] = change.landed_as
        events.append(("landed_as", lead.landed_as, change.landed_as))
    return values, events


def record_outreach(
    s: Session,
    caller: Caller,
    *,
    park: str,
    enterprise_id: str,
    track: str,
    outcome: str,
    contacted_on: date,
    closed_on: date | None,
    note: str | None,
    outreach_id: str,
    snapshot: dict[str, Any],
) -> None:
    """An outreach record as a pipeline event, in the caller's transaction: the lead is created
    at the outcome's stage if new, else moved there when the rules allow the move (the event is
    written either way, so nothing recorded is lost)."""
    now = _now()
    stage, reason = OUTCOME_STAGE[outcome]
    resolved = stage in RESOLVED_STAGES
    wanted = select(PipelineLead).where(
        PipelineLead.park_id == park,
        PipelineLead.enterprise_id == enterprise_id,
        PipelineLead.track == track,
    )
    for _ in range(5):  # a concurrent change between the read and the update: read again
        lead = s.scalars(wanted.execution_options(populate_existing=True)).first()
        if lead is None:
            add_lead(
                s,
                caller,
                park=park,
                enterprise_id=enterprise_id,
                track=track,
                snapshot=snapshot,
                at=now,
                owner_id=caller.user_id if caller.role in OWNER_ROLES else None,
                note=note,
                stage=stage,
                lost_reason=reason,
                contacted_on=contacted_on,
                closed_on=(closed_on or contacted_on) if resolved else None,
                outreach_id=outreach_id,
            )
            return
        moves = stage != lead.stage and stage_move_error(lead.stage, stage) is None
        values: dict[str, Any] = {}
        if moves:
            values.update(stage=stage, lost_reason=reason, stage_since=now)
            values["closed_on"] = (closed_on or contacted_on) if resolved else None
        if lead.contacted_on is None:
            values["contacted_on"] = contacted_on
        after = stage if moves else lead.stage
        written = _write(
            s,
            lead,
            caller,
            expected_version=lead.version,
            values=values,
            events=[("outreach", lead.stage, after)],
            at=now,
            outreach_id=outreach_id,
        )
        if written is not None:
            return
    raise Conflict("enterprise_id: the lead kept changing while the outreach was recorded; retry")


def _usernames(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = s.execute(select(User.id, User.username).where(User.id.in_(ids))).all()
    return {int(uid): str(name) for uid, name in rows}


def _stage_p_lands(
    served: Served, leads: Sequence[PipelineLead], today: date
) -> list[float | None]:
    """Each lead's P(land) at its stage and time there (the stage model on its entry P(land))."""
    if not leads:
        return []
    frame = pd.DataFrame(
        {
            "stage": [lead.stage for lead in leads],
            "days_in_stage": [
                max(0, (today - _aware(lead.stage_since).date()).days) for lead in leads
            ],
            "entry_p_land": [lead.p_land for lead in leads],
            "track": [lead.track for lead in leads],
        }
    )
    found = served.stage_p_land(frame)
    return [None if np.isnan(p) else float(p) for p in found]


def _lead_dict(
    served: Served,
    lead: PipelineLead,
    owners: dict[int, str],
    today: date,
    p_land: float | None,
) -> dict[str, Any]:
    current = served.lead_scores(lead.enterprise_id, lead.track)
    name = served.firm_name(lead.enterprise_id, lead.track)
    value = current.get("value_wan_cny", lead.value_wan_cny)
    return {
        "id": lead.id,
        "enterprise_id": lead.enterprise_id,
        "name": name,
        "track": lead.track,
        "stage": lead.stage,
        "stage_zh": STAGE_LABELS[lead.stage][0],
        "lost_reason": lead.lost_reason,
        "owner": owners.get(lead.owner_id) if lead.owner_id else None,
        "follow_up_on": lead.follow_up_on,
        "overdue": lead.follow_up_on is not None and lead.follow_up_on < today,
        "due": lead.follow_up_on is not None and lead.follow_up_on <= today,
        "note": lead.note,
        "version": lead.version,
        "created_at": _aware(lead.created_at).isoformat(),
        "updated_at": _aware(lead.updated_at).isoformat(),
        "stage_since": _aware(lead.stage_since).isoformat(),
        "stage_age_days": (today - _aware(lead.stage_since).date()).days,
        "contacted_on": lead.contacted_on,
        "closed_on": lead.closed_on,
        "p_land": p_land,
        "value_wan_cny": value,
        "expected_value_wan_cny": p_land * value
        if p_land is not None and value is not None
        else None,
        "created_with": {
            "p_land": lead.p_land,
            "tax_p10_wan_cny": lead.tax_p10_wan_cny,
            "tax_p50_wan_cny": lead.tax_p50_wan_cny,
            "tax_p90_wan_cny": lead.tax_p90_wan_cny,
            "model_version": lead.model_version,
            "landing_form": lead.landing_form,
        },
        "landed_as": lead.landed_as,
    }


def get_lead(served: Served, factory: sessionmaker[Session], lead_id: int) -> dict[str, Any]:
    """One lead (``NotFound`` if it is not on this park's pipeline)."""
    with session_scope(factory) as s:
        lead = s.get(PipelineLead, lead_id)
        if lead is None or lead.park_id != served.park_id:
            raise NotFound(f"id: no pipeline lead {lead_id}")
        owners = _usernames(s, {lead.owner_id} if lead.owner_id else set())
        today = date.today()
        return _lead_dict(served, lead, owners, today, _stage_p_lands(served, [lead], today)[0])


@dataclass(frozen=True)
class PipelineQuery:
    """Filters of a pipeline list (all optional)."""

    owner: str | None = None  # a username; "" for unassigned
    stage: str | None = None
    track: str | None = None
    due_by: date | None = None  # follow-ups on or before this day
    open_only: bool = False


def list_leads(
    served: Served,
    factory: sessionmaker[Session],
    query: PipelineQuery,
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Leads of the park's pipeline: due and overdue follow-ups first (earliest first), then those
    without a follow-up, most recently changed first."""
    with session_scope(factory) as s:
        q = select(PipelineLead).where(PipelineLead.park_id == served.park_id)
        if query.owner == "":
            q = q.where(PipelineLead.owner_id.is_(None))
        elif query.owner is not None:
            owner = s.scalar(select(User.id).where(User.username == query.owner))
            if owner is None:
                raise InvalidInput(f"owner: no user {query.owner!r}")
            q = q.where(PipelineLead.owner_id == owner)
        if query.stage is not None:
            q = q.where(PipelineLead.stage == query.stage)
        if query.track is not None:
            q = q.where(PipelineLead.track == query.track)
        if query.due_by is not None:
            q = q.where(PipelineLead.follow_up_on <= query.due_by)
        if query.open_only:
            q = q.where(PipelineLead.stage.in_(OPEN_STAGES))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        ordered = q.order_by(
            PipelineLead.follow_up_on.is_(None),
            PipelineLead.follow_up_on,
            PipelineLead.updated_at.desc(),
            PipelineLead.id,
        )
        leads = s.scalars(ordered.limit(limit).offset(offset)).all()
        owners = _usernames(s, {lead.owner_id for lead in leads if lead.owner_id})
        today = date.today()
        p_lands = _stage_p_lands(served, leads, today)
        items = [
            _lead_dict(served, lead, owners, today, p)
            for lead, p in zip(leads, p_lands, strict=True)
        ]
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}


def history(served: Served, factory: sessionmaker[Session], lead_id: int) -> list[dict[str, Any]]:
    """Every change of a lead, oldest first: who, when, what, from → to, the version it made."""
    with session_scope(factory) as s:
        lead = s.get(PipelineLead, lead_id)
        if lead is None or lead.park_id != served.park_id:
            raise NotFound(f"id: no pipeline lead {lead_id}")
        events = s.scalars(
            select(PipelineEvent).where(PipelineEvent.lead_id == lead_id).order_by(PipelineEvent.id)
        ).all()
        names = _usernames(s, {e.user_id for e in events if e.user_id})
        return [
            {
                "id": e.id,
                "at": _aware(e.at).isoformat(),
                "user": names.get(e.user_id) if e.user_id else None,
                "field": e.field,
                "from": e.from_value,
                "to": e.to_value,
                "version": e.version,
                "outreach_id": e.outreach_id,
            }
            for e in events
        ]


@dataclass(frozen=True)
class ViewCount:
    """One group of the pipeline's views: leads of a stage, owner and track, those of them
    with a follow-up before today, those in the stage since before the stale threshold, and
    when the longest-waiting of them entered the stage."""

    stage: str
    owner: str | None
    track: str
    leads: int
    overdue: int
    stale: int
    oldest_stage_since: datetime | None


def _stale_before(today: date, stale_days: int) -> datetime:
    """The start of the day before which a stage entered makes a lead stale: its stage age in
    days (``(today - stage_since.date()).days``) is then more than ``stale_days``."""
    return datetime.combine(today - timedelta(days=stale_days), time.min, tzinfo=UTC)


def view_counts(
    factory: sessionmaker[Session],
    park: str,
    *,
    stale_days: int = 30,
    today: date | None = None,
) -> list[ViewCount]:
    """Counts per stage, owner and track in one ``GROUP BY`` (index ``ix_pipeline_leads_views``),
    with the overdue and stale leads and the oldest stage entry of each group."""
    today = today or date.today()
    lead = PipelineLead
    q = (
        select(
            lead.stage,
            lead.owner_id,
            lead.track,
            func.count().label("leads"),
            func.sum(case((lead.follow_up_on < today, 1), else_=0)).label("overdue"),
            func.sum(case((lead.stage_since < _stale_before(today, stale_days), 1), else_=0)).label(
                "stale"
            ),
            func.min(lead.stage_since).label("oldest"),
        )
        .where(lead.park_id == park)
        .group_by(lead.stage, lead.owner_id, lead.track)
    )
    with session_scope(factory) as s:
        rows = s.execute(q).all()
        owners = _usernames(s, {int(r.owner_id) for r in rows if r.owner_id is not None})
    return [
        ViewCount(
            stage=str(r.stage),
            owner=owners.get(int(r.owner_id)) if r.owner_id is not None else None,
            track=str(r.track),
            leads=int(r.leads),
            overdue=int(r.overdue or 0),
            stale=int(r.stale or 0),
            oldest_stage_since=_aware(r.oldest) if r.oldest is not None else None,
        )
        for r in rows
    ]


def _expected_values(
    served: Served, factory: sessionmaker[Session], track: str | None, today: date
) -> dict[str, float]:
    """Per stage: Σ P(land) at the stage × value (today's scores; the stored ones for firms no
    longer scored), over the few columns that needs (no owner, name or audit per lead)."""
    lead = PipelineLead
    q = select(
        lead.enterprise_id,
        lead.track,
        lead.stage,
        lead.stage_since,
        lead.p_land,
        lead.value_wan_cny,
    ).where(lead.park_id == served.park_id)
    if track is not None:
        q = q.where(lead.track == track)
    with session_scope(factory) as s:
        rows = s.execute(q).all()
    if not rows:
        return {}
    frame = pd.DataFrame(
        {
            "stage": [r.stage for r in rows],
            "days_in_stage": [max(0, (today - _aware(r.stage_since).date()).days) for r in rows],
            "entry_p_land": [r.p_land for r in rows],
            "track": [r.track for r in rows],
        }
    )
    p = served.stage_p_land(frame)
    value = np.array(
        [
            served.lead_scores(r.enterprise_id, r.track).get("value_wan_cny", r.value_wan_cny)
            for r in rows
        ],
        dtype=float,
    )
    ev = pd.Series(p * value).fillna(0.0)
    return {str(k): float(v) for k, v in ev.groupby(frame["stage"].to_numpy()).sum().items()}


def board(
    served: Served,
    factory: sessionmaker[Session],
    track: str | None = None,
    *,
    cards: int = 12,
) -> list[dict[str, Any]]:
    """Per stage: the number of leads (``view_counts``) and their expected value (Σ P(land) ×
    value, today's scores; the stored ones for firms no longer scored), with the first
    ``cards`` leads of the stage in the pipeline list's order."""
    today = date.today()
    counts: dict[str, int] = dict.fromkeys(STAGES, 0)
    for c in view_counts(factory, served.park_id, today=today):
        if track is None or c.track == track:
            counts[c.stage] += c.leads
    values = _expected_values(served, factory, track, today)
    out = []
    for stage in STAGES:
        these = (
            list_leads(
                served, factory, PipelineQuery(stage=stage, track=track), limit=cards, offset=0
            )["items"]
            if counts[stage]
            else []
        )
        out.append(
            {
                "stage": stage,
                "stage_zh": STAGE_LABELS[stage][0],
                "count": counts[stage],
                "expected_value_wan_cny": values.get(stage, 0.0),
                "leads": these,
            }
        )
    return out


def team(served: Served, factory: sessionmaker[Session], stale_days: int = 30) -> dict[str, Any]:
    """Per owner (and unassigned): leads per stage, open leads, the oldest stage age and the
    overdue follow-ups of open leads (``view_counts``), and the open leads whose stage has not
    changed for more than ``stale_days`` (only those are read)."""
    today = date.today()
    counts = view_counts(factory, served.park_id, stale_days=stale_days, today=today)
    stale = _stale_leads(served, factory, today, stale_days)
    rows = []
    for owner in sorted({c.owner or "" for c in counts}):
        mine = [c for c in counts if (c.owner or "") == owner]
        open_ = [c for c in mine if c.stage in OPEN_STAGES]
        oldest = min((c.oldest_stage_since for c in open_ if c.oldest_stage_since), default=None)
        rows.append(
            {
                "owner": owner or None,
                "leads": sum(c.leads for c in mine),
                "open": sum(c.leads for c in open_),
                "per_stage": {st: sum(c.leads for c in mine if c.stage == st) for st in STAGES},
                "oldest_stage_age_days": (today - oldest.date()).days if oldest else None,
                "overdue": sum(c.overdue for c in open_),
                "stale": [x for x in stale if (x["owner"] or "") == owner],
            }
        )
    return {"stale_days": stale_days, "owners": rows}


def _stale_leads(
    served: Served, factory: sessionmaker[Session], today: date, stale_days: int
) -> list[dict[str, Any]]:
    """The park's open leads in their stage since before the stale threshold (index
    ``ix_pipeline_leads_stage_since``), in the pipeline list's order."""
    lead = PipelineLead
    q = (
        select(lead)
        .where(
            lead.park_id == served.park_id,
            lead.stage.in_(OPEN_STAGES),
            lead.stage_since < _stale_before(today, stale_days),
        )
        .order_by(lead.follow_up_on.is_(None), lead.follow_up_on, lead.updated_at.desc(), lead.id)
    )
    with session_scope(factory) as s:
        leads = s.scalars(q).all()
        owners = _usernames(s, {x.owner_id for x in leads if x.owner_id})
        p_lands = _stage_p_lands(served, leads, today)
        return [
            _lead_dict(served, x, owners, today, p) for x, p in zip(leads, p_lands, strict=True)
        ]


def pipeline_outcomes(factory: sessionmaker[Session], park: str) -> pd.DataFrame:
    """The pipeline's resolved leads as outreach records (the contract's ``outreach`` columns)
    for training: negotiating → interested, signed / landed / paying → signed, lost → declined
    or no_response; leads not yet contacted or still waiting are left out."""
    with session_scope(factory) as s:
        rows = s.execute(
            select(PipelineLead, User.username)
            .outerjoin(User, User.id == PipelineLead.owner_id)
            .where(PipelineLead.park_id == park)
        ).all()
        s.expunge_all()  # read only: the leads stay readable when the session commits and closes
    records = []
    for lead, owner in rows:
        outcome = (
            LOST_OUTCOME.get(lead.lost_reason or "", "declined")
            if lead.stage == "lost"
            else STAGE_OUTCOME.get(lead.stage)
        )
        if outcome is None:
            continue
        contacted = lead.contacted_on or _aware(lead.created_at).date()
        records.append(
            {
                C.OUTREACH_ID: f"pipeline-{lead.id}",
                C.ENTERPRISE_ID: lead.enterprise_id,
                C.PARK_ID: park,
                C.TRACK: lead.track,
                C.CAMPAIGN: C.PIPELINE_CAMPAIGN,
                C.CONTACTED_ON: pd.Timestamp(contacted),
                C.OUTCOME: outcome,
                C.CLOSED_ON: pd.Timestamp(lead.closed_on) if lead.closed_on else pd.NaT,
                C.OFFICER: owner,
                C.NOTE: None,
            }
        )
    columns = [
        C.OUTREACH_ID,
        C.ENTERPRISE_ID,
        C.PARK_ID,
        C.TRACK,
        C.CAMPAIGN,
        C.CONTACTED_ON,
        C.OUTCOME,
        C.CLOSED_ON,
        C.OFFICER,
        C.NOTE,
    ]
    return pd.DataFrame(records, columns=columns)


STAGE_EVENT_COLUMNS = ("lead_id", C.TRACK, "at", "from_stage", "to_stage")


def stage_events(factory: sessionmaker[Session], park: str) -> pd.DataFrame:
    """The park's stage moves from the audit trail, for ``models.stages``: a lead's creation
    (its entry at ``new``, or at an outcome's stage), every stage change and every outreach
    event, oldest first, with the lead's track."""
    with session_scope(factory) as s:
        rows = s.execute(
            select(
                PipelineEvent.lead_id,
                PipelineLead.track,
                PipelineEvent.at,
                PipelineEvent.field,
                PipelineEvent.from_value,
                PipelineEvent.to_value,
            )
            .join(PipelineLead, PipelineLead.id == PipelineEvent.lead_id)
            .where(
                PipelineLead.park_id == park,
                PipelineEvent.field.in_(("created", "stage", "outreach")),
            )
            .order_by(PipelineEvent.at, PipelineEvent.id)
        ).all()
    frame = pd.DataFrame(
        [
            (lead, track, _aware(at), None if field == "created" else old, new)
            for lead, track, at, field, old, new in rows
        ],
        columns=list(STAGE_EVENT_COLUMNS),
    )
    # an outreach that left the lead where it was is no move
    return frame[frame["from_stage"] != frame["to_stage"]].reset_index(drop=True)


def owners_of(factory: sessionmaker[Session]) -> Sequence[str]:
    """The usernames a lead can be assigned to (enabled officers and team leads)."""
    with session_scope(factory) as s:
        return list(
            s.scalars(
                select(User.username)
                .where(User.role.in_(OWNER_ROLES), User.disabled.is_(False))
                .where(User.password_hash.is_not(None))
                .order_by(User.username)
            )
        )
