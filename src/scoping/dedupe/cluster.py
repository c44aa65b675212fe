"""From duplicate pairs to works, without letting chains join records that conflict.

Duplicate pairs are edges of a graph (networkx); each connected component is a candidate
work. Inside a component, edges are added strongest first (person's "same work" decisions,
then rule links by score) and an edge that would put two conflicting records into one work
is refused: two different DOIs or PMIDs, years far apart, different pages in one journal
volume, an erratum beside its article, or a pair a person kept apart. So A-B and B-C never
make A, B and C one work when A and C cannot be the same publication.

Works that exist already (from an earlier run) are never split, and two existing works are
only joined by a person's decision: a re-run adds new records to works, it does not rework
what was decided before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

__all__ = ["Link", "Refusal", "form_works"]


@dataclass(slots=True, frozen=True)
class Link:
    """A proposed edge: two record indexes, how strong, and whether a person made it."""

    i: int
    j: int
    score: float
    manual: bool = False


@dataclass(slots=True, frozen=True)
class Refusal:
    """A link that was not made, and why (the pair then deserves a person's look)."""

    i: int
    j: int
    reason: str


class _Sets:
    """Union-find over record indexes with each set's members and existing work."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}
        self.existing: dict[int, int | None] = {}

    def add(self, i: int, existing: int | None) -> None:
        if i not in self.parent:
            self.parent[i] = i
            self.members[i] = [i]
            self.existing[i] = existing

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> int:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))
        ea, eb = self.existing[a], self.existing.pop(b)
        self.existing[a] = eb if ea is None else ea if eb is None else min(ea, eb)
        return a


MAX_CHECKS = 20_000
"""Cross-pairs checked when two groups would join; larger joins are refused (too unsure)."""


def form_works(
    n: int,
    links: Iterable[Link],
    *,
    conflict: Callable[[int, int], str | None],
    existing: Mapping[int, int] | None = None,
) -> tuple[dict[int, int], list[Refusal]]:
    """Group record indexes ``0..n-1`` into works.

    ``links`` are the duplicate pairs; ``conflict(i, j)`` names why two records cannot be one
    work (or returns ``None``). ``existing`` maps record indexes that already belong to a work
    to that work's id; records of one existing work stay together and two existing works are
    only joined by a manual link.

    Returns ``root`` index per record index that was linked to anything (records missing
    from the mapping are works of their own, or keep their existing work) and the refused
    links.
    """
    existing = existing or {}
    graph: nx.Graph = nx.Graph()
    weights: dict[tuple[int, int], Link] = {}
    for link in links:
        key = (link.i, link.j) if link.i < link.j else (link.j, link.i)
        old = weights.get(key)
        if old is None or (link.manual, link.score) > (old.manual, old.score):
            weights[key] = link
        graph.add_edge(*key)
    # records of one existing work are one node set from the start
    by_work: dict[int, list[int]] = {}
    for i, work in existing.items():
        by_work.setdefault(work, []).append(i)
    sets = _Sets()
    refusals: list[Refusal] = []
    components = list(nx.connected_components(graph))
    # each component's edges, gathered in one pass (a subgraph view per component costs more
    # than the component's work when a large run has hundreds of thousands of small ones)
    component_of = {i: n for n, component in enumerate(components) for i in component}
    edges_of: list[list[Link]] = [[] for _ in components]
    for (a, _), link in weights.items():
        edges_of[component_of[a]].append(link)
    for component, links_here in zip(components, edges_of, strict=True):
        for i in component:
            found = existing.get(i)
            if found is None:
                sets.add(i, None)
            elif i not in sets.parent:
                work = found
                group = by_work[work]
                for x in group:
                    sets.add(x, work)
                root = group[0]
                for x in group[1:]:
                    root = sets.union(sets.find(root), sets.find(x))
        edges = sorted(
            links_here,
            key=lambda link: (not link.manual, -link.score, min(link.i, link.j), max(link.i, link.j)),
        )
        for link in edges:
            ra, rb = sets.find(link.i), sets.find(link.j)
            if ra == rb:
                continue
            if not link.manual and sets.existing[ra] is not None and sets.existing[rb] is not None:
                refusals.append(Refusal(link.i, link.j, "would join two existing works"))
                continue
            reason = None if link.manual else _cross_conflict(sets.members[ra], sets.members[rb], conflict)
            if reason is not None:
                refusals.append(Refusal(link.i, link.j, reason))
                continue
            sets.union(ra, rb)
    roots = {i: sets.find(i) for i in sets.parent}
    return roots, refusals


def _cross_conflict(xs: list[int], ys: list[int], conflict: Callable[[int, int], str | None]) -> str | None:
    if len(xs) * len(ys) > MAX_CHECKS:
        return "the joined work would be too large to check"
    for x in xs:
        for y in ys:
            reason = conflict(x, y)
            if reason is not None:
                return f"chain conflict: {reason}"
    return None
