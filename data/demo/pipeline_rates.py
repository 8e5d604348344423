"""The demo pipeline's truth: how a lead the officers work moves through the stages, with the
rates and durations stated once, and the function that draws one lead's path.

The demo's plan-period simulation (``attract demo-history``) puts the champion's leads on the
pipeline at ``new`` and lets each firm decide by the generator's truth. This module is that
truth for the moves (``data.pipeline`` names the stages):

1. **Does the firm sign?** One draw against its true ``p_sign`` (the oracle's P(signed within 12
   months | approached), ``data.demo.generator``).
2. **A firm that signs** is contacted, negotiates and signs — ``SIGNING_STEPS``: 7–60 days to
   the first contact, 20–90 more to negotiating, 20–120 more to the signature — and then
   **lands with probability** ``P_LAND_AFTER_SIGNING`` = 0.80, 30–180 days after signing, and
   pays tax 60–200 days after landing. A signed firm that does not land is lost
   (``SIGNED_LOST_REASON``: it chose another location) 30–240 days after signing
   (``SIGNED_LOST_DAYS``).
3. **A firm that does not sign** is contacted after 7–60 days, negotiates with probability
   ``P_NEGOTIATE_WITHOUT_SIGNING`` = 0.4 (20–90 days later) and is lost 30–240 days after its
   last move, with a reason drawn uniformly from ``data.pipeline.LOST_REASONS``.

A duration "a–b days" is a uniform whole number of days in [a, b). A step that would fall after
``until`` (the history's end) is not taken, nor any after it: the lead stays open where it is.

**Sources.** Signed → landed below 100 %: published follow-ups of signed investment projects put
the share of signed projects that began performing their contract (履约率) at 82–99 %, that
started construction (开工率) at 41–90 % and the share of contracted funds that arrived (资金到位率)
at 14–34 %, within a year or so of signing — Sichuan, 第十届西博会 signed projects, mid-2010:
履约 95 %, 开工 86 %, 资金到位 about 30 % (www.scspc.gov.cn/html/zhyw_11/2010/0719/55208.html);
Sichuan, 600 key projects of the 2014 campaigns, March 2015: 履约 84 %, 开工 67 %, 资金到位 20 %
(www.hnrmy.cn/news/show.php?itemid=298198); Yunnan, projects signed at the province's 2015 H1
events that entered parks: 履约 82 %, 落地 32 %, 开工 41 %, 资金到位 13.8 %
(invest.yn.gov.cn/ZWArticleInfo.aspx?id=9263); Xuchang, Jan–Oct 2017: 履约 98.8 %, 开工 90 %,
资金到位 34 % (m.chinacrane.net/news/201712/09/126218.html). A unit landing in an office park
builds nothing — landing is its registration and move-in — so it sits nearer 履约 than 开工:
0.80, the low end of 履约 and above the middle of 开工. The durations and the 40 % that
negotiate without signing are the demo's assumptions (the durations are the ones the plan-period
simulation has always used), not measurements.

**Random streams.** ``draw_lead_path`` draws from the caller's generator exactly what the
simulation drew before signed → landed existed (the sign draw, then each step's days, then a
lost reason), so every lead other than a signed firm that does not land moves as before; the
new draws — whether a signed firm lands, and when a non-lander is lost — come from a second
generator, ``landing_stream(seed)``, a stream of its own.

``true_p_land(stage=..., p_sign=...)`` is the probability that a lead at a stage lands under
these rates (ignoring the history's end): what ``models.stages.StageModel`` fitted on the demo's
moves should approach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from data.pipeline import (
    CONTACTED,
    LANDED,
    LANDED_STAGES,
    LOST,
    LOST_REASONS,
    NEGOTIATING,
    NEW,
    PAYING,
    SIGNED,
    STAGES,
)

# (stage, low, high): a signing firm reaches ``stage`` low–high days after its previous move
SIGNING_STEPS: Final[tuple[tuple[str, int, int], ...]] = (
    (CONTACTED, 7, 60),
    (NEGOTIATING, 20, 90),
    (SIGNED, 20, 120),
    (LANDED, 30, 180),
    (PAYING, 60, 200),
)
P_LAND_AFTER_SIGNING: Final = 0.80  # published 履约 82–99 %, 开工 41–90 % (module docstring)
SIGNED_LOST_DAYS: Final = (30, 240)
SIGNED_LOST_REASON: Final = "chose_other_location"
P_NEGOTIATE_WITHOUT_SIGNING: Final = 0.4
# a firm that does not sign: contacted, negotiating (with P_NEGOTIATE_WITHOUT_SIGNING), lost
NON_SIGNING_STEPS: Final[tuple[tuple[str, int, int], ...]] = (
    (CONTACTED, 7, 60),
    (NEGOTIATING, 20, 90),
    (LOST, 30, 240),
)
LANDING_STREAM_TAG: Final = 24  # the issue that introduced the draw: a stream of its own

if SIGNED_LOST_REASON not in LOST_REASONS:  # pragma: no cover - a vocabulary change
    raise ValueError(f"SIGNED_LOST_REASON: {SIGNED_LOST_REASON!r} is not in LOST_REASONS")


@dataclass(frozen=True)
class LeadPath:
    """The stages a lead passes through after ``new``, each with its day, up to ``until``;
    ``lost_reason`` when the path ends lost; ``signs`` / ``lands`` are the truth drawn (``lands``
    is None for a firm that does not sign)."""

    steps: tuple[tuple[str, date], ...]
    lost_reason: str | None
    signs: bool
    lands: bool | None


def landing_stream(seed: int) -> np.random.Generator:
    """The generator of the draws signed → landed added (a new stream: the old ones unchanged)."""
    return np.random.default_rng([seed, LANDING_STREAM_TAG])


def draw_lead_path(
    *,
    p_sign: float,
    created: date,
    until: date,
    rng: np.random.Generator,
    landing_rng: np.random.Generator,
) -> LeadPath:
    """One lead's path from ``new`` on ``created`` (module docstring): whether it signs from
    ``rng`` against ``p_sign``, its days from ``rng``, whether a signed firm lands and when a
    non-lander is lost from ``landing_rng``."""
    if not 0.0 <= p_sign <= 1.0:
        raise ValueError(f"p_sign: must be a probability in [0, 1] (got {p_sign!r})")
    if until < created:
        raise ValueError(f"until: {until} is before the lead was created ({created})")
    signs = bool(rng.random() < p_sign)
    day = created
    if signs:
        # every step's days drawn as before, even those a non-lander will not take, so that
        # the caller's stream stays what it was
        drawn: list[tuple[str, date]] = []
        for stage, low, high in SIGNING_STEPS:
            day = day + timedelta(days=int(rng.integers(low, high)))
            if day > until:
                break
            drawn.append((stage, day))
        lands = bool(landing_rng.random() < P_LAND_AFTER_SIGNING)
        if lands:
            return LeadPath(tuple(drawn), None, True, True)
        before = [(s, d) for s, d in drawn if s not in LANDED_STAGES]
        if before and before[-1][0] == SIGNED:
            lost_on = before[-1][1] + timedelta(days=int(landing_rng.integers(*SIGNED_LOST_DAYS)))
            if lost_on <= until:
                return LeadPath((*before, (LOST, lost_on)), SIGNED_LOST_REASON, True, False)
        return LeadPath(tuple(before), None, True, False)
    steps: list[tuple[str, date]] = []
    for stage, low, high in NON_SIGNING_STEPS:
        if stage == NEGOTIATING and not rng.random() < P_NEGOTIATE_WITHOUT_SIGNING:
            continue
        day = day + timedelta(days=int(rng.integers(low, high)))
        if day > until:
            return LeadPath(tuple(steps), None, False, None)
        steps.append((stage, day))
    reason = LOST_REASONS[int(rng.integers(0, len(LOST_REASONS)))]
    return LeadPath(tuple(steps), reason, False, None)


def true_p_land(*, stage: str, p_sign: float) -> float:
    """P(the lead lands) for a firm of true ``p_sign`` known to be at ``stage``, under these
    rates, with no end to the history: ``new`` / ``contacted`` p × 0.8; ``negotiating``
    p × 0.8 / (p + (1 − p) × 0.4) (Bayes: signers always negotiate, 40 % of the others do);
    ``signed`` 0.8; landed and paying 1; lost 0 (the demo reopens no lead)."""
    if stage not in STAGES:
        raise ValueError(f"stage: {stage!r} is not a pipeline stage ({', '.join(STAGES)})")
    if stage in (NEW, CONTACTED):
        return p_sign * P_LAND_AFTER_SIGNING
    if stage == NEGOTIATING:
        reach = p_sign + (1 - p_sign) * P_NEGOTIATE_WITHOUT_SIGNING
        return p_sign * P_LAND_AFTER_SIGNING / reach if reach > 0 else 0.0
    if stage == SIGNED:
        return P_LAND_AFTER_SIGNING
    return 1.0 if stage in LANDED_STAGES else 0.0
