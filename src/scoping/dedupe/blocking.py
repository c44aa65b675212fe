"""Blocking: the candidate pairs worth comparing, found without comparing every pair.

Each record gets several blocking keys; records that share a key form a block and every pair
inside a block is a candidate. The keys are chosen so that the formatting differences between
databases rarely break all of them at once:

====  ==================================================================================
key   made of
====  ==================================================================================
d     the DOI
p     the PMID
t     the first 24 letters/digits of the title (and of a bracketed second title)
s     the last 24 letters/digits of the title (catches a changed start, quotes, "Re:")
w     the three longest words of the title, sorted (catches typos at both ends)
v     year, volume and first page
a     first author's family name, volume and first page (the year may differ by one)
f     first author's family name, year and first page (proceedings have no volume)
j     the journal's initials, volume and first page (abbreviated and full journal names
      share their initials: "am j physiol" and "american journal physiology")
y     first author's family name, year and the journal's initials (another page or title)
====  ==================================================================================

Titles and names are folded first (:func:`scoping.dedupe.keys.fold`: mojibake repaired,
accents dropped, Cyrillic and Greek transliterated), so "OliÃ©", "Olié" and "Olie" share
their keys, and a bracketed original-language or translated title gets keys of its own.
A DOI is a key whether or not the record has a title.

A block larger than ``max_block`` (a DOI shared by a whole book, a title such as "Editorial")
would cost a quadratic number of comparisons; its records are sorted by title instead and
each is paired with its ``window`` nearest neighbours, so the cost stays linear. Such blocks
are reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scoping.dedupe.keys import Keys

__all__ = ["BlockingReport", "block_keys", "candidate_pairs"]

MAX_BLOCK = 60
WINDOW = 12
KINDS = {
    "d": "DOI",
    "p": "PMID",
    "t": "title start",
    "s": "title end",
    "w": "title words",
    "v": "year/volume/page",
    "a": "author/volume/page",
    "f": "author/year/page",
    "j": "journal/volume/page",
    "y": "author/year/journal",
}


@dataclass(slots=True)
class BlockingReport:
    """What blocking did: pairs found, and the blocks too large to pair in full."""

    n_keys: int = 0
    n_pairs: int = 0
    large_blocks: list[tuple[str, str, int]] = field(default_factory=list)
    """``(kind, key, size)`` of each block that was paired by sorted neighbourhood."""


def block_keys(k: Keys) -> list[str]:
    """The blocking keys of one record (see the module docstring)."""
    out: list[str] = []
    if k.doi:
        out.append("d" + k.doi)
    if k.pmid:
        out.append("p" + k.pmid)
    for title in (k.title, k.alt_title):
        if not title:
            continue
        compact = title.replace(" ", "")
        if len(compact) >= 12:
            out.append("t" + compact[:24])
        if len(compact) >= 30:
            out.append("s" + compact[-24:])
        if title is k.title:
            words = sorted({w for w in title.split() if len(w) >= 5}, key=lambda w: (-len(w), w))
            if len(words) >= 3:
                out.append("w" + " ".join(sorted(words[:3])))
    if k.first_page and k.volume:
        if k.year is not None:
            out.append(f"v{k.year}|{k.volume}|{k.first_page}")
        if k.authors:
            out.append(f"a{k.authors[0].family}|{k.volume}|{k.first_page}")
    if k.first_page and k.authors and k.year is not None:
        out.append(f"f{k.authors[0].family}|{k.year}|{k.first_page}")
    initials = "".join(w[0] for w in k.journal)
    if initials and k.volume and k.first_page:
        out.append(f"j{initials}|{k.volume}|{k.first_page}")
    if initials and k.authors and k.year is not None:
        out.append(f"y{k.authors[0].family}|{k.year}|{initials}")
    return out


def candidate_pairs(
    keys: Sequence[Keys],
    *,
    new: np.ndarray | None = None,
    max_block: int = MAX_BLOCK,
    window: int = WINDOW,
) -> tuple[np.ndarray, BlockingReport]:
    """All candidate pairs ``(i, j)`` with ``i < j`` (indexes into ``keys``), sorted, unique.

    With ``new`` (a boolean mask), only pairs with at least one new record are returned: the
    pairs of earlier records were compared before.
    """
    report = BlockingReport()
    n = len(keys)
    hashes: list[int] = []
    members: list[int] = []
    for k in keys:
        for key in block_keys(k):
            hashes.append(hash(key))
            members.append(k.index)
    report.n_keys = len(hashes)
    if not hashes or n < 2:
        return np.empty((0, 2), dtype=np.int64), report
    h = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
    m = np.fromiter(members, dtype=np.int64, count=len(members))
    del hashes, members
    order = np.argsort(h, kind="stable")
    h, m = h[order], m[order]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    sizes = np.diff(np.r_[starts, len(h)])
    chunks: list[np.ndarray] = []
    pending: list[tuple[int, int]] = []

    def flush() -> None:
        if pending:
            chunks.append(np.asarray(pending, dtype=np.int64))
            pending.clear()

    # blocks of two: vectorised
    two = starts[sizes == 2]
    if len(two):
        a, b = m[two], m[two + 1]
        chunks.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
        block = sorted(set(m[start : start + size].tolist()))
        if len(block) <= max_block:
            pending.extend(itertools.combinations(block, 2))
        else:
            block.sort(key=lambda i: (keys[i].title, i))
            for pos, i in enumerate(block):
                for j in block[pos + 1 : pos + 1 + window]:
                    pending.append((i, j) if i < j else (j, i))
            report.large_blocks.append(_describe(keys[block[0]], int(h[start]), len(block)))
        if len(pending) > 1_000_000:
            flush()
    flush()
    if not chunks:
        return np.empty((0, 2), dtype=np.int64), report
    pairs = np.concatenate(chunks)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    code = np.unique(pairs[:, 0] * n + pairs[:, 1])
    pairs = np.stack([code // n, code % n], axis=1)
    if new is not None:
        pairs = pairs[new[pairs[:, 0]] | new[pairs[:, 1]]]
    report.n_pairs = len(pairs)
    return pairs, report


def _describe(k: Keys, key_hash: int, size: int) -> tuple[str, str, int]:
    for key in block_keys(k):
        if hash(key) == key_hash:
            return KINDS.get(key[0], key[0]), key[1:], size
    return "?", "", size  # pragma: no cover - the key came from this record
