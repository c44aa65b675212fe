"""Comparing two records field by field: the vetoes, and the rules that decide what a pair is.

:func:`compare` measures each field of two prepared records (:class:`~scoping.dedupe.keys.Keys`)
and lists the *conflicts*: the vetoes, where one field proves two publications differ. Both
deciders respect them (the pair model of :mod:`scoping.dedupe.model` and the rules below), and
so does chaining pairs into works (:mod:`scoping.dedupe.cluster`). Each veto, and why it holds:

- **different DOIs** (``DOI_CONFLICT``): a DOI names one publication. Not a veto beside a
  preprint (another version of the work: a person decides). Under the model, not a veto
  either when one of the DOIs does not fit its journal (:func:`~scoping.dedupe.keys.mark_doi_fit`:
  a database copied another article's DOI); it is then weak evidence the model weighs;
- **different PMIDs**: a PMID names one MEDLINE citation;
- **years more than one apart**: a year one apart is an online-first and a print date, or a
  meeting and its proceedings; two years apart is another publication;
- **erratum/reply/comment/retraction/protocol/"Part N" differs**: a correction, a reply or a
  second part carries the first item's title and authors and is still a second publication;
- **different numbers in the titles** ("Case 17-2012" and "Case 18-2012", "Trial 2"), unless
  the same DOI or PMID shows one of them is a typo;
- **different volumes, first pages, or issues of one journal volume**: one journal prints a
  publication at one place; a second place in the same journal is a second item.

Five exceptions, where a difference is a database's or a publisher's error rather than a
second publication, keep a veto from firing:

- one publication listed twice in one volume (:func:`_listed_twice`): the same title of five
  words or more, the same authors and year, and either pages that cannot tell items apart
  (two items of one or two pages each, where abstract numbers and pages get mixed up, or two
  ranges overlapping by more than a boundary page) in the same issue, or the same first page
  under another issue. Two different full page ranges stay a conflict;
- a second DOI that names another journal (:func:`_doi_of_another_journal`): Elsevier DOIs
  carry a journal code, and when one code fits the journal both records name and the other
  fits neither, on records that otherwise agree, the second DOI proves nothing.
- one article printed twice by its journal (:func:`_printed_twice`): the same title of five
  words or more, authors, abstract and journal, years one apart at most and page ranges of
  the same length (three pages or more); the second volume, pages and DOI prove nothing.
- an erratum printed with the article and indexed as it (:func:`_erratum_with_article`): in the
  same issue, on one or two pages after the article, with the article's title, authors and
  abstract; every other correction stays apart from the article it corrects.
- a citation shifted by one field (:func:`_shifted`): a record without a volume whose issue is
  the other record's volume and whose "page" is the other's issue, in the same journal and
  year, had its volume read as the issue and its issue as the page; it is compared as volume
  and issue, with no page.

:func:`decide` turns a :class:`Comparison` into a :class:`Decision`: ``duplicate`` only on strong
evidence (the same DOI or PMID with compatible titles; or title, authors, year and journal,
volume or pages agreeing), ``uncertain`` when a person should look, ``distinct`` otherwise.
Every decision names the rule that made it, so a link can be explained.

The rules favour precision: a wrong link hides a publication from the review, a missed one
costs a reviewer a few seconds. Doubtful pairs go to the review queue. In order:

1. any conflict: distinct (a near-perfect pair whose only conflict is a second DOI: doubtful);
2. no title, or a title of one word: never linked by title; generic titles ("Editorial",
   "Editor's comments") only with the same issue and pages; a preprint beside another
   version: doubtful;
3. the same DOI or PMID with compatible titles (unless journal, volume and pages all differ);
4. title (>= 0.9) + authors + year + journal, volume or pages, none of them differing;
5. title (>= 0.95) + authors + journal + volume or pages, the year one apart at most;
6. title (>= 0.95) + first author + year + journal + volume or pages;
7. title (>= 0.95) + year + journal + volume + pages, for records without authors;
8. title (>= 0.95) + authors + volume + the same page range (journal names may differ);
9. authors + year + journal + the same page range in one issue: the title is translated or
   cut (a different title needs the same volume too);
10. title (>= 0.95) + two or more authors + journal, the year one apart (a conference paper
    and its proceedings, but never two numbered meetings of one society);
11. title (>= 0.95) + year + journal + volume + the same page range (corporate authors);
12. title (>= 0.95) + two or more authors + year + volume + issue (a journal named in two
    languages);
13. title (>= 0.95, five words or more) + authors + year + journal + volume, the pages
    differing but not in conflict (one publication listed twice, see above);
14. the same title of six words or more + authors + year, with no venue disagreeing;
15. one article printed twice, or an erratum printed with the article (see above; checked
    before rule 4, so that the link names the reason);

and otherwise: a similar title (>= 0.8) with some agreement is doubtful, the rest distinct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Indel

from scoping.dedupe.keys import Author, Keys

__all__ = [
    "DISTINCT",
    "DUPLICATE",
    "UNCERTAIN",
    "Comparison",
    "Decision",
    "compare",
    "conflicts",
    "decide",
    "hard_conflict",
    "vetoed",
]

DUPLICATE = "duplicate"
DISTINCT = "distinct"
UNCERTAIN = "uncertain"

# conflicts that veto a link (checked again when pairs are chained into works)
DOI_CONFLICT = "different DOIs"
PMID_CONFLICT = "different PMIDs"
YEAR_CONFLICT = "years more than one apart"
MARKER_CONFLICT = "erratum/reply/comment/part differs"
NUMBER_CONFLICT = "different numbers in the titles"
VOLUME_CONFLICT = "different volumes of one journal"
PAGES_CONFLICT = "different pages in one journal volume"
ISSUE_CONFLICT = "different issues of one journal volume"
PREPRINT = "preprint and another version"


@dataclass(slots=True)
class Comparison:
    """How two records compare, field by field (``None``: a side has no value)."""

    title: float | None = None
    title_exact: bool = False
    title_prefix: bool = False
    authors: float | None = None
    """Share of the shorter author list found in the other list."""
    first_author: bool | None = None
    year: int | None = None
    """The years' difference."""
    journal: float | None = None
    volume: bool | None = None
    issue: bool | None = None
    pages: bool | None = None
    """Same first page."""
    page_range: bool | None = None
    """Same first and last page."""
    doi: bool | None = None
    doi_weak: bool = False
    """The DOIs differ but one of them does not fit its journal (weak evidence, not a veto)."""
    pmid: bool | None = None
    abstract: float | None = None
    shifted: bool = False
    """One record's volume and issue were read from its issue and page fields (:func:`_shifted`)."""
    conflicts: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)
    """Reasons to ask a person rather than link (a preprint beside another version)."""

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True, frozen=True)
class Decision:
    """What a pair is, by which rule, with a score in 0..1 (for ordering and display)."""

    label: str
    rule: str
    score: float


# -- field similarities ------------------------------------------------------------------------


def _title_similarity(a: Keys, b: Keys) -> float:
    best = Indel.normalized_similarity(a.title, b.title)
    if best < 0.97 and (a.alt_title or b.alt_title):
        for x in (a.title, a.alt_title):
            for y in (b.title, b.alt_title):
                if x and y and (x is not a.title or y is not b.title):
                    best = max(best, Indel.normalized_similarity(x, y))
    return best


def _is_prefix(a: str, b: str) -> bool:
    """One title is the other without its subtitle (at least three words kept), or without a
    series prefix (at least four words kept): "Case records of the Massachusetts General
    Hospital. Case 17-2012: ..." and "Case 17-2012: ..."."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    words = short.count(" ") + 1
    return (words >= 3 and long_.startswith(short + " ")) or (words >= 4 and long_.endswith(" " + short))


def _author_match(
    x: Author, family_set: set[str], given_set: set[str], families: list[str], parts_set: set[str]
) -> bool:
    if x.family in family_set:
        return True
    if x.parts and any(p in family_set for p in x.parts):
        return True  # one part of a double family name: "Andres-Gamboa" and "Andres"
    if parts_set and x.family in parts_set:
        return True
    if x.family in given_set or any(g in family_set for g in x.given):
        return True  # given and family names swapped by one database
    if len(x.family) >= 4:
        found = process.extractOne(x.family, families, scorer=Indel.normalized_similarity, score_cutoff=0.85)
        return found is not None
    return False


def _initials_compatible(x: Author, y: Author) -> bool:
    if not x.initials or not y.initials:
        return True
    return x.initials[0] == y.initials[0]


def _author_similarity(a: Keys, b: Keys) -> tuple[float | None, bool | None]:
    if not a.authors or not b.authors:
        return None, None
    short, long_ = (a.authors, b.authors) if len(a.authors) <= len(b.authors) else (b.authors, a.authors)
    family_set = {x.family for x in long_}
    given_set = {g for x in long_ for g in x.given}
    families = [x.family for x in long_]
    parts_set = {p for x in long_ for p in x.parts}
    matched = sum(1 for x in short if _author_match(x, family_set, given_set, families, parts_set))
    fa, fb = a.authors[0], b.authors[0]
    first = fa.family == fb.family and _initials_compatible(fa, fb)
    if not first and (fa.family in fb.given or fb.family in fa.given):
        first = True
    if not first and len(fa.family) >= 4:
        first = Indel.normalized_similarity(fa.family, fb.family) >= 0.85 and _initials_compatible(fa, fb)
    return matched / len(short), first


def _authors_strong(a: Keys, b: Keys, similarity: float | None, first: bool | None) -> bool:
    """The same authors: the first one and most of the others, or all of them in another order."""
    if similarity is None:
        return False
    if first and similarity >= 0.75:
        return True
    return similarity >= 0.99 and len(a.authors) == len(b.authors) >= 2


def _abbreviates(short: list[str], long_: list[str]) -> bool:
    """Every word of ``short`` starts a word of ``long_``, in order; one short word may be missing."""
    pos = misses = 0
    for word in short:
        found = pos
        while found < len(long_) and not long_[found].startswith(word):
            found += 1
        if found == len(long_):
            misses += 1
            if misses > 1 or len(word) > 3:
                return False
            continue
        pos = found + 1
    return len(short) - misses >= 3 and len(long_) - (len(short) - misses) <= 2


@lru_cache(maxsize=100_000)
def journal_similarity(a: str, b: str) -> float:
    """1.0 when two journal names can be the same journal (abbreviations included)."""
    if a == b:
        return 1.0
    wa, wb = a.split(), b.split()
    if len(wa) == len(wb) and all(x.startswith(y) or y.startswith(x) for x, y in zip(wa, wb, strict=True)):
        return 1.0
    # an acronym: "jama" for "journal american medical association"
    if len(wa) == 1 and len(wb) >= 2 and wa[0] == "".join(w[0] for w in wb):
        return 1.0
    if len(wb) == 1 and len(wa) >= 2 and wb[0] == "".join(w[0] for w in wa):
        return 1.0
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    # the leading words abbreviated, the rest dropped: "pflugers arch" for "pflugers archiv ...";
    # or a full name without its section: "american journal physiology" for "am j physiol heart ..."
    if len(short) >= 2 and all(long_[i].startswith(w) for i, w in enumerate(short)):
        return 0.9
    if len(short) >= 3 and all(w.startswith(long_[i]) for i, w in enumerate(short)):
        return 0.9
    # abbreviation with dropped words: every abbreviated word starts a word, in order
    if len(short) >= 2 and len(short) >= len(long_) - 2:
        pos = 0
        for word in short:
            while pos < len(long_) and not long_[pos].startswith(word):
                pos += 1
            if pos == len(long_):
                break
            pos += 1
        else:
            if short[0][0] == long_[0][0]:
                return 0.95
    # abbreviated words start the full words, in order; one may be missing ("br" for "series b")
    abbreviation, full = (wa, wb) if sum(map(len, wa)) <= sum(map(len, wb)) else (wb, wa)
    if abbreviation[0][0] == full[0][0] and _abbreviates(abbreviation, full):
        return 0.9
    return Indel.normalized_similarity(a, b)


def _doi_alias(a: Keys, b: Keys) -> bool:
    """Two DOIs of one article: publishers gave some older articles a second DOI.

    Accepted only when the records agree on everything else that places an article: the
    same title, authors, journal, volume and the same page range (a range, not one page).
    """
    if a.doi.partition("/")[2] == b.doi.partition("/")[2]:
        return True  # the same suffix under two prefixes (a publisher moved)
    article_number = a.first_page == b.first_page and len(a.first_page) >= 4 and a.first_page[0].isalpha()
    if not (
        (_same_range(a, b) or article_number) and a.volume and a.volume == b.volume and a.title and b.title
    ):
        return False
    if a.generic or b.generic or (a.issue and b.issue and a.issue != b.issue) or a.year != b.year:
        return False
    journal = _journal(a, b)
    if journal is None or journal < 0.9:
        return False
    if Indel.normalized_similarity(a.title, b.title) < 0.95:
        return False
    similarity, first = _author_similarity(a, b)
    return _authors_strong(a, b, similarity, first)


_JOURNAL_CODE_DOI = re.compile(r"^10\.1016/j\.([a-z]{2,12})\.")
"""Elsevier DOIs name their journal: ``10.1016/j.appet.2012.05.003`` is in *Appetite*."""


def _code_fits(code: str, journal: str) -> bool:
    """A DOI's journal code can abbreviate ``journal``: its letters appear in the journal's
    words, in order, starting with the first letter ("ijcard": "int j cardiol")."""
    letters = journal.replace(" ", "")
    if code[0] == "y" and len(code) > 3 and letters[:1] != "y":
        code = code[1:]  # "yjmcc": journals Elsevier took over from Academic Press
    if not letters or code[0] != letters[0]:
        return False
    pos = 0
    for ch in code:
        pos = letters.find(ch, pos) + 1
        if pos == 0:
            return False
    return True


def _doi_of_another_journal(a: Keys, b: Keys) -> bool:
    """Two records of one journal, one of whose DOIs names another journal (a database error).

    Only for DOIs that carry a journal code (Elsevier's ``10.1016/j.CODE.``): when both
    records name the same journal, one DOI's code fits that journal and the other's fits
    neither record's journal, the second DOI belongs to another publication and proves
    nothing about this pair. Only for records that agree on everything else: the same title,
    authors and year, and no other first page.
    """
    ma, mb = _JOURNAL_CODE_DOI.match(a.doi), _JOURNAL_CODE_DOI.match(b.doi)
    if ma is None or mb is None or ma.group(1) == mb.group(1):
        return False
    journal = _journal(a, b)
    if journal is None or journal < 0.9 or a.year is None or a.year != b.year:
        return False
    if a.first_page and b.first_page and not _same_page(a.first_page, b.first_page):
        return False
    names = [" ".join(x.journal) for x in (a, b)]
    fits_a = [_code_fits(ma.group(1), name) for name in names]
    fits_b = [_code_fits(mb.group(1), name) for name in names]
    if not ((all(fits_a) and not any(fits_b)) or (all(fits_b) and not any(fits_a))):
        return False
    if a.generic or b.generic or _title_similarity(a, b) < 0.95:
        return False
    similarity, first = _author_similarity(a, b)
    return _authors_strong(a, b, similarity, first)


def _pages_differ(a: Keys, b: Keys) -> bool:
    """Different first pages of the same kind (a page number vs an article number is no proof)."""
    x, y = a.first_page, b.first_page
    if not x or not y or _same_page(x, y) or x == "1" or y == "1":
        return False
    if x[0].isdigit() != y[0].isdigit():
        return False
    return not (_single_page_inside(a, b) or _single_page_inside(b, a) or _same_end(a, b))


def _same_end(a: Keys, b: Keys) -> bool:
    """Two ranges that end on the same page and overlap ("2141-2147" and "2142-2147")."""
    if not (a.last_page and a.last_page == b.last_page and a.last_page.isdigit()):
        return False
    if not (a.first_page.isdigit() and b.first_page.isdigit()):
        return False
    return max(int(a.first_page), int(b.first_page)) < int(a.last_page)


def _single_page_inside(a: Keys, b: Keys) -> bool:
    """``a`` gives one page that lies inside ``b``'s range (some exports keep only the last page)."""
    if a.last_page and a.last_page != a.first_page:
        return False
    if not (a.first_page.isdigit() and b.first_page.isdigit() and b.last_page.isdigit()):
        return False
    return int(b.first_page) < int(a.first_page) <= int(b.last_page)


def _page_number(page: str) -> tuple[str, int] | None:
    """``"e12"`` -> ``("e", 12)``; ``None`` for a page without digits at its end."""
    prefix = page.rstrip("0123456789")
    digits = page[len(prefix) :]
    return (prefix, int(digits)) if digits else None


def _span(k: Keys) -> tuple[str, int, int] | None:
    """``(prefix, first, last)`` of a record's pages (``last == first`` for one page)."""
    first = _page_number(k.first_page)
    if first is None:
        return None
    if not k.last_page or k.last_page == k.first_page:
        return first[0], first[1], first[1]
    last = _page_number(k.last_page)
    if last is None or last[0] not in ("", first[0]) or last[1] < first[1]:
        return None
    return first[0], first[1], last[1]


def _pages_unreliable(a: Keys, b: Keys) -> bool:
    """Pages that cannot tell two records apart: two short items (an abstract or a letter of
    one or two pages, where databases mix up abstract numbers and pages), or two ranges that
    overlap by more than a shared boundary page (one range misprinted or shifted)."""
    sa, sb = _span(a), _span(b)
    if sa is None or sb is None or sa[0] != sb[0]:
        return False
    if sa[2] - sa[1] <= 1 and sb[2] - sb[1] <= 1:
        return True
    return max(sa[1], sb[1]) < min(sa[2], sb[2])


def _listed_twice(a: Keys, b: Keys, pages_differ: bool) -> bool:
    """One publication listed twice in one journal volume, once with a wrong page or issue.

    Only for the same title (five words or more, not generic), the same authors and the same
    year, in the same supplement if any; when the pages differ, the issues must not, and the
    pages must be unreliable (:func:`_pages_unreliable`); when the issues differ, the first
    pages must be the same. Two different full page ranges in one volume stay a conflict.
    """
    if a.generic or b.generic or min(a.title_words, b.title_words) < 5:
        return False
    if a.year is None or a.year != b.year:
        return False
    if a.supplement and b.supplement and a.supplement != b.supplement:
        return False
    if pages_differ:
        if (a.issue and b.issue and a.issue != b.issue) or not _pages_unreliable(a, b):
            return False
    elif not (a.first_page and _same_page(a.first_page, b.first_page)):
        return False
    if _title_similarity(a, b) < 0.95:
        return False
    similarity, first = _author_similarity(a, b)
    return _authors_strong(a, b, similarity, first)


def _printed_twice(a: Keys, b: Keys) -> bool:
    """One article printed twice by its journal (in two volumes or at two places, under two DOIs).

    Publishers sometimes print an accepted article again in a later issue; to a review it is
    one publication. Accepted only on what a second article cannot share: the same abstract
    (its first 300 characters, 200 at least), the same title of five words or more, the same
    authors (as many on each record), the same journal, years one apart at most, and page
    ranges of the same length, three pages or more (an article, not a meeting abstract, which
    is often given again at the next year's meeting).
    """
    if len(a.abstract) < 200 or a.abstract != b.abstract or a.title != b.title:
        return False
    if a.generic or a.title_words < 5 or a.year is None or b.year is None or abs(a.year - b.year) > 1:
        return False
    sa, sb = _span(a), _span(b)
    if sa is None or sb is None or sa[2] - sa[1] < 2 or sa[2] - sa[1] != sb[2] - sb[1]:
        return False
    return _same_journal_and_authors(a, b)


def _same_journal_and_authors(a: Keys, b: Keys) -> bool:
    """The same journal (0.9 or more) and the same authors, as many on each record."""
    journal = _journal(a, b)
    if journal is None or journal < 0.9 or len(a.authors) != len(b.authors):
        return False
    similarity, first = _author_similarity(a, b)
    return _authors_strong(a, b, similarity, first)


_ERRATUM_HEAD = re.compile(
    r"^(?:erratum|errata|corrigendum|correction|corrections|author correction|"
    r"publisher correction)(?: (?:to|on|for|of))? "
)


def _erratum_with_article(e: Keys, article: Keys) -> bool:
    """``e`` is an erratum printed with ``article``, and the database indexed it as the article.

    A correction printed in the same issue, after the article, whose record carries the
    article's abstract (200 characters at least), title (after "Erratum to"; five words or
    more, either title may be cut short) and authors (as many on each record), in the same
    journal, volume and year, on one or two pages: to a review it is part of the article, not a
    publication of its own. A correction printed in a later issue, one with an abstract of its
    own or none, or a comment by other authors under the article's title, stays apart.
    """
    if "erratum" not in e.markers or e.markers != article.markers | {"erratum"}:
        return False
    if len(e.abstract) < 200 or e.abstract != article.abstract or e.year != article.year:
        return False
    if not (e.volume and e.volume == article.volume and e.issue and e.issue == article.issue):
        return False
    se, sa = _span(e), _span(article)
    if se is None or sa is None or se[0] != sa[0] or se[2] - se[1] > 1 or se[1] <= sa[2]:
        return False
    title = _ERRATUM_HEAD.sub("", e.title)
    if title.count(" ") < 4 or not (article.title.startswith(title) or title.startswith(article.title)):
        return False
    return _same_journal_and_authors(e, article)


def _shifted(a: Keys, b: Keys) -> Keys | None:
    """``a`` re-read when its citation is shifted by one field against ``b``, else ``None``.

    Some exports drop the volume and move what follows up one field: "Pediatr Nephrol, issue
    26, page 9" for volume 26, issue 9. Re-read only when the two numbers fit exactly: ``a``
    has no volume, its issue is ``b``'s volume and its one "page" is ``b``'s issue, in the
    same journal and year. The re-read record has that volume and issue and no page; a
    record with a volume of its own, a page range or another page is compared as it is.
    """
    if a.volume or not a.issue or a.issue != b.volume or not b.issue or a.first_page != b.issue:
        return None
    if (a.last_page and a.last_page != a.first_page) or a.year is None or a.year != b.year:
        return None
    journal = _journal(a, b)
    if journal is None or journal < 0.9:
        return None
    return replace(a, volume=a.issue, issue=a.first_page, first_page="", last_page="")


def _aligned(a: Keys, b: Keys) -> tuple[Keys, Keys]:
    """``a`` and ``b``, one of them re-read when its citation is shifted (:func:`_shifted`)."""
    if not a.volume and a.issue and b.volume:
        return _shifted(a, b) or a, b
    if not b.volume and b.issue and a.volume:
        return a, _shifted(b, a) or b
    return a, b


def _same_range(a: Keys, b: Keys) -> bool:
    return (
        bool(a.last_page)
        and a.first_page != a.last_page
        and a.first_page == b.first_page
        and a.last_page == b.last_page
    )


def _same_page(x: str, y: str) -> bool:
    if x == y:
        return True
    dx = x.lstrip("abcdefghijklmnopqrstuvwxyz")
    dy = y.lstrip("abcdefghijklmnopqrstuvwxyz")
    return bool(dx) and dx == dy


# -- comparing ---------------------------------------------------------------------------------


def compare(a: Keys, b: Keys) -> Comparison:
    """Measure every field of ``a`` against ``b`` and list the conflicts between them."""
    a_, b_ = a, b
    a, b = _aligned(a, b)
    c = Comparison(shifted=a is not a_ or b is not b_)
    if a.title and b.title:
        c.title_exact = a.title == b.title
        c.title = 1.0 if c.title_exact else _title_similarity(a, b)
        if not c.title_exact:
            c.title_prefix = _is_prefix(a.title, b.title)
    c.authors, c.first_author = _author_similarity(a, b)
    if a.year is not None and b.year is not None:
        c.year = abs(a.year - b.year)
    c.journal = _journal(a, b)
    if a.volume and b.volume:
        c.volume = a.volume == b.volume
        if not c.volume and (a.volume == b.supplement or b.volume == a.supplement):
            c.volume = None  # a supplement number read as the volume
    if a.issue and b.issue:
        c.issue = a.issue == b.issue
    if a.first_page and b.first_page and (_same_page(a.first_page, b.first_page) or _pages_differ(a, b)):
        c.pages = _same_page(a.first_page, b.first_page)
        if c.pages and a.last_page and b.last_page:
            c.page_range = a.last_page == b.last_page
    if a.doi and b.doi:
        c.doi = a.doi == b.doi
        if not c.doi:
            c.doi_weak = a.doi_fit is False or b.doi_fit is False
        if not c.doi and a.doi_preprint != b.doi_preprint:
            c.soft.append(PREPRINT)
    if a.pmid and b.pmid:
        c.pmid = a.pmid == b.pmid
    if a.abstract and b.abstract and len(a.abstract) >= 60 and len(b.abstract) >= 60:
        n = min(len(a.abstract), len(b.abstract), 200)
        c.abstract = Indel.normalized_similarity(a.abstract[:n], b.abstract[:n])
    c.conflicts = _conflicts(a, b, c.journal, first=False)
    return c


def _journal_pair(x: str, y: str) -> float:
    return journal_similarity(x, y) if x <= y else journal_similarity(y, x)


def _journal(a: Keys, b: Keys) -> float | None:
    if not a.journal_key or not b.journal_key:
        return None
    best = _journal_pair(a.journal_key, b.journal_key)
    if best < 0.9 and (a.journal_alts or b.journal_alts):
        for x in (a.journal_key, *a.journal_alts):
            for y in (b.journal_key, *b.journal_alts):
                best = max(best, _journal_pair(x, y))
                if best >= 0.9:
                    return best
    return best


_UNKNOWN = 2.0  # journal similarity not computed yet


def _conflicts(a: Keys, b: Keys, journal: float | None = _UNKNOWN, *, first: bool) -> list[str]:
    """The conflicts between two records; with ``first``, stop at the first one found."""
    a, b = _aligned(a, b)
    found: list[str] = []
    twice = erratum = False
    if a.abstract and a.abstract == b.abstract:
        if a.markers == b.markers:
            twice = _printed_twice(a, b)
        else:
            erratum = _erratum_with_article(a, b) or _erratum_with_article(b, a)
    if (
        a.doi
        and b.doi
        and a.doi != b.doi
        and a.doi_preprint == b.doi_preprint
        and not (twice or erratum)
        and not _doi_alias(a, b)
        and not _doi_of_another_journal(a, b)
    ):
        found.append(DOI_CONFLICT)
    if a.pmid and b.pmid and a.pmid != b.pmid:
        found.append(PMID_CONFLICT)
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
        found.append(YEAR_CONFLICT)
    if a.markers != b.markers and not erratum:
        found.append(MARKER_CONFLICT)
    if (
        a.numbers != b.numbers
        and a.numbers
        and b.numbers
        and not (a.doi and a.doi == b.doi)
        and not (a.pmid and a.pmid == b.pmid)
    ):
        found.append(NUMBER_CONFLICT)  # a typo in a title with the same identifier is no conflict
    if found and first:
        return found
    same_doi = bool(a.doi and a.doi == b.doi)
    volume_differs = bool(
        a.volume
        and b.volume
        and a.volume != b.volume
        and a.volume != b.supplement
        and b.volume != a.supplement
        and not (same_doi and a.first_page and a.first_page == b.first_page)
    )
    pages_differ = not same_doi and _pages_differ(a, b)
    issue_differs = bool(
        not same_doi
        and a.issue
        and b.issue
        and a.issue != b.issue
        and a.volume
        and a.volume == b.volume
        and (a.generic or b.generic or not _same_range(a, b))
    )
    if (pages_differ or issue_differs) and not volume_differs and _listed_twice(a, b, pages_differ):
        pages_differ = issue_differs = False
    if twice or erratum:
        volume_differs = pages_differ = issue_differs = False
    if volume_differs or pages_differ or issue_differs:
        if journal == _UNKNOWN:
            journal = _journal(a, b)
        if journal is None or journal >= 0.9:
            found.append(
                VOLUME_CONFLICT if volume_differs else PAGES_CONFLICT if pages_differ else ISSUE_CONFLICT
            )
    return found


def conflicts(a: Keys, b: Keys) -> list[str]:
    """Every conflict between ``a`` and ``b``."""
    return _conflicts(a, b, first=False)


def hard_conflict(a: Keys, b: Keys) -> str | None:
    """The first conflict between ``a`` and ``b`` (what chaining pairs into works must respect)."""
    found = _conflicts(a, b, first=True)
    return found[0] if found else None


def vetoed(a: Keys, b: Keys) -> bool:
    """Whether a conflict other than a second DOI separates ``a`` and ``b``.

    Such a pair is distinct whatever its other fields, under the rules (:func:`decide`: only a
    second DOI can leave a pair doubtful) and under the pair model (every conflict but a second
    DOI is a veto), so a run need not compare it field by field: most candidate pairs of a large
    run end here (another year, other pages in one volume) at a fraction of :func:`compare`'s cost.
    """
    found = _conflicts(a, b, first=True)
    if found == [DOI_CONFLICT]:  # the first look stopped there: pages may still differ
        found = _conflicts(a, b, first=False)
    return any(x != DOI_CONFLICT for x in found)


# -- deciding ----------------------------------------------------------------------------------

WEIGHTS = {"title": 0.40, "authors": 0.20, "year": 0.10, "venue": 0.20, "ids": 0.10}


def _score(c: Comparison) -> float:
    parts: list[tuple[float, float]] = []
    if c.title is not None:
        parts.append((WEIGHTS["title"], c.title))
    if c.authors is not None:
        parts.append((WEIGHTS["authors"], c.authors))
    if c.year is not None:
        parts.append((WEIGHTS["year"], 1.0 if c.year == 0 else 0.5 if c.year == 1 else 0.0))
    venue = [v for v in (c.journal, _b(c.volume), _b(c.pages)) if v is not None]
    if venue:
        parts.append((WEIGHTS["venue"], sum(venue) / len(venue)))
    ids = [v for v in (_b(c.doi), _b(c.pmid)) if v is not None]
    if ids:
        parts.append((WEIGHTS["ids"], max(ids)))
    if not parts:
        return 0.0
    total = sum(w for w, _ in parts)
    return round(sum(w * v for w, v in parts) / total, 4)


def _b(value: bool | None) -> float | None:
    return None if value is None else float(value)


def decide(a: Keys, b: Keys, c: Comparison) -> Decision:
    """The rule-based verdict on a compared pair (see the module docstring)."""
    decision = _decide(a, b, c)
    if c.shifted and decision.label != DISTINCT:
        return Decision(decision.label, f"{decision.rule} (one citation shifted by a field)", decision.score)
    return decision


def _decide(a: Keys, b: Keys, c: Comparison) -> Decision:
    e = _Evidence.of(a, b, c)
    return (
        _conflict_rule(c, e)
        or _weak_title_rule(a, b, c, e)
        or _same_id_rule(c, e)
        or _reprint_rule(a, b, c, e)
        or _agreement_rule(a, b, c, e)
        or _doubtful_rule(a, c, e)
    )


@dataclass(slots=True)
class _Evidence:
    """What :func:`_decide`'s rules read of a compared pair, worked out once."""

    score: float
    title: float
    short_words: int
    same_id: bool
    id_name: str
    good_title: bool
    fair_title: bool
    authors_missing: bool
    authors_strong: bool
    authors_ok: bool
    year_same: bool
    year_close: bool
    journal_same: bool
    venue_agree: int
    venue_differ: int
    generic: bool

    @classmethod
    def of(cls, a: Keys, b: Keys, c: Comparison) -> _Evidence:
        score = _score(c)
        title = c.title if c.title is not None else 0.0
        short_words = min(a.title_words, b.title_words)
        long_prefix = c.title_prefix and short_words >= 5
        journal_same = c.journal is not None and c.journal >= 0.9
        journal_differs = c.journal is not None and c.journal < 0.6
        return cls(
            score=score,
            title=title,
            short_words=short_words,
            same_id=bool(c.doi) or bool(c.pmid),
            id_name="same DOI" if c.doi else "same PMID",
            good_title=title >= 0.9 or (long_prefix and title >= 0.6),
            fair_title=title >= 0.8 or c.title_prefix,
            authors_missing=c.authors is None,
            authors_strong=_authors_strong(a, b, c.authors, c.first_author),
            authors_ok=c.authors is not None and (bool(c.first_author) or c.authors >= 0.5),
            year_same=c.year == 0,
            year_close=c.year is not None and c.year <= 1,
            journal_same=journal_same,
            venue_agree=sum((journal_same, c.volume is True, c.pages is True)),
            # venue_differ counts disagreements whatever the journal; conflicts need the same journal
            venue_differ=sum((journal_differs, c.volume is False, c.pages is False)),
            generic=a.generic or b.generic,
        )


def _conflict_rule(c: Comparison, e: _Evidence) -> Decision | None:
    if not c.conflicts:
        return None
    near_perfect = (
        e.title >= 0.95
        and (e.authors_strong or e.authors_missing)
        and e.year_close
        and e.venue_agree >= 2
        and len(c.conflicts) == 1
        and c.conflicts[0] in (DOI_CONFLICT,)
    )
    if near_perfect:
        return Decision(UNCERTAIN, f"conflict: {c.conflicts[0]}", e.score)
    return Decision(DISTINCT, f"conflict: {', '.join(c.conflicts)}", e.score)


def _weak_title_rule(a: Keys, b: Keys, c: Comparison, e: _Evidence) -> Decision | None:
    """A missing, one-word, softly conflicting or generic title."""
    title, score = e.title, e.score
    if c.title is None:
        if e.same_id and (e.authors_ok or e.authors_missing) and e.year_close:
            return Decision(UNCERTAIN, f"{e.id_name}, a title is missing", score)
        return Decision(DISTINCT, "a title is missing", score)
    if e.short_words <= 1 and not e.same_id:
        if title == 1.0 and e.authors_strong and e.year_same and e.venue_agree >= 2 and e.venue_differ == 0:
            return Decision(UNCERTAIN, "one-word title", score)
        return Decision(DISTINCT, "one-word title", score)

    if c.soft:
        if e.fair_title and (e.authors_ok or e.authors_missing):
            return Decision(UNCERTAIN, c.soft[0], score)
        return Decision(DISTINCT, "different titles", score)

    if e.generic and not e.same_id:
        # "Editorial", "Editor's comments": the same title in every issue
        if title == 1.0 and e.authors_strong and e.year_same and c.issue and c.pages and e.venue_differ == 0:
            return Decision(DUPLICATE, "same generic title, authors, issue and pages", score)
        if e.fair_title and (e.authors_ok or e.authors_missing) and e.year_close:
            return Decision(UNCERTAIN, "generic title", score)
        return Decision(DISTINCT, "generic title", score)
    return None


def _same_id_rule(c: Comparison, e: _Evidence) -> Decision | None:
    if not e.same_id:
        return None
    id_name, score = e.id_name, e.score
    if e.venue_differ >= 2:
        return Decision(UNCERTAIN, f"{id_name}, different journals/volumes/pages", score)
    if e.good_title or (e.fair_title and (e.authors_ok or e.venue_agree >= 2)):
        return Decision(DUPLICATE, f"{id_name}, compatible titles", score)
    if e.title >= 0.6:
        return Decision(UNCERTAIN, f"{id_name}, titles differ", score)
    return Decision(DISTINCT, f"{id_name} but different titles", score)


def _reprint_rule(a: Keys, b: Keys, c: Comparison, e: _Evidence) -> Decision | None:
    """One article printed twice, or an erratum printed with its article."""
    if (
        c.title_exact
        and c.abstract == 1.0
        and (c.volume is False or c.pages is False)
        and _printed_twice(a, b)
    ):
        return Decision(
            DUPLICATE, "one article printed twice: title, authors, abstract, journal, length", e.score
        )
    if (
        a.markers != b.markers
        and c.abstract == 1.0
        and (_erratum_with_article(a, b) or _erratum_with_article(b, a))
    ):
        return Decision(DUPLICATE, "an erratum printed with the article, indexed with its abstract", e.score)
    return None


def _agreement_rule(a: Keys, b: Keys, c: Comparison, e: _Evidence) -> Decision | None:
    """Duplicates by the fields that agree (no shared identifier)."""
    if e.good_title and e.authors_strong and e.year_same and e.venue_agree >= 1 and e.venue_differ == 0:
        return Decision(DUPLICATE, "title, authors, year and journal/volume/pages agree", e.score)
    if e.title >= 0.95 and e.authors_strong and e.year_close and e.venue_agree >= 2 and e.venue_differ == 0:
        return Decision(DUPLICATE, "title, authors, journal, volume/pages agree (year ±1)", e.score)
    if (
        e.title >= 0.95
        and e.authors_ok
        and e.year_same
        and e.journal_same
        and (c.volume or c.pages)
        and e.venue_differ == 0
    ):
        return Decision(DUPLICATE, "title, first author, year, journal and volume/pages agree", e.score)
    if e.title >= 0.95 and e.authors_missing and e.year_same and e.journal_same and c.volume and c.pages:
        return Decision(DUPLICATE, "title, year, journal, volume and pages agree (no authors)", e.score)
    if (
        e.title >= 0.95
        and e.authors_strong
        and e.year_close
        and c.volume
        and c.page_range
        and a.last_page
        and a.first_page != a.last_page
    ):
        return Decision(DUPLICATE, "title, authors, volume and page range agree", e.score)
    if (
        e.authors_strong
        and e.year_same
        and e.journal_same
        and c.volume is not False
        and c.page_range
        and a.last_page
        and a.first_page != a.last_page
        and c.issue is not False
        and (e.fair_title or (c.volume and not (a.generic or b.generic)))
    ):
        # one place in one journal issue, by the same authors: the title is translated or cut
        return Decision(DUPLICATE, "authors, year, journal and page range agree", e.score)
    if (
        e.title >= 0.95
        and e.authors_strong
        and e.year_close
        and e.journal_same
        and e.venue_differ == 0
        and min(len(a.authors), len(b.authors)) >= 2
        and a.journal_numbers == b.journal_numbers
    ):
        # (not the 23rd and the 24th meeting of a society: an abstract is often given at both)
        return Decision(DUPLICATE, "title, authors and journal agree (year ±1)", e.score)
    if (
        e.title >= 0.95
        and e.year_close
        and e.journal_same
        and c.volume
        and c.page_range
        and a.last_page
        and a.first_page != a.last_page
    ):
        return Decision(DUPLICATE, "title, journal, volume and page range agree", e.score)
    if (
        e.title >= 0.95
        and e.authors_strong
        and min(len(a.authors), len(b.authors)) >= 2
        and e.year_same
        and c.volume
        and c.issue
        and c.pages is not False
    ):
        # a journal named in two languages ("Jinko Chino Gakkai Ronbunshi" and its translation)
        return Decision(DUPLICATE, "title, authors, year, volume and issue agree", e.score)
    if (
        e.title >= 0.95
        and e.short_words >= 5
        and e.authors_strong
        and e.year_same
        and e.journal_same
        and c.volume
        and c.issue is not False
        and c.pages is False
        and not (a.generic or b.generic)
    ):
        # pages that differ but were not a conflict (see _listed_twice): short items or overlapping ranges
        return Decision(DUPLICATE, "title, authors, year, journal, volume agree; pages unreliable", e.score)
    if (
        c.title_exact
        and e.short_words >= 6
        and e.authors_strong
        and e.year_same
        and e.venue_differ == 0
        and (c.journal is None or e.journal_same)
    ):
        return Decision(DUPLICATE, "same title, authors and year", e.score)
    return None


def _doubtful_rule(a: Keys, c: Comparison, e: _Evidence) -> Decision:
    """Not a duplicate by any rule: doubtful (a person's look) or distinct."""
    if e.fair_title and (e.authors_ok or e.authors_missing) and (e.year_close or c.year is None):
        return Decision(UNCERTAIN, "similar title, not enough agreement", e.score)
    if (
        e.authors_strong
        and e.year_same
        and e.journal_same
        and c.volume
        and c.page_range
        and a.first_page != a.last_page
    ):
        return Decision(UNCERTAIN, "same authors and pages, titles differ", e.score)
    return Decision(DISTINCT, "not enough agreement", e.score)
