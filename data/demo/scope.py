"""Business-scope text (经营范围) of demo firms, written from the link vocabularies so that the demo
runs through the same attacher as real registry data.

A firm with chain links gets one clause per link, its main link first (``从事<term>的技术开发、
技术服务`` and the like, the term drawn from that link's vocabulary), then one or two generic
clauses; every firm may get a decoy: a trade clause listing link terms without a verb of making
(``服务器、传感器的销售``), or a phrase that a link's exclusions rule out (食品安全检测). With
probability ``MISSING_MAIN`` the main link's clause is left out (a registry scope that does not say
what the firm mainly does). The generator's own links stay the truth (``true_links``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.dtypes import StringDType

from data import columns as C
from data.reference import LinkVocabulary

MISSING_MAIN: Final = 0.03
DECOY_RATE: Final = 0.3
_LINK_TEMPLATES: Final = (
    "从事{}领域内的技术开发、技术服务",
    "{}的研发、生产",
    "{}的设计、制造、安装",
    "提供{}服务",
    "{}的运营服务",
)
_FILLERS: Final = (
    "技术咨询、技术转让",
    "企业管理咨询",
    "计算机软硬件的销售",
    "日用百货、五金交电的销售",
    "从事货物及技术的进出口业务",
    "会务服务",
    "自有房屋租赁",
    "商务信息咨询",
)
_DECOYS: Final = (
    "食品安全检测服务",
    "安全帽、劳防用品的销售",
    "服务器、传感器、通讯设备的销售",
    "汽车配件、摩托车配件",
    "隔膜泵的生产",
    "密码锁的制造",
    "保险柜、保险箱的销售",
    "IDC连接器的生产",
    "消防安全工程施工",
    "汽车租赁服务",
)
ObjArray = npt.NDArray[np.object_]


def _clauses(vocabulary: LinkVocabulary) -> ObjArray:
    terms = [*vocabulary.terms, *vocabulary.scope] or [vocabulary.link_id]
    return np.array([t.format(term) for t in _LINK_TEMPLATES for term in terms], dtype=object)


def scope_texts(
    rng: np.random.Generator,
    *,
    ids: npt.NDArray[np.str_] | ObjArray,
    links: pd.DataFrame,
    vocabularies: Mapping[str, LinkVocabulary],
) -> ObjArray:
    """A business scope for each of ``ids`` from its ``links`` (largest share first)."""
    n = len(ids)
    # numpy's variable-width strings: appending clauses to 1 M texts runs in C
    text = np.full(n, "", dtype=StringDType())

    def append(where: npt.NDArray[np.int64] | npt.NDArray[np.bool_], clause: ObjArray) -> None:
        head = text[where]
        sep = np.where(np.strings.str_len(head) > 0, "，", "").astype(StringDType())
        # numpy's stubs do not list StringDType arrays for np.strings.add yet
        joined = np.strings.add(head, sep)  # type: ignore[arg-type]
        text[where] = np.strings.add(joined, clause.astype(StringDType()))

    # integer positions, not string keys: sorting and grouping 1 M string ids costs seconds
    firm_of = pd.Index(np.asarray(ids, dtype=object)).get_indexer(
        links[C.ENTERPRISE_ID].to_numpy(dtype=object)
    )
    order = np.lexsort((-links[C.SHARE].to_numpy(), firm_of))
    rows = firm_of[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    ordered_links = links[C.LINK_ID].to_numpy(dtype=object)[order]
    for r in np.unique(rank):  # main links first, then second links
        at = rank == r
        firm = rows[at].astype(np.int64)
        link_ids = ordered_links[at]
        clause = np.empty(len(firm), dtype=object)
        codes, names = pd.factorize(link_ids, sort=True)
        by_link = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[by_link], np.arange(len(names) + 1))
        for k, link_id in enumerate(names):
            members = by_link[bounds[k] : bounds[k + 1]]
            clauses = _clauses(vocabularies[str(link_id)])  # every template with every term
            clause[members] = clauses[rng.integers(0, len(clauses), len(members))]
        if r == 0:
            keep = rng.random(len(firm)) >= MISSING_MAIN
            firm, clause = firm[keep], clause[keep]
        append(firm, clause)
    fillers = np.array(_FILLERS, dtype=object)
    for _ in range(2):
        add = rng.random(n) < 0.7
        append(add, fillers[rng.integers(0, len(fillers), int(add.sum()))])
    decoy = rng.random(n) < DECOY_RATE
    append(decoy, np.array(_DECOYS, dtype=object)[rng.integers(0, len(_DECOYS), int(decoy.sum()))])
    empty = np.strings.str_len(text) == 0
    append(empty, fillers[rng.integers(0, len(fillers), int(empty.sum()))])
    out: ObjArray = text.astype(object)
    return out
