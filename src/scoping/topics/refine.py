"""The lead's refinements of fitted topics, and how they survive a refit.

A fit gives *raw* topics. Each raw topic carries a stable number (shown as ``T3``): a refit
maps its new raw topics onto the numbers known before (:func:`carry_ids`, a Hungarian
assignment on the similarity of their term weights), so a topic the lead named keeps its
number, and therefore its name, when it comes back in a new fit.

The lead's edits are stored in order and *replayed* on every fit (:func:`apply_edits`):

``rename``  give topic T a name
``merge``   topics T, U, ... become T (its works are the union; U... disappear)
``split``   topic T becomes two or more new topics (a small topic model of T's works);
            on replay T's works are split again and the parts matched to the recorded ones
``move``    a work is put into (``in``) or taken out of (``out``) topic T

An edit that no longer applies (its topic has no counterpart in the new fit, the work is not
among the works any more) is skipped and said so in :attr:`TopicState.skipped`; it stays
stored, and applies again if its topic comes back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoping.errors import UsageError
from scoping.topics.profiles import match_topics, profile_similarity

__all__ = [
    "EDIT_ACTIONS",
    "Edit",
    "RawTopic",
    "SplitPart",
    "Splitter",
    "TopicState",
    "TopicView",
    "apply_edits",
    "base_state",
    "carry_ids",
    "distinct_terms",
    "merge_profiles",
    "topic_ref",
]

EDIT_ACTIONS = ("rename", "merge", "split", "move")

PROFILE_TERMS = 50
"""How many heaviest terms of a topic are kept as its profile."""


def _stem(word: str) -> str:
    """A word without a plural ``s`` ("workers" and "worker" are one word here)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _near_duplicate(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two phrases (stemmed words) that say the same: the same words in any order, or one
    running on from the other ("symptoms functional" after "functional impairment")."""
    return set(a) == set(b) or a[-1] == b[0] or b[-1] == a[0]


def distinct_terms(terms: Iterable[tuple[str, float]], n: int = 10) -> list[str]:
    """The first ``n`` terms (heaviest first, as given) that add something: a word that sits
    inside a chosen phrase is left out ("functional impairment" chosen: no "functional", no
    "impairment"; a phrase chosen after its word replaces it), and so is a phrase that is a
    near duplicate of a chosen one (:func:`_near_duplicate`). Plural and singular are one word.
    """
    chosen: list[tuple[str, list[str]]] = []
    for term, _ in terms:
        if len(chosen) >= n:
            break
        words = [_stem(w) for w in term.split()]
        if not words or any(words == c for _, c in chosen):
            continue
        phrases = [c for _, c in chosen if len(c) > 1]
        if len(words) == 1:
            if any(words[0] in p for p in phrases):
                continue
            chosen.append((term, words))
            continue
        if any(_near_duplicate(words, p) for p in phrases):
            continue
        chosen = [(t, c) for t, c in chosen if len(c) > 1 or c[0] not in words]
        chosen.append((term, words))
    return [t for t, _ in chosen]


@dataclass(frozen=True, slots=True)
class RawTopic:
    """A topic as a fit produced it."""

    id: int
    auto_label: str
    terms: Mapping[str, float]
    """The topic's profile: its heaviest terms and their weights."""
    shares: Mapping[str, float]
    """Work key -> the topic's share of the work (every stored share, also below threshold)."""
    scores: Mapping[str, float] = field(default_factory=dict)
    """Work key -> representativeness (share x similarity of the work to the topic)."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One stored refinement by the lead."""

    id: int
    action: str
    payload: Mapping[str, Any]
    made_by: str = ""
    made_at: str = ""

    def describe(self) -> str:
        p = self.payload
        if self.action == "rename":
            return f"rename T{p['topic']} to {p['name']!r}"
        if self.action == "merge":
            return "merge " + " + ".join(f"T{t}" for t in p["topics"]) + f" into T{p['topics'][0]}"
        if self.action == "split":
            return f"split T{p['topic']} into " + ", ".join(f"T{t}" for t in p["into"])
        if self.action == "move":
            direction = "into" if p["direction"] == "in" else "out of"
            return f"move {p['work']} {direction} T{p['topic']}"
        return f"{self.action} {dict(p)}"


@dataclass(frozen=True, slots=True)
class SplitPart:
    """One part of a split topic: its profile and its works' shares and scores."""

    terms: Mapping[str, float]
    shares: Mapping[str, float]
    scores: Mapping[str, float]
    auto_label: str


Splitter = Callable[[Mapping[str, float], int, int], list[SplitPart]]
"""``splitter(members, parts, seed)``: split the works ``members`` (key -> share) into parts."""


@dataclass(slots=True)
class TopicView:
    """A topic after the lead's edits."""

    id: int
    auto_label: str
    terms: dict[str, float]
    members: dict[str, float]
    """Work key -> the topic's share of the work, for the works that belong to the topic."""
    scores: dict[str, float]
    name: str | None = None
    """The lead's name, if the topic was renamed."""
    origin: str = "fit"
    moved_in: set[str] = field(default_factory=set)
    moved_out: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return self.name or self.auto_label

    @property
    def ref(self) -> str:
        return f"T{self.id}"

    def top_terms(self, n: int = 10) -> list[str]:
        """The ``n`` heaviest terms that say something new (:func:`distinct_terms`)."""
        return distinct_terms(sorted(self.terms.items(), key=lambda kv: (-kv[1], kv[0])), n)

    def ranked(self) -> list[str]:
        """The topic's works, the largest share first (the topic's weight in the work), ties by
        how representative they are; works moved in by hand have the smallest share a member
        can have, so they come after the fitted ones."""
        return sorted(self.members, key=lambda w: (-self.members[w], -self.scores.get(w, 0.0), w))


@dataclass(slots=True)
class TopicState:
    """All topics of one fit after the lead's edits."""

    topics: dict[int, TopicView]
    works: list[str]
    """Every work of the fit, in fit order."""
    threshold: float
    skipped: list[str] = field(default_factory=list)
    """Edits that could not be applied (wholly or in part), and why."""
    skipped_ids: set[int] = field(default_factory=set)
    """The edits that could not be applied at all."""

    def topic(self, ref: str | int) -> TopicView:
        return self.topics[self.resolve(ref)]

    def resolve(self, ref: str | int) -> int:
        """A topic number from ``"T3"``, ``"3"``, ``3`` or a topic's current name."""
        number = topic_ref(ref)
        if number is not None:
            if number in self.topics:
                return number
            raise UsageError(f"there is no topic T{number} now; see 'scoping topics show'")
        wanted = str(ref).strip().casefold()
        found = [t.id for t in self.topics.values() if t.label.casefold() == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            raise UsageError(f"several topics are called {ref!r}; use their numbers (T..)")
        raise UsageError(f"no topic is called {ref!r}; use a number like T3 (see 'scoping topics show')")

    def main_topics(self) -> dict[str, int]:
        """Work key -> the topic with the largest share among those the work belongs to."""
        best: dict[str, tuple[float, int]] = {}
        for topic in self.topics.values():
            for work, share in topic.members.items():
                current = best.get(work)
                if current is None or (share, -topic.id) > (current[0], -current[1]):
                    best[work] = (share, topic.id)
        return {work: tid for work, (_, tid) in best.items()}

    def memberships(self) -> dict[str, list[int]]:
        """Work key -> the topics it belongs to (by topic number)."""
        out: dict[str, list[int]] = {w: [] for w in self.works}
        for topic in self.topics.values():
            for work in topic.members:
                out.setdefault(work, []).append(topic.id)
        return out


def topic_ref(ref: str | int) -> int | None:
    """``"T3"``, ``"t3"``, ``"3"`` or ``3`` -> 3; anything else -> ``None``."""
    if isinstance(ref, int):
        return ref
    text = str(ref).strip()
    if text[:1] in ("T", "t") and text[1:].isdigit():
        return int(text[1:])
    if text.isdigit():
        return int(text)
    return None


def _top(terms: Mapping[str, float], n: int = PROFILE_TERMS) -> dict[str, float]:
    return dict(sorted(terms.items(), key=lambda kv: -kv[1])[:n])


def merge_profiles(profiles: Sequence[tuple[Mapping[str, float], float]]) -> dict[str, float]:
    """The profile of merged topics: their profiles weighted by size, unit length, top terms."""
    total: dict[str, float] = {}
    for terms, weight in profiles:
        for term, value in terms.items():
            total[term] = total.get(term, 0.0) + value * max(weight, 1.0)
    norm = math.sqrt(sum(v * v for v in total.values()))
    if norm > 0:
        total = {t: v / norm for t, v in total.items()}
    return _top(total)


def carry_ids(
    known: Mapping[int, Mapping[str, float]],
    new: Sequence[Mapping[str, float]],
    *,
    next_id: int,
    min_similarity: float = 0.2,
) -> tuple[list[int], dict[int, float]]:
    """Stable numbers for the raw topics of a new fit.

    ``known`` holds, for every topic number seen before, its latest profile. Each new topic
    takes the number of the known topic it is matched with (one-to-one, Hungarian, cosine
    similarity at least ``min_similarity``) or a fresh number from ``next_id`` on. Returns
    the numbers and, for carried numbers, the similarity of the match.
    """
    ids = list(known)
    matched = match_topics([known[i] for i in ids], new, min_similarity=min_similarity)
    out: list[int] = []
    similarity: dict[int, float] = {}
    fresh = next_id
    for position, index in enumerate(matched):
        if index is None:
            out.append(fresh)
            fresh += 1
        else:
            tid = ids[index]
            out.append(tid)
            similarity[tid] = profile_similarity(known[tid], new[position])
    return out, similarity


def base_state(raw: Iterable[RawTopic], works: Sequence[str], threshold: float) -> TopicState:
    """The topics of a fit before any edit: a work belongs where its share >= ``threshold``.

    A work always belongs to the topic with its largest share, so no work with text is left
    without a topic.
    """
    raw = list(raw)
    best: dict[str, tuple[float, int]] = {}
    for topic in raw:
        for work, share in topic.shares.items():
            if share > 0 and (work not in best or share > best[work][0]):
                best[work] = (share, topic.id)
    topics: dict[int, TopicView] = {}
    for topic in raw:
        members = {
            w: s for w, s in topic.shares.items() if s > 0 and (s >= threshold or best[w][1] == topic.id)
        }
        topics[topic.id] = TopicView(
            id=topic.id,
            auto_label=topic.auto_label,
            terms=dict(topic.terms),
            members=members,
            scores={w: topic.scores.get(w, 0.0) for w in members},
        )
    return TopicState(topics=topics, works=list(works), threshold=threshold)


def apply_edits(state: TopicState, edits: Iterable[Edit], splitter: Splitter | None = None) -> TopicState:
    """Replay the lead's edits, in order, on ``state`` (changed in place and returned)."""
    known_works = set(state.works)
    for edit in edits:
        try:
            _apply(state, edit, known_works, splitter)
        except _Skip as skip:
            state.skipped.append(f"edit {edit.id} ({edit.describe()}): {skip}")
            state.skipped_ids.add(edit.id)
    return state


class _Skip(Exception):
    pass


def _need(state: TopicState, tid: int) -> TopicView:
    topic = state.topics.get(tid)
    if topic is None:
        raise _Skip(f"T{tid} has no counterpart in this fit")
    return topic


def _apply(state: TopicState, edit: Edit, known_works: set[str], splitter: Splitter | None) -> None:
    p = edit.payload
    if edit.action == "rename":
        _need(state, int(p["topic"])).name = str(p["name"])
    elif edit.action == "merge":
        _merge(state, edit)
    elif edit.action == "split":
        _split(state, edit, splitter)
    elif edit.action == "move":
        _move(state, edit, known_works)
    else:
        raise _Skip(f"unknown action {edit.action!r}")


def _merge(state: TopicState, edit: Edit) -> None:
    """A merge replayed: the topics still present become the first one (or the next present)."""
    p = edit.payload
    ids = [int(t) for t in p["topics"]]
    present = [state.topics[t] for t in ids if t in state.topics]
    if not present:
        raise _Skip("none of its topics has a counterpart in this fit")
    target = state.topics.get(ids[0]) or present[0]
    others = [t for t in present if t.id != target.id]
    for other in others:
        for work, share in other.members.items():
            target.members[work] = min(1.0, target.members.get(work, 0.0) + share)
            target.scores[work] = max(target.scores.get(work, 0.0), other.scores.get(work, 0.0))
        target.moved_in |= other.moved_in
        target.moved_out |= other.moved_out
        del state.topics[other.id]
    target.terms = merge_profiles([(t.terms, len(t.members)) for t in [target, *others]])
    if target.id != ids[0]:
        # the first topic is missing: the merged topic lives on under the next one
        target.origin = f"merge (T{ids[0]} missing)"
    else:
        target.origin = "merge of " + ", ".join(f"T{t.id}" for t in [target, *others])
    if p.get("name"):
        target.name = str(p["name"])
    missing = [t for t in ids if t not in {x.id for x in present}]
    if missing:
        state.skipped.append(
            f"edit {edit.id} ({edit.describe()}): "
            + ", ".join(f"T{t}" for t in missing)
            + " had no counterpart; merged the others"
        )


def _split(state: TopicState, edit: Edit, splitter: Splitter | None) -> None:
    """A split replayed: the parent's works split again, each part matched to a recorded id."""
    p = edit.payload
    parent = _need(state, int(p["topic"]))
    into = [int(t) for t in p["into"]]
    if splitter is None:
        raise _Skip("splits need the works' texts (not available here)")
    if len(parent.members) < len(into):
        raise _Skip(f"T{parent.id} has only {len(parent.members)} works now")
    parts = splitter(parent.members, len(into), int(p.get("seed", 0)))
    recorded = [dict(p["profiles"][str(t)]) for t in into]
    order = match_topics(recorded, [part.terms for part in parts], min_similarity=-1.0)
    unused = [into[i] for i in range(len(into)) if i not in order]
    del state.topics[parent.id]
    for part, index in zip(parts, order, strict=True):
        tid = into[index] if index is not None else unused.pop(0)
        state.topics[tid] = TopicView(
            id=tid,
            auto_label=part.auto_label,
            terms=dict(part.terms),
            members=dict(part.shares),
            scores=dict(part.scores),
            origin=f"split of T{parent.id}",
        )


def _move(state: TopicState, edit: Edit, known_works: set[str]) -> None:
    """A work moved into or out of a topic by hand."""
    p = edit.payload
    work = str(p["work"])
    if work not in known_works:
        raise _Skip("the work is not among this fit's works")
    topic = _need(state, int(p["topic"]))
    if p["direction"] == "in":
        topic.members[work] = max(topic.members.get(work, 0.0), state.threshold)
        topic.scores.setdefault(work, 0.0)
        topic.moved_in.add(work)
        topic.moved_out.discard(work)
    else:
        topic.members.pop(work, None)
        topic.scores.pop(work, None)
        topic.moved_out.add(work)
        topic.moved_in.discard(work)
