"""What the team's system of record asks of the served universe, as a protocol: the pipeline and
outreach check that a firm exists and a track is the park's, name the firm, and keep the scores
a lead has when it enters. ``api.serving.state.ServiceState`` is one; a test can hand in a small
object of its own, and the system of record never imports the serving state."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from data.reference import Park


class Served(Protocol):
    """The served park and the firms of its universe."""

    park: Park | None

    @property
    def park_id(self) -> str:
        """The served park's id."""

    def row_of(self, enterprise_id: str) -> int | None:
        """The firm's row in the universe, ``None`` for an unknown id."""

    def firm_name(self, enterprise_id: str, track: str) -> str:
        """The firm's name (its id when unknown)."""

    def stage_p_land(self, leads: pd.DataFrame) -> np.ndarray:
        """P(land) of pipeline leads at their stage (columns ``stage``, ``days_in_stage``,
        ``entry_p_land``, ``track``; ``models.stages``), their entry P(land) where no stage
        model is served."""

    def lead_scores(self, enterprise_id: str, track: str) -> dict[str, Any]:
        """The firm's lead scores on a track now, keyed as ``api.crm.pipeline.SNAPSHOT_FIELDS``
        (empty when it is no candidate of the track)."""
