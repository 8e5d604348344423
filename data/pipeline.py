"""The pipeline's vocabulary: its stages and the moves between them, the reasons a lead is lost,
how outreach outcomes and stages map onto each other, and the roles of the people who work it.

Every layer that speaks of the pipeline imports these names from here — the service database
and its API (``api.crm``), the pages and their labels, the KPIs' projection from open leads,
training (a resolved stage is an outcome), and the demo's simulated plan period — so a stage, a
role or a reason is defined once. Labels are data (Chinese first, then English), like the chain
labels of ``data/chains``.

A lead (firm × track) moves ``new → contacted → negotiating → signed → landed → paying`` one step
at a time, steps back from negotiating to contacted, is lost from any stage before landing (with
a reason), and a lost lead may be reopened as contacted. ``new`` … ``signed`` are open: the
pipeline still works them and the KPIs project them. ``landed`` and ``paying`` firms belong to
the park (they join its roster).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

STAGES: Final = ("new", "contacted", "negotiating", "signed", "landed", "paying", "lost")
OPEN_STAGES: Final = ("new", "contacted", "negotiating", "signed")
LANDED_STAGES: Final = ("landed", "paying")
RESOLVED_STAGES: Final = ("signed", "lost")  # a lead's contact has its answer: closed_on is set
STAGE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "new": ("线索", "New"),
    "contacted": ("已接洽", "Contacted"),
    "negotiating": ("洽谈中", "Negotiating"),
    "signed": ("已签约", "Signed"),
    "landed": ("已落地", "Landed"),
    "paying": ("已纳税", "Paying tax"),
    "lost": ("已流失", "Lost"),
}
# one step forward, back one step while negotiating, lost from any stage before landing, and a
# lost lead reopened as contacted
MOVES: Final[Mapping[str, frozenset[str]]] = {
    "new": frozenset({"contacted", "lost"}),
    "contacted": frozenset({"negotiating", "lost"}),
    "negotiating": frozenset({"signed", "contacted", "lost"}),
    "signed": frozenset({"landed", "lost"}),
    "landed": frozenset({"paying"}),
    "paying": frozenset(),
    "lost": frozenset({"contacted"}),
}

LOST_REASONS: Final = ("declined", "chose_other_location", "no_response", "not_eligible")
LOST_REASON_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "declined": ("企业拒绝", "declined"),
    "chose_other_location": ("选择其他地点", "chose another location"),
    "no_response": ("无回应", "no response"),
    "not_eligible": ("不符合条件", "not eligible"),
}

# an outreach outcome (the data contract's ``outreach.outcome``) as the stage, and loss reason,
# it leaves the lead in
OUTCOME_STAGE: Final[Mapping[str, tuple[str, str | None]]] = {
    "pending": ("contacted", None),
    "interested": ("negotiating", None),
    "signed": ("signed", None),
    "declined": ("lost", "declined"),
    "no_response": ("lost", "no_response"),
}
# a lead's stage as the outcome training learns from (new and contacted are unresolved)
STAGE_OUTCOME: Final[Mapping[str, str]] = {
    "negotiating": "interested",
    "signed": "signed",
    "landed": "signed",
    "paying": "signed",
}
LOST_OUTCOME: Final[Mapping[str, str]] = {
    "declined": "declined",
    "chose_other_location": "declined",
    "not_eligible": "declined",
    "no_response": "no_response",
}

# officer: works leads; lead: the team lead, also assigns and reassigns them; analyst: models,
# reloads and corrections of the chain attachment; admin: everything, people included
ROLES: Final = ("officer", "lead", "analyst", "admin")
ROLE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "officer": ("招商专员", "officer"),
    "lead": ("团队负责人", "team lead"),
    "analyst": ("数据分析师", "analyst"),
    "admin": ("管理员", "admin"),
}
WRITERS: Final = ("officer", "lead", "admin")  # change the pipeline
ASSIGNERS: Final = ("lead", "admin")  # assign and reassign leads
OWNER_ROLES: Final = ("officer", "lead")  # may own a lead
CORRECTORS: Final = ("analyst", "lead", "admin")  # correct the chain attachment (产业链校核)


def stage_move_error(current: str, wanted: str) -> str | None:
    """Why ``current`` → ``wanted`` is not allowed, or ``None`` when it is."""
    if wanted == current or wanted in MOVES[current]:
        return None
    allowed = MOVES[current]
    return (
        f"stage: cannot move from {current} ({STAGE_LABELS[current][0]}) to {wanted} "
        f"({STAGE_LABELS[wanted][0]}); from {current} a lead can move to "
        + (", ".join(sorted(allowed)) if allowed else "nothing (it is final)")
    )


# each stage by name, for code that speaks of one stage (unpacked from STAGES: a change of the
# stages fails here, at import, not in a caller)
NEW, CONTACTED, NEGOTIATING, SIGNED, LANDED, PAYING, LOST = STAGES
