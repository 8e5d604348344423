"""Lookalike firms (``api/routes/similar.py``): firms like one firm or like a set."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import InvalidInput, NotFound
from api.jsonable import clean
from api.serving.leads import public_reasons
from api.serving.state import ServiceState
from data import columns as C


def similar_firms(
    state: ServiceState, ids: Sequence[str], *, k: int, include_members: bool
) -> dict[str, object]:
    """The ``k`` firms most like ``ids`` with their reasons; an unknown id is ``NotFound``, a set
    over ``MAX_SET`` ids ``InvalidInput``."""
    assert state.fc is not None
    unknown = [i for i in ids if state.row_of(i) is None]
    if unknown:
        raise NotFound(f"enterprise_id: no enterprise {unknown[0]!r}")
    try:  # more than MAX_SET ids, or none
        found = state.lookalikes().similar(ids, k=k, include_members=include_members)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    firms = state.tables["enterprises"]

    def ref(enterprise_id: str) -> dict[str, str]:
        row = state.row_of(enterprise_id)
        name = firms[C.NAME].iloc[row] if row is not None else enterprise_id
        return {"enterprise_id": enterprise_id, "name": str(name)}

    items = []
    for rank, hit in enumerate(found, start=1):
        row = state.row_of(hit.enterprise_id)
        record = firms.iloc[row] if row is not None else None

        def field(column: str, record: object = record) -> object:
            return clean(record[column]) if record is not None else None  # type: ignore[index]

        items.append(
            {
                "rank": rank,
                "enterprise_id": hit.enterprise_id,
                "name": str(field(C.NAME) or hit.enterprise_id),
                "province": field(C.PROVINCE),
                "city": field(C.CITY),
                "industry_code": field(C.INDUSTRY_CODE),
                "revenue_wan_cny": field(C.REVENUE),
                "in_park": hit.enterprise_id in state.fc.park_members,
                "similarity": hit.similarity,
                "like": ref(hit.like),
                "reasons": public_reasons(hit.reasons),
            }
        )
    return {
        "query": [ref(i) for i in dict.fromkeys(ids)],
        "k": k,
        "include_members": include_members,
        "items": items,
        "snapshot_id": state.snapshot_id,
    }
