"""Vocabularies that learn from corrections: suggested changes to ``data/vocabulary/``, each with
the firms it would change and the corrections it would have got right — for a person to accept.

A **change** (``VocabularyChange``) is one of: a ``term`` to add to a link's ``terms`` (it would
attach firms the attacher missed), an ``exclude`` term of a link (it would stop a wrong match), or
a ``generic`` word for ``_generic.yaml`` (a product or scope item that names no link and only
dilutes the firm's evidence).

**Candidates**, from the corrected firms whose corrected links differ from the attacher's (the
targets: ``data.corrections.apply_corrections`` of the corrections in effect):

- term for L, for each firm whose target has L and whose attacher links do not: the substrings
  (2–12 characters) of its items (``industry_graph.attach.firm_items``: product names and the
  scope items of what it does) that are not generic words;
- exclude for L, for each firm the attacher put in L against its target: the substrings of its
  items that name L;
- generic: the items of those firms that name no link and are not yet generic, whole.

Of the substrings with the same set of supporting firms, only the longest is kept (the most
specific words with that support: 锂原电池, not 原电). A change matters only for a firm one of
whose items contains its word (the attacher reads nothing else), so **evaluating** a change
re-attaches exactly those firms of the universe given, with the changed vocabularies
(``attach_links``, the attacher itself), and compares their links with the attacher's:

- ``changed``: firms whose links or shares (to 3 decimals) change;
- ``fixes`` / ``breaks``: corrected firms whose agreement with their corrections rises / falls,
  agreement = (right-link share + top-link accuracy) / 2 of ``score_links`` against the target;
- ``gain``: Σ of the agreement changes over the corrected firms.

Only changes with a positive gain and at least one fix are suggested, best gain first. Nothing is
applied: ``suggestion_table`` and ``vocabulary_patch`` are for a person; ``apply_changes`` gives
changed *copies* of the vocabularies in memory and ``write_vocabulary_copy`` writes an edited copy
of the YAML folder (comments kept), to diff and measure before anyone accepts it.
``select_changes`` is the acceptance rule of the measurement (``industry_graph.link_study``): a
change must alter at least ``min_changed`` corrected firms and break none, and is kept only if,
added to the ones kept before it, it still breaks none and gains.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from data import columns as C
from data.corrections import LinkCorrection, apply_corrections, in_effect
from data.reference import (
    VOCABULARY_DIR,
    Chain,
    LinkVocabulary,
    Park,
    chain_of,
    load_generic_terms,
    load_vocabularies,
)
from industry_graph.attach import (
    LinkMatcher,
    attach_links,
    firm_items,
    industry_prior,
    score_links,
)

ChangeKind = Literal["term", "exclude", "generic"]
MIN_WORD: Final = 2
MAX_WORD: Final = 12
_WORDLIKE: Final = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9][\u4e00-\u9fffA-Za-z0-9+\-·]*$")
_CJK: Final = re.compile(r"[\u4e00-\u9fff]")
_YAML_PLAIN: Final = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9][\u4e00-\u9fffA-Za-z0-9+\-·]*$")


@dataclass(frozen=True, order=True)
class VocabularyChange:
    """One change to the vocabularies: ``term`` / ``exclude`` of ``link_id``, or a ``generic``
    word (``link_id`` None)."""

    kind: ChangeKind
    word: str
    link_id: str | None = None

    def file(self) -> str:
        """The vocabulary file it edits."""
        return "_generic.yaml" if self.link_id is None else f"{chain_of(self.link_id)}.yaml"

    def describe(self, *, lang: str = "zh") -> str:
        """The change in words."""
        if self.kind == "generic":
            return f"通用词 +「{self.word}」" if lang == "zh" else f"generic word + {self.word}"
        if self.kind == "term":
            return (
                f"{self.link_id} 词条 +「{self.word}」"
                if lang == "zh"
                else f"{self.link_id}: term + {self.word}"
            )
        return (
            f"{self.link_id} 排除 +「{self.word}」"
            if lang == "zh"
            else f"{self.link_id}: exclude + {self.word}"
        )


@dataclass(frozen=True)
class Suggestion:
    """A change with what it would do on the universe it was evaluated on."""

    change: VocabularyChange
    changed: tuple[str, ...]  # firms whose links would change
    fixes: tuple[str, ...]  # corrected firms it would bring closer to their corrections
    breaks: tuple[str, ...]  # corrected firms it would take further from them
    gain: float  # Σ agreement change over the corrected firms
    before: Mapping[str, str]  # changed firm -> its links now (top first)
    after: Mapping[str, str]  # changed firm -> its links with the change


def apply_changes(
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
    changes: Iterable[VocabularyChange],
) -> tuple[dict[str, LinkVocabulary], tuple[str, ...]]:
    """Copies of ``vocabularies`` and ``generic`` with ``changes`` made (the inputs unchanged);
    a change to a link without a vocabulary is a ``KeyError`` naming it."""
    out = dict(vocabularies)
    words = list(generic)
    for change in changes:
        if change.kind == "generic":
            if change.word not in words:
                words.append(change.word)
            continue
        link = str(change.link_id)
        if link not in out:
            raise KeyError(f"{change.describe(lang='en')}: no vocabulary for link {link!r}")
        field = "terms" if change.kind == "term" else "exclude"
        held: tuple[str, ...] = getattr(out[link], field)
        if change.word not in held:
            out[link] = out[link].model_copy(update={field: (*held, change.word)})
    return out, tuple(words)


def _targets(
    links: pd.DataFrame,
    corrections: Sequence[LinkCorrection],
    parks: Mapping[str, Park] | None,
    chains: Mapping[str, Chain],
) -> pd.DataFrame:
    """Labels (``enterprise_id``, ``right``) of the corrected firms: their corrected links."""
    timeline, _ = in_effect(corrections)
    firms = sorted({c.enterprise_id for c in timeline})
    own = links[links[C.ENTERPRISE_ID].isin(firms)]
    fixed = apply_corrections(links=own, corrections=timeline, parks=parks, chains=chains).links
    sets = fixed.groupby(C.ENTERPRISE_ID)[C.LINK_ID].agg(frozenset)
    return pd.DataFrame(
        {C.ENTERPRISE_ID: firms, "right": [sets.get(eid, frozenset()) for eid in firms]}
    )


def _agreement(links: pd.DataFrame, targets: pd.DataFrame) -> pd.Series:
    scored = score_links(links, targets)
    values = (scored["right_share"] + scored["top_right"]) / 2.0
    return pd.Series(values.to_numpy(), index=scored[C.ENTERPRISE_ID].to_numpy())


def link_signatures(links: pd.DataFrame) -> dict[str, tuple[tuple[str, float], ...]]:
    """Per firm, its links and shares (to 3 decimals): two answers differ where these do."""
    return {
        str(eid): tuple(sorted(zip(g[C.LINK_ID], g[C.SHARE].round(3), strict=True)))
        for eid, g in links.groupby(C.ENTERPRISE_ID)
    }


def _shown(links: pd.DataFrame) -> dict[str, str]:
    return {
        str(eid): ";".join(
            f"{lk}:{s:.2f}"
            for lk, s in sorted(
                zip(g[C.LINK_ID], g[C.SHARE], strict=True), key=lambda x: (-x[1], x[0])
            )
        )
        for eid, g in links.groupby(C.ENTERPRISE_ID)
    }


def _substrings(text: str, matcher: LinkMatcher, generic: re.Pattern[str] | None) -> set[str]:
    """Candidate words of an item: its substrings of 2–12 characters that are word-like, not
    generic, and do not cut a generic word in two (值服 of 增值服务 is no word)."""
    low = text.strip()
    cuts: set[int] = set()
    if generic is not None:
        for m in generic.finditer(low):
            cuts.update(range(m.start() + 1, m.end()))
    out = set()
    for length in range(MIN_WORD, min(MAX_WORD, len(low)) + 1):
        for start in range(len(low) - length + 1):
            if start in cuts or start + length in cuts:
                continue
            word = low[start : start + length]
            if not _WORDLIKE.match(word):
                continue
            if not _CJK.search(word) and len(word) < 3:
                continue
            if matcher.is_generic(word):
                continue
            out.add(word)
    return out


def _closed(support: Mapping[str, frozenset[str]]) -> list[str]:
    """Words with no longer word of the same supporting firms (the most specific of each)."""
    by_support: dict[frozenset[str], list[str]] = defaultdict(list)
    for word, firms in support.items():
        by_support[firms].append(word)
    kept = []
    for words in by_support.values():
        words.sort(key=len, reverse=True)
        chosen: list[str] = []
        for word in words:
            if not any(word in longer for longer in chosen):
                chosen.append(word)
        kept += chosen
    return sorted(kept)


class _Subsets:
    """The evidence tables of a few firms: their product rows, their products and the broader
    products those are a subclass of — all the attacher reads of them, so attaching the firms
    on these gives what attaching them on the whole universe gives, without reading 95 k
    product names per call."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self.enterprises = tables["enterprises"]
        products = tables.get("products")
        ep = tables.get("enterprise_products")
        relations = tables.get("product_relations")
        self.products = products.astype(object) if products is not None else None
        self.ep = ep.astype(object) if ep is not None else None
        self.relations = relations.astype(object) if relations is not None else None

    def of(self, firms: Iterable[str]) -> dict[str, pd.DataFrame | None]:
        """``attach_links`` keyword arguments for ``firms``."""
        wanted = set(firms)
        ent = self.enterprises[self.enterprises[C.ENTERPRISE_ID].isin(wanted)]
        if self.ep is None or self.products is None:
            return {"enterprises": ent, "products": None, "enterprise_products": None}
        ep = self.ep[self.ep[C.ENTERPRISE_ID].isin(wanted)]
        pids = set(ep[C.PRODUCT_ID])
        relations = (
            self.relations[self.relations[C.TO_PRODUCT].isin(pids)]
            if self.relations is not None
            else None
        )
        if relations is not None:
            pids |= set(relations[C.FROM_PRODUCT])
        return {
            "enterprises": ent,
            "products": self.products[self.products[C.PRODUCT_ID].isin(pids)],
            "enterprise_products": ep,
            "product_relations": relations,
        }


def _attach_subset(
    subsets: _Subsets,
    firms: Iterable[str],
    *,
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
) -> pd.DataFrame:
    part = subsets.of(firms)
    return attach_links(
        enterprises=part["enterprises"],  # type: ignore[arg-type]
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
        products=part["products"],
        enterprise_products=part["enterprise_products"],
        product_relations=part.get("product_relations"),
    ).links


class _Evaluator:
    """Re-attaches the firms a change can alter, with a changed vocabulary."""

    def __init__(
        self,
        *,
        tables: Mapping[str, pd.DataFrame],
        links: pd.DataFrame,
        targets: pd.DataFrame,
        chains: Mapping[str, Chain],
        vocabularies: Mapping[str, LinkVocabulary],
        generic: Sequence[str],
    ) -> None:
        self.tables = tables
        self.links = links
        self.targets = targets.set_index(C.ENTERPRISE_ID)
        self.chains = chains
        self.vocabularies = vocabularies
        self.generic = tuple(generic)
        firms = tables["enterprises"]
        items = firm_items(
            enterprises=firms,
            products=tables.get("products"),
            enterprise_products=tables.get("enterprise_products"),
            product_relations=tables.get("product_relations"),
        )
        self.ids = np.asarray(firms[C.ENTERPRISE_ID].tolist(), dtype=object)
        self.blobs = ["\n".join(items.get(eid, [])).lower() for eid in self.ids.tolist()]
        self.subsets = _Subsets(tables)
        self.agreement = _agreement(links, targets)

    def affected(self, word: str) -> list[str]:
        """Firms one of whose items contains ``word``."""
        low = word.lower()
        return [str(eid) for eid, blob in zip(self.ids, self.blobs, strict=True) if low in blob]

    def attach(self, firms: Sequence[str], changes: Sequence[VocabularyChange]) -> pd.DataFrame:
        """The attacher's links of ``firms`` with ``changes`` made to the vocabularies."""
        vocabularies, generic = apply_changes(self.vocabularies, self.generic, changes)
        return _attach_subset(
            self.subsets, firms, chains=self.chains, vocabularies=vocabularies, generic=generic
        )

    def evaluate(
        self, change: VocabularyChange, base: Sequence[VocabularyChange] = ()
    ) -> Suggestion:
        """What ``change`` (on top of ``base``) does to the firms it can alter."""
        words = [c.word for c in (*base, change)]
        firms = sorted({f for w in words for f in self.affected(w)})
        before = (
            self.attach(firms, base)
            if base
            else self.links[self.links[C.ENTERPRISE_ID].isin(set(firms))]
        )
        after = self.attach(firms, [*base, change])
        return self._judge(change, firms, before, after)

    def evaluate_many(self, changes: Sequence[VocabularyChange]) -> list[Suggestion]:
        """``evaluate`` of each change alone, with one attacher run per batch of changes no two
        of which can alter the same firm (a firm holding the words of neither is untouched by
        both), which gives each firm exactly its own change's effect."""
        affected = [self.affected(c.word) for c in changes]
        batches: list[tuple[list[int], set[str]]] = []
        for k, firms in enumerate(affected):
            mine = set(firms)
            for members, taken in batches:
                if not taken & mine:
                    members.append(k)
                    taken |= mine
                    break
            else:
                batches.append(([k], mine))
        out: dict[int, Suggestion] = {}
        for members, taken in batches:
            union = sorted(taken)
            before = self.links[self.links[C.ENTERPRISE_ID].isin(taken)]
            after = self.attach(union, [changes[k] for k in members])
            for k in members:
                mine = set(affected[k])
                out[k] = self._judge(
                    changes[k],
                    affected[k],
                    before[before[C.ENTERPRISE_ID].isin(mine)],
                    after[after[C.ENTERPRISE_ID].isin(mine)],
                )
        return [out[k] for k in range(len(changes))]

    def _judge(
        self,
        change: VocabularyChange,
        firms: Sequence[str],
        before: pd.DataFrame,
        after: pd.DataFrame,
    ) -> Suggestion:
        old, new = link_signatures(before), link_signatures(after)
        changed = tuple(sorted(f for f in firms if old.get(f, ()) != new.get(f, ())))
        judged = [f for f in changed if f in self.targets.index]
        targets = self.targets.loc[judged].reset_index()
        delta = (
            _agreement(after, targets) - _agreement(before, targets)
            if judged
            else pd.Series(dtype="float64")
        )
        shown_before, shown_after = _shown(before), _shown(after)
        return Suggestion(
            change=change,
            changed=changed,
            fixes=tuple(str(f) for f in delta.index[delta.to_numpy() > 1e-9]),
            breaks=tuple(str(f) for f in delta.index[delta.to_numpy() < -1e-9]),
            gain=round(float(delta.sum()), 4),
            before={f: shown_before.get(f, "") for f in changed},
            after={f: shown_after.get(f, "") for f in changed},
        )


def changed_firms(
    *,
    tables: Mapping[str, pd.DataFrame],
    changes: Sequence[VocabularyChange],
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
) -> dict[str, int]:
    """For each change alone (its English description): how many firms of the universe
    ``tables`` it would change (the firms an item of which holds its word, re-attached)."""
    firms = tables["enterprises"]
    items = firm_items(
        enterprises=firms,
        products=tables.get("products"),
        enterprise_products=tables.get("enterprise_products"),
        product_relations=tables.get("product_relations"),
    )
    blobs = {eid: "\n".join(found).lower() for eid, found in items.items()}
    subsets = _Subsets(tables)
    out = {}
    for change in changes:
        word = change.word.lower()
        hit = {eid for eid, blob in blobs.items() if word in blob}
        runs = []
        for made in ((), (change,)):
            vocab, words = apply_changes(vocabularies, generic, made)
            runs.append(
                link_signatures(
                    _attach_subset(subsets, hit, chains=chains, vocabularies=vocab, generic=words)
                )
            )
        out[change.describe(lang="en")] = sum(runs[0].get(e) != runs[1].get(e) for e in hit)
    return out


def candidate_changes(
    *,
    tables: Mapping[str, pd.DataFrame],
    links: pd.DataFrame,
    targets: pd.DataFrame,
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
) -> list[VocabularyChange]:
    """The candidate changes of the module docstring, from the corrected firms (``targets``:
    ``enterprise_id``, ``right``) whose attacher links differ from their targets."""
    matcher = LinkMatcher(vocabularies, generic)
    words_ = sorted({w for w in generic if w.strip()}, key=len, reverse=True)
    generic_re = re.compile("|".join(map(re.escape, words_))) if words_ else None
    attached = links.groupby(C.ENTERPRISE_ID)[C.LINK_ID].agg(frozenset)
    wrong = [
        (str(eid), right, attached.get(eid, frozenset()))
        for eid, right in zip(targets[C.ENTERPRISE_ID], targets["right"], strict=True)
        if right != attached.get(eid, frozenset())
    ]
    firms = tables["enterprises"]
    items = firm_items(
        enterprises=firms[firms[C.ENTERPRISE_ID].isin({w[0] for w in wrong})],
        products=tables.get("products"),
        enterprise_products=tables.get("enterprise_products"),
        product_relations=tables.get("product_relations"),
    )
    wrong_firms = firms[firms[C.ENTERPRISE_ID].isin({w[0] for w in wrong})]
    code_links = industry_prior(wrong_firms, chains).to_dict()
    term_support: dict[tuple[str, str], set[str]] = defaultdict(set)
    exclude_support: dict[tuple[str, str], set[str]] = defaultdict(set)
    generic_words: set[str] = set()
    for eid, right, found in wrong:
        mine = items.get(eid, [])
        matched = {
            item: set(matcher.match(item)) | set(matcher.match(item, scope=True)) for item in mine
        }
        for link in right - found:
            if link not in vocabularies:
                continue
            for item, names in matched.items():
                if link not in names:
                    for word in _substrings(item, matcher, generic_re):
                        term_support[(link, word)].add(eid)
        for link in found - right:
            for item, names in matched.items():
                if link in names:
                    for word in _substrings(item, matcher, generic_re):
                        exclude_support[(link, word)].add(eid)
        # a generic word changes no kept share: it can only lift a right link the thresholds
        # dropped (it dilutes less), or send a firm whose items name nothing to its industry
        # code — so only such firms propose one
        named = set().union(*matched.values()) if matched else set()
        if (right - found) & named or (not named and right & set(code_links.get(eid, ()))):
            for item, names in matched.items():
                if not names and not matcher.is_generic(item) and MIN_WORD <= len(item) <= MAX_WORD:
                    generic_words.add(item)
    out: list[VocabularyChange] = []
    for kind, support in (("term", term_support), ("exclude", exclude_support)):
        by_link: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
        for (link, word), firms_ in support.items():
            by_link[link][word] = frozenset(firms_)
        for link, words in sorted(by_link.items()):
            out += [
                VocabularyChange(kind=kind, word=w, link_id=link)  # type: ignore[arg-type]
                for w in _closed(words)
            ]
    out += [VocabularyChange(kind="generic", word=w) for w in sorted(generic_words)]
    return out


def suggest_changes(
    *,
    tables: Mapping[str, pd.DataFrame],
    links: pd.DataFrame,
    corrections: Sequence[LinkCorrection],
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
    parks: Mapping[str, Park] | None = None,
) -> list[Suggestion]:
    """Suggested vocabulary changes from ``corrections``, evaluated on the universe ``tables``
    (whose attacher links are ``links``): those with a fix and a positive gain, best first."""
    targets = _targets(links, corrections, parks, chains)
    evaluator = _Evaluator(
        tables=tables,
        links=links,
        targets=targets,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
    )
    candidates = candidate_changes(
        tables=tables,
        links=links,
        targets=targets,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
    )
    out = [s for s in evaluator.evaluate_many(candidates) if s.fixes and s.gain > 0]
    out.sort(key=lambda s: (-s.gain, len(s.breaks), len(s.changed), s.change))
    return out


def select_changes(
    suggestions: Sequence[Suggestion],
    *,
    tables: Mapping[str, pd.DataFrame],
    links: pd.DataFrame,
    corrections: Sequence[LinkCorrection],
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
    min_changed: int = 2,
    parks: Mapping[str, Park] | None = None,
) -> list[Suggestion]:
    """The measurement's acceptance rule (module docstring): suggestions that change at least
    ``min_changed`` corrected firms and break none, kept in order while, added to those kept
    before, they still break none and gain (each re-evaluated on top of the kept ones)."""
    targets = _targets(links, corrections, parks, chains)
    corrected = set(targets[C.ENTERPRISE_ID])
    evaluator = _Evaluator(
        tables=tables,
        links=links,
        targets=targets,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
    )
    kept: list[Suggestion] = []
    for s in suggestions:
        if sum(f in corrected for f in s.changed) < min_changed or s.breaks:
            continue
        again = evaluator.evaluate(s.change, [k.change for k in kept])
        if again.breaks or again.gain <= 0:
            continue
        if sum(f in corrected for f in again.changed) < min_changed:
            continue
        kept.append(again)
    return kept


def suggestion_table(
    suggestions: Sequence[Suggestion], *, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per suggestion, for a person: the change, its file, how many firms it changes,
    the corrections it would have got right and those it would undo (names)."""
    names = names or {}

    def named(ids: Iterable[str]) -> str:
        return "、".join(names.get(i, i) for i in ids)

    return pd.DataFrame(
        {
            "kind": [s.change.kind for s in suggestions],
            C.LINK_ID: [s.change.link_id or "" for s in suggestions],
            "word": [s.change.word for s in suggestions],
            "file": [s.change.file() for s in suggestions],
            "firms_changed": [len(s.changed) for s in suggestions],
            "fixes": [len(s.fixes) for s in suggestions],
            "breaks": [len(s.breaks) for s in suggestions],
            "gain": [s.gain for s in suggestions],
            "fixed_firms": [named(s.fixes) for s in suggestions],
            "broken_firms": [named(s.breaks) for s in suggestions],
            "changed_firms": [named(s.changed[:10]) for s in suggestions],
        }
    )


def vocabulary_patch(
    suggestions: Sequence[Suggestion], *, names: Mapping[str, str] | None = None
) -> str:
    """The suggestions as a YAML patch to read (file → link → field → words added), each word
    with the firms it fixes and the number of firms it changes in a comment."""
    names = names or {}
    lines = [
        "# Suggested vocabulary changes (industry_graph.vocabulary_learning); nothing is applied.",
        "# Accept one by adding the word to the file named, or with write_vocabulary_copy.",
    ]
    by_file: dict[str, list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        by_file[s.change.file()].append(s)
    for file in sorted(by_file):
        lines.append(f"{file}:")
        for s in sorted(by_file[file], key=lambda x: x.change):
            fixed = "、".join(names.get(f, f) for f in s.fixes)
            where = (
                "terms"
                if s.change.link_id is None
                else f"{s.change.link_id.split('.', 1)[1]}.{'terms' if s.change.kind == 'term' else 'exclude'}"
            )
            lines.append(
                f"  {where}: [+{_yaml_scalar(s.change.word)}]  "
                f"# fixes {len(s.fixes)} ({fixed}); changes {len(s.changed)} firms; "
                f"breaks {len(s.breaks)}"
            )
    return "\n".join(lines) + "\n"


def _yaml_scalar(word: str) -> str:
    return word if _YAML_PLAIN.match(word) else json.dumps(word, ensure_ascii=False)


def _insert_in_list(text: str, start: int, word: str, where: Path) -> str:
    """``text`` with ``word`` appended to the flow list whose ``[`` follows ``start``."""
    opening = text.index("[", start)
    closing = text.index("]", opening)
    inner = text[opening + 1 : closing]
    joined = f"{inner.rstrip()}, {_yaml_scalar(word)}" if inner.strip() else _yaml_scalar(word)
    if "[" in inner:
        raise ValueError(f"{where}: nested list at offset {opening}: edit it by hand")
    return text[: opening + 1] + joined + text[closing:]


def write_vocabulary_copy(
    *, changes: Sequence[VocabularyChange], target: Path, source: Path = VOCABULARY_DIR
) -> Path:
    """Copy the vocabulary folder ``source`` to ``target`` with ``changes`` written into the
    YAML files (comments and layout kept: a word is appended to its flow list, or a list is
    added to the link), and check the copy loads with every change in it. ``target`` may be the
    bundled folder only by a person's explicit choice: this function never picks it."""
    if target.resolve() != source.resolve():
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.glob("*.yaml")):
            shutil.copyfile(path, target / path.name)
    for change in changes:
        path = target / change.file()
        text = path.read_text(encoding="utf-8")
        if change.link_id is None:
            match = re.search(r"^terms:\s*\[", text, flags=re.MULTILINE)
            if match is None:
                raise ValueError(f"{path}: no 'terms: [' list")
            text = _insert_in_list(text, match.start(), change.word, path)
        else:
            key = change.link_id.split(".", 1)[1]
            block = re.search(rf"^{re.escape(key)}:\s*$", text, flags=re.MULTILINE)
            if block is None:
                raise ValueError(f"{path}: no entry for link {change.link_id}")
            end = re.search(r"^\S", text[block.end() :], flags=re.MULTILINE)
            stop = block.end() + (end.start() if end else len(text) - block.end())
            field = "terms" if change.kind == "term" else "exclude"
            line = re.search(rf"^  {field}:\s*\[", text[block.end() : stop], flags=re.MULTILINE)
            if line is not None:
                text = _insert_in_list(text, block.end() + line.start(), change.word, path)
            else:
                body = text[:stop].rstrip("\n")
                text = f"{body}\n  {field}: [{_yaml_scalar(change.word)}]\n" + text[stop:]
        path.write_text(text, encoding="utf-8")
    vocabularies = load_vocabularies(target)
    generic = load_generic_terms(target / "_generic.yaml")
    for change in changes:
        held = (
            generic
            if change.link_id is None
            else getattr(
                vocabularies[change.link_id], "terms" if change.kind == "term" else "exclude"
            )
        )
        if change.word not in held:
            raise ValueError(f"{target}: {change.describe(lang='en')} did not land in the copy")
    return target
