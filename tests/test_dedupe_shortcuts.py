"""The shortcuts that keep a large de-duplication run fast change no outcome.

A run skips the field-by-field comparison of a pair that a conflict other than a second DOI
separates (:func:`scoping.dedupe.compare.vetoed`), and skips a title marker's pattern when
the title lacks the text that pattern needs. Both are checked here against the long way
round on generated records whose fields collide often (few titles, years, DOIs, pages).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.dedupe import DISTINCT, MatchRow, compare, decide, prepare
from scoping.dedupe.compare import DOI_CONFLICT, vetoed
from scoping.dedupe.engine import model_decide
from scoping.dedupe.keys import _MARKERS, _PART, _title_markers
from scoping.dedupe.model import default_model

WORDS = (
    "erratum", "reply", "re", "response", "comment", "letter", "part", "pt", "ii", "protocol",
    "for", "study", "trial", "heart", "ischaemic", "preconditioning", "rat", "2", "3", "withdrawn",
    "abstracts", "poster", "correction", "to", "the", "editor", "corrigendum", "rejoinder", "one",
)  # fmt: skip

title = st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(" ".join)
record = st.fixed_dictionaries(
    {
        "title": st.one_of(st.none(), title),
        "authors": st.lists(st.sampled_from(["Smith, J.", "Jones M", "Brown, P.", "Li, X."]), max_size=3),
        "year": st.one_of(st.none(), st.integers(1999, 2002)),
        "journal": st.sampled_from([None, "Journal of Molecular Cardiology", "J Mol Cardiol", "Lancet"]),
        "volume": st.sampled_from([None, "33", "34"]),
        "issue": st.sampled_from([None, "4", "5"]),
        "pages": st.sampled_from([None, "711-720", "721-730", "711", "e12"]),
        "doi": st.sampled_from([None, "10.1006/jmcc.2001.1330", "10.1006/jmcc.2001.1331", "10.1101/2020.1"]),
        "pmid": st.sampled_from([None, "111", "222"]),
        "abstract": st.sampled_from([None, "We studied hearts of rats in a randomised trial " * 2]),
    }
)


def _keys(fields: dict[str, Any], index: int) -> Any:
    return prepare(MatchRow(id=index + 1, **fields), index)


@settings(max_examples=150, deadline=None)
@given(record, record)
def test_a_vetoed_pair_is_distinct_by_rules_and_model(x: dict[str, Any], y: dict[str, Any]) -> None:
    a, b = _keys(x, 0), _keys(y, 1)
    c = compare(a, b)
    assert vetoed(a, b) == any(conflict != DOI_CONFLICT for conflict in c.conflicts)
    if vetoed(a, b):
        assert decide(a, b, c).label == DISTINCT
        assert model_decide(a, b, c, default_model())[0].label == DISTINCT


@settings(max_examples=150, deadline=None)
@given(title)
def test_title_markers_skip_only_patterns_that_cannot_match(key: str) -> None:
    expected = {name for name, pattern in _MARKERS if pattern.search(key)}
    expected |= {m.group(0) for m in _PART.finditer(key)}
    found = _title_markers(key)
    assert {m for m in found if not m.startswith("part ")} == {m for m in expected if m in dict(_MARKERS)}
    assert any(m.startswith("part ") for m in found) == any(_PART.finditer(key))
