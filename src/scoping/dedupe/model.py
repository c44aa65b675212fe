"""The calibrated pair model: how likely two compared records are one publication.

Every candidate pair that no veto separates (:mod:`scoping.dedupe.compare`) is described by
:func:`features`: one indicator per *comparison level* of each field (the titles are
identical, similar at 0.9, differ...; the same first author; the same DOI, different DOIs;
...), as in Fellegi-Sunter record linkage. A logistic regression over those levels gives the
log-odds that the pair is one publication; each level's weight is the evidence it carries,
learned from labelled pairs, so that :meth:`PairModel.explain` can say which fields made a
link (the contributions add up to the log-odds).

The weights are *not* fitted at run time: ``bench/dedupe_train.py`` fits them on the
labelled benchmark sets and writes ``scoping/data/dedupe/model.json``, which ships with the
package. The same script, leave-one-set-out, chooses the two thresholds that make the three
bands (link, review, distinct) and measures each band's error rate; those figures are stored
in the file beside the weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from scoping.dedupe.compare import Comparison
from scoping.dedupe.keys import Keys

__all__ = ["FEATURES", "FIELD_OF", "PairModel", "default_model", "features"]

FEATURES: tuple[str, ...] = (
    # title
    "title_exact",
    "title_097",
    "title_090",
    "title_080",
    "title_060",
    "title_low",
    "title_prefix",
    "title_missing",
    "title_short",
    "title_generic",
    "title_exact_long",
    # authors
    "authors_all",
    "authors_most",
    "authors_some",
    "authors_none",
    "authors_missing",
    "first_author_same",
    "first_author_differs",
    "authors_count_same",
    # year
    "year_same",
    "year_one",
    "year_missing",
    # journal and place in it
    "journal_same",
    "journal_close",
    "journal_differs",
    "journal_missing",
    "volume_same",
    "volume_differs",
    "issue_same",
    "issue_differs",
    "page_same",
    "page_differs",
    "page_range_same",
    "place_same",
    # identifiers
    "doi_same",
    "doi_differs",
    "doi_differs_weak",
    "doi_one_only",
    "pmid_same",
    # abstract
    "abstract_same",
    "abstract_close",
    "abstract_differs",
    "shifted",
    # combinations an additive score cannot express
    "title_weak_no_id",
    "title_weak_place_differs",
    "venue_differs",
    "all_agree",
    "id_and_title",
)

FIELD_OF: dict[str, str] = {
    name: (
        "title"
        if name.startswith("title")
        else "authors"
        if name.startswith(("authors", "first_author"))
        else "year"
        if name.startswith("year")
        else "journal"
        if name.startswith("journal")
        else "volume"
        if name.startswith("volume")
        else "issue"
        if name.startswith("issue")
        else "pages"
        if name.startswith(("page", "place"))
        else "DOI"
        if name.startswith("doi")
        else "PMID"
        if name.startswith("pmid")
        else "abstract"
        if name.startswith("abstract")
        else "citation"
        if name == "shifted"
        else "combined"
    )
    for name in FEATURES
}
"""Which field each feature belongs to (contributions are shown per field)."""


def features(a: Keys, b: Keys, c: Comparison) -> list[float]:
    """The comparison levels of a compared pair, in the order of :data:`FEATURES` (0 or 1)."""
    f = dict.fromkeys(FEATURES, 0.0)
    _title_levels(f, a, b, c)
    _author_levels(f, a, b, c)
    _venue_levels(f, c)
    _id_levels(f, a, b, c)
    _combined_levels(f, c)
    return [f[name] for name in FEATURES]


def _title_levels(f: dict[str, float], a: Keys, b: Keys, c: Comparison) -> None:
    title = c.title
    short_words = min(a.title_words, b.title_words)
    if title is None:
        f["title_missing"] = 1
    elif c.title_exact:
        f["title_exact"] = 1
    elif title >= 0.97:
        f["title_097"] = 1
    elif title >= 0.9:
        f["title_090"] = 1
    elif title >= 0.8:
        f["title_080"] = 1
    elif title >= 0.6:
        f["title_060"] = 1
    else:
        f["title_low"] = 1
    if c.title_prefix:
        f["title_prefix"] = 1
    if title is not None and short_words <= 3:
        f["title_short"] = 1
    if a.generic or b.generic:
        f["title_generic"] = 1
    if c.title_exact and short_words >= 8:
        f["title_exact_long"] = 1


def _author_levels(f: dict[str, float], a: Keys, b: Keys, c: Comparison) -> None:
    if c.authors is None:
        f["authors_missing"] = 1
        return
    if c.authors >= 0.99:
        f["authors_all"] = 1
    elif c.authors >= 0.75:
        f["authors_most"] = 1
    elif c.authors >= 0.3:
        f["authors_some"] = 1
    else:
        f["authors_none"] = 1
    if c.first_author:
        f["first_author_same"] = 1
    else:
        f["first_author_differs"] = 1
    if len(a.authors) == len(b.authors):
        f["authors_count_same"] = 1


def _venue_levels(f: dict[str, float], c: Comparison) -> None:
    """Year, journal, volume, issue and pages."""
    if c.year is None:
        f["year_missing"] = 1
    elif c.year == 0:
        f["year_same"] = 1
    elif c.year == 1:
        f["year_one"] = 1
    if c.journal is None:
        f["journal_missing"] = 1
    elif c.journal >= 0.9:
        f["journal_same"] = 1
    elif c.journal >= 0.6:
        f["journal_close"] = 1
    else:
        f["journal_differs"] = 1
    for value, same, differs in (
        (c.volume, "volume_same", "volume_differs"),
        (c.issue, "issue_same", "issue_differs"),
        (c.pages, "page_same", "page_differs"),
    ):
        if value is True:
            f[same] = 1
        elif value is False:
            f[differs] = 1
    if c.page_range:
        f["page_range_same"] = 1
    if c.volume is True and c.pages is True and (c.journal is None or c.journal >= 0.9):
        f["place_same"] = 1


def _id_levels(f: dict[str, float], a: Keys, b: Keys, c: Comparison) -> None:
    """DOI, PMID and abstract."""
    if c.doi is True:
        f["doi_same"] = 1
    elif c.doi is False:
        f["doi_differs_weak" if c.doi_weak else "doi_differs"] = 1
    elif bool(a.doi) != bool(b.doi):
        f["doi_one_only"] = 1
    if c.pmid is True:
        f["pmid_same"] = 1
    if c.abstract is not None:
        if c.abstract >= 0.95:
            f["abstract_same"] = 1
        elif c.abstract >= 0.8:
            f["abstract_close"] = 1
        else:
            f["abstract_differs"] = 1


def _combined_levels(f: dict[str, float], c: Comparison) -> None:
    """Levels that combine fields (read after the per-field levels are set)."""
    title = c.title
    if c.shifted:
        f["shifted"] = 1
    same_id = c.doi is True or c.pmid is True
    if title is not None and title < 0.8 and not c.title_prefix and not same_id:
        f["title_weak_no_id"] = 1
        # nothing names the pair one publication, and its place disagrees as well
        if c.volume is False or c.issue is False or c.pages is False:
            f["title_weak_place_differs"] = 1
    if c.journal is not None and c.journal < 0.9 and c.volume is False:
        f["venue_differs"] = 1
    differs = (
        f["first_author_differs"]
        or c.volume is False
        or c.issue is False
        or c.pages is False
        or (c.journal is not None and c.journal < 0.9)
        or (c.year is not None and c.year > 0)
    )
    if title is not None and title >= 0.9 and (c.authors is None or c.authors >= 0.75) and not differs:
        f["all_agree"] = 1
    if same_id and title is not None and (title >= 0.9 or c.title_prefix):
        f["id_and_title"] = 1


@dataclass(slots=True)
class PairModel:
    """Logistic weights per comparison level, the band thresholds and their measured errors."""

    intercept: float
    weights: dict[str, float]
    link: float
    """Probability at or above which a pair is linked."""
    review: float
    """Probability at or above which (and below ``link``) a pair goes to a person."""
    bands: dict[str, Any] = field(default_factory=dict)
    """Error rates of each band, measured leave-one-set-out (see the module docstring)."""
    meta: dict[str, Any] = field(default_factory=dict)

    def logit(self, x: Sequence[float]) -> float:
        w = self.weights
        return self.intercept + sum(w.get(name, 0.0) * v for name, v in zip(FEATURES, x, strict=True) if v)

    def probability(self, x: Sequence[float]) -> float:
        z = self.logit(x)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def explain(self, x: Sequence[float]) -> dict[str, float]:
        """Each field's contribution to the log-odds (the intercept as ``prior``), largest first."""
        out: dict[str, float] = {"prior": round(self.intercept, 2)}
        for name, v in zip(FEATURES, x, strict=True):
            weight = self.weights.get(name, 0.0)
            if v and weight:
                key = FIELD_OF[name]
                out[key] = out.get(key, 0.0) + weight * v
        return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -abs(kv[1]))}

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "intercept": self.intercept,
            "weights": self.weights,
            "link": self.link,
            "review": self.review,
            "bands": self.bands,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PairModel:
        unknown = set(data["weights"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"the model names features this version does not compute: {sorted(unknown)}")
        return cls(
            intercept=float(data["intercept"]),
            weights={k: float(v) for k, v in data["weights"].items()},
            link=float(data["link"]),
            review=float(data["review"]),
            bands=dict(data.get("bands", {})),
            meta=dict(data.get("meta", {})),
        )


@lru_cache(maxsize=1)
def default_model() -> PairModel:
    """The model shipped with the package (``scoping/data/dedupe/model.json``)."""
    text = resources.files("scoping").joinpath("data", "dedupe", "model.json").read_text(encoding="utf-8")
    return PairModel.from_json(json.loads(text))
