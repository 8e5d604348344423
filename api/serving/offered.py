"""Which candidates a lead list offers: firms the park can still win.

At each load ``NotOffered.of`` reads ``models.exclusions.not_leads`` — firms already signed
(the outreach history or the pipeline), landed or paying, open in the pipeline, or that declined
within the park YAML's cool-off — and keeps, per track, the strongest reason of each candidate
row as a small integer code (``-1``: offered), so a list leaves them out with one boolean mask.
Firms put on the pipeline after the load are left out too (``recent``: the pipeline's new leads
since the load, from ``api.crm.contacted.FirmsCache``). A filter (``include``) brings a group
back. Park members are no candidates at all (``models.leads.score_candidates``): a list never
offers the park its own firms, and firms that landed join the roster at the load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from api.serving.lead_table import LeadTable
from data import columns as C
from models.exclusions import REASONS

# the groups a list filter can bring back (members, landed and paying firms are the park's)
INCLUDABLE = ("signed", "open_in_pipeline", "declined_recently")
REASON_LABELS = {
    "member": ("园区企业", "a park firm"),
    "paying": ("已落地纳税", "landed and paying tax"),
    "landed": ("已落地", "landed"),
    "signed": ("已签约", "already signed"),
    "open_in_pipeline": ("已在跟进", "already worked in the pipeline"),
    "declined_recently": ("近期已拒绝", "declined recently"),
}


@dataclass
class NotOffered:
    """Per track, the reason code of every lead-table row (``-1`` offered) and, per firm, its
    reasons with their days (for the enterprise page)."""

    codes: Mapping[str, np.ndarray] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def of(cls, not_leads: pd.DataFrame, leads: Mapping[str, LeadTable]) -> NotOffered:
        """Codes for each track's rows from ``not_leads`` (``models.exclusions.not_leads``)."""
        codes: dict[str, np.ndarray] = {}
        for track, table in leads.items():
            code = np.full(len(table), -1, dtype=np.int8)
            applies = not_leads[not_leads[C.TRACK].isna() | (not_leads[C.TRACK] == track)]
            if len(applies):
                strongest = applies.assign(order=applies["reason"].map(REASONS.index)).sort_values(
                    "order", kind="stable"
                )
                strongest = strongest.drop_duplicates(C.ENTERPRISE_ID)
                rows = table.index.get_indexer(strongest[C.ENTERPRISE_ID].astype(str))
                hit = rows >= 0
                code[rows[hit]] = strongest["order"].to_numpy()[hit]
            codes[track] = code
        return cls(codes=codes, table=not_leads)

    def keep(
        self,
        track: str,
        table: LeadTable,
        *,
        include: Sequence[str] = (),
        recent: Sequence[str] = (),
    ) -> np.ndarray | None:
        """The rows a track's list may show (``None``: every row), given the groups brought
        back and the firms put on the pipeline since the load."""
        code = self.codes.get(track)
        if code is None:
            return None
        keep = code < 0
        for reason in include:
            keep |= code == REASONS.index(reason)
        if recent and "open_in_pipeline" not in include:
            rows = table.index.get_indexer(list(recent))
            keep[rows[rows >= 0]] = False
        return keep

    def why(self, enterprise_id: str, track: str) -> tuple[str, date | None] | None:
        """The strongest reason a track's list leaves the firm out, and since when."""
        if self.table.empty:
            return None
        t = self.table
        rows = t[
            (t[C.ENTERPRISE_ID] == enterprise_id) & (t[C.TRACK].isna() | (t[C.TRACK] == track))
        ]
        if rows.empty:
            return None
        first = rows.iloc[0]  # ``not_leads`` orders a firm's rows strongest first
        since = first["since"]
        return str(first["reason"]), since if isinstance(since, date) else None
