"""The topics stage: a topic model of the included works, the lead's refinements, the evidence map.

- :mod:`scoping.topics.model`: :class:`TopicModel` (TF-IDF, NMF, re-centred topics, overlapping
  membership, K chosen by stability and coherence), :func:`match_topics`
- :mod:`scoping.topics.refine`: stable topic numbers across refits and the lead's edits
  (rename, merge, split, move) replayed on every fit
- :mod:`scoping.topics.evidence`: topic x year / type / charted-field tables, the topic
  co-occurrence network, ranked works, and their pictures
- :mod:`scoping.topics.charting`: charting fields from the protocol and value checks
- :mod:`scoping.topics.api`: all of it over a review's store (what the CLI calls)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Assignment", "TopicModel", "WorkText", "match_topics", "work_text"]

if TYPE_CHECKING:
    from scoping.topics.model import Assignment, TopicModel
    from scoping.topics.profiles import WorkText, match_topics, work_text


def __getattr__(name: str) -> Any:
    # the model (and scikit-learn) is imported when first used, not by every command that
    # imports a module of this package (charting, the topics tables...)
    if name in ("WorkText", "match_topics", "work_text"):  # no scikit-learn needed for these
        from scoping.topics import profiles

        return getattr(profiles, name)
    if name in __all__:
        from scoping.topics import model

        return getattr(model, name)
    raise AttributeError(f"module 'scoping.topics' has no attribute {name!r}")
