"""Reading PubMed and Web of Science queries back into a strategy (scoping.search.parse):
real published strategies (tests/data/search-strategies, see its SOURCE.md), each shape the
parser reads, each kind of loss, and the round trip strategy -> translate -> parse as a
property over random strategies."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoping.cli import cli
from scoping.errors import UsageError
from scoping.search.parse import (
    And,
    HeadingLeaf,
    Limit,
    Near,
    Not,
    Or,
    Word,
    folded,
    import_query,
    parse_query,
    round_trip,
    strategy_toml,
    summarise,
    to_strategy,
)
from scoping.search.strategy import FIELDS, Block, Database, Heading, Limits, Strategy, Term, parse_strategy
from scoping.search.translate import translate

DATA = Path(__file__).parent / "data" / "search-strategies"
QUERIES = tomllib.loads((DATA / "queries.toml").read_text(encoding="utf-8"))["query"]
TIAB = frozenset(FIELDS)
TS = frozenset((*FIELDS, "keywords_plus"))


def by_source(end: str) -> dict[str, str]:
    found = [q for q in QUERIES if q["source"].endswith(end)]
    assert len(found) == 1, end
    return found[0]


def test_the_sources_file_names_origin_licence_commit_and_checksum() -> None:
    source = (DATA / "SOURCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((DATA / "queries.toml").read_bytes()).hexdigest()[:16]
    assert f"SHA-256 of queries.toml (first 16 hex digits): {digest}." in source
    assert "Licence: MIT" in source
    assert "CoLRev-Environment/search-query" in source
    assert "1e64ad60343fbf66e5526382004d0d9d8daf4dbd" in source
    assert f"{len(QUERIES)} queries" in source
    kinds = {q["kind"] for q in QUERIES}
    assert kinds == {"strategy", "line", "snippet", "filter"}


@pytest.mark.parametrize("query", QUERIES, ids=[f"{q['database']}-{i}" for i, q in enumerate(QUERIES)])
def test_every_real_query_parses(query: dict[str, str]) -> None:
    tree = parse_query(query["text"], query["database"])
    assert isinstance(tree, And | Or | Word | Near)


def test_a_pubmed_strategy_with_mesh_round_trips_with_its_headings() -> None:
    query = by_source("searchRxiv.2023.00244")
    result = round_trip(query["text"], "pubmed")
    assert result.same, result.losses
    assert result.fit is not None and result.fit.strategy is not None
    blocks = result.fit.strategy.blocks
    assert len(blocks) == 2
    environment = next(b for b in blocks if any(t.text == "Ecolog*" for t in b.terms))
    assert Heading("mesh", "Environment", explode=False) in environment.headings
    assert Heading("mesh", "Climate Change", explode=True) in environment.headings
    assert Term("environmental health*") not in environment.terms  # case kept as written
    assert Term("Environmental health*") in environment.terms
    assert environment.fields == FIELDS


def test_pubmed_tags_headings_proximity_and_left_to_right_operators() -> None:
    tree = parse_query(
        'a[tiab] OR "b c"[ti] AND "Peer Group/psychology"[majr:noexp] NOT "d e"[tiab:~3]', "pubmed"
    )
    # PubMed reads left to right: ((a OR "b c") AND heading) NOT near
    expected = And(
        frozenset(
            {
                Or(frozenset({Word("a", TIAB), Word("b c", frozenset({"title"}))})),
                HeadingLeaf("Peer Group", explode=False, major=True, subheading="psychology"),
                Not(Near((Word("d", TIAB), Word("e", TIAB)), 3)),
            }
        )
    )
    assert tree == expected


def test_web_of_science_precedence_fields_and_near() -> None:
    tree = parse_query("TS=(a OR b AND c) OR TI=(x near/2 y) AND PY=(1990-2020)", "wos")
    # NEAR before NOT before AND before OR
    ts = TS
    assert tree == Or(
        frozenset(
            {
                Word("a", ts),
                And(frozenset({Word("b", ts), Word("c", ts)})),
                And(
                    frozenset(
                        {
                            Near((Word("x", frozenset({"title"})), Word("y", frozenset({"title"}))), 2),
                            Limit("year", "1990-2020"),
                        }
                    )
                ),
            }
        )
    )


def test_the_same_term_in_ti_and_ab_is_one_term_in_both_fields() -> None:
    query = by_source("searchRxiv.2024.00458")
    result = round_trip(query["text"], "wos")
    assert result.same
    assert result.fit is not None and result.fit.strategy is not None
    assert {b.fields for b in result.fit.strategy.blocks} == {("title", "abstract")}
    assert len(result.fit.strategy.blocks) == 4


def test_a_wos_strategy_with_language_and_not_blocks_round_trips() -> None:
    result = round_trip(by_source("searchRxiv.2024.00475")["text"], "wos")
    assert result.same
    assert result.fit is not None and result.fit.strategy is not None
    strategy = result.fit.strategy
    assert strategy.limits.languages == ("English",)
    assert [b.terms for b in strategy.exclude] == [(Term("animal*"),), (Term("child*"),)]
    # what the file would say parses as a strategy file
    again = parse_strategy(strategy_toml(strategy))
    assert again.blocks == strategy.blocks


@pytest.mark.parametrize(
    ("source", "kinds"),
    [
        ("test_pubmed_parser_v_1.py", None),
        ("searchRxiv.2024.00507", {"no-field"}),
        ("searchRxiv.2024.00503", {"nested-and", "no-field"}),
        ("searchRxiv.2024.00492 line 3", {"wildcard"}),
        ("searchRxiv.2024.00492 line 9", {"near-group", "wildcard"}),
        ("searchRxiv.2024.00492 line 11", {"nested-and"}),
    ],
)
def test_what_does_not_fit_is_named(source: str, kinds: set[str] | None) -> None:
    query = next(q for q in QUERIES if q["source"].endswith(source))
    result = round_trip(query["text"], query["database"])
    assert result.parsed and not result.same
    if kinds is None:  # the [tw] and [pt] snippet
        assert result.losses == ("field",)
        assert result.fit is not None and "field: [tw]" in result.fit.details
    else:
        assert set(result.losses) == kinds


def test_other_losses_by_kind() -> None:
    cases: dict[str, list[tuple[str, str | None]]] = {
        "pubmed": [
            ("(a[tiab] AND b[tiab]) OR (c[tiab] AND d[tiab])", "or-of-blocks"),
            ("a[tiab] OR (b[tiab] NOT c[tiab])", "nested-not"),
            ("a[tiab] OR b[ti]", "mixed-fields"),
            ('"a b c"[tiab:~2]', "near-words"),
            ("a[tiab] AND 2020/01/01:2020/06/30[dp]", "limit"),
            ("NOT a[tiab]", None),
        ],
        "wos": [
            ("TS=(a SAME b)", "same"),
            ("TS=(a) AND (TI=(b) OR AB=(b) OR AK=(b))", "mixed-wos-fields"),
            ("TS=(a OR b*c)", "wildcard"),
        ],
    }
    for database, pairs in cases.items():
        for text, kind in pairs:
            if kind is None:
                with pytest.raises(UsageError):
                    parse_query(text, database)
                continue
            result = round_trip(text, database)
            assert kind in result.losses, (text, result.losses)


@pytest.mark.parametrize(
    ("text", "database", "message"),
    [
        ('TS=("a b)', "wos", "unbalanced quote"),
        ("TS=(a OR (b)", "wos", "a ( is never closed"),
        ("TS=(a) b)", "wos", "two terms without an operator"),
        ("#1 AND #2", "wos", "search history lines"),
        ("a[tiab", "pubmed", "unclosed ["),
        ('("a" OR "b")[tiab]', "pubmed", "a field tag after parentheses"),
        ("", "pubmed", "empty"),
        ("a", "scopus", "cannot read 'scopus' queries"),
    ],
)
def test_a_query_that_cannot_be_read_says_why(text: str, database: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_query(text, database)


def test_the_real_set_in_figures() -> None:
    results = [round_trip(q["text"], q["database"]) for q in QUERIES]
    counts = summarise(results)
    assert counts["total"] == len(QUERIES)
    assert counts["parsed"] == len(QUERIES)
    assert counts["round-tripped"] == sum(r.same for r in results) > 0
    assert all(r.losses for r in results if not r.same)


_PIECES = st.sampled_from(
    [
        "(",
        ")",
        '"',
        "a",
        "b*",
        "c$",
        " AND ",
        " OR ",
        " NOT ",
        " NEAR/2 ",
        " SAME ",
        "TS=",
        "TI=",
        "LA=",
        "PY=",
        "[tiab]",
        "[mh]",
        "[tiab:~2]",
        "[",
        "]",
        "#1",
        " ",
        "x y",
        "1990-2000",
        "“",
        ":",
        "~",
        "/",
        "1990:2000[dp]",
        "english[la]",
    ]
)


@settings(max_examples=120, deadline=None)
@given(parts=st.lists(_PIECES, max_size=12), database=st.sampled_from(["pubmed", "wos"]))
def test_any_text_is_read_or_refused_in_words(parts: list[str], database: str) -> None:
    """Whatever a user pastes: a round trip, or a UsageError (one line, never a traceback)."""
    text = "".join(parts)
    result = round_trip(text, database)
    assert result.parsed or (result.error is not None and "\n" not in result.error)
    message = ""
    try:
        strategy, _ = import_query(text, database)
    except UsageError as err:
        message = str(err)
    else:
        assert strategy.blocks
    assert "\n" not in message


# -- the round trip as a property ------------------------------------------------------------

_WORDS = st.text(alphabet="bcdfghjklmpqrstvwxz", min_size=4, max_size=7).map(lambda w: "u" + w)


@st.composite
def _terms(draw: st.DrawFn, words: list[str], database: str) -> Term:
    shape = draw(st.sampled_from(["word", "stem", "phrase", "truncated phrase", "near"]))
    if shape == "word":
        return Term(words.pop())
    if shape == "stem":
        return Term(words.pop() + "*")
    if shape == "near":
        return Term(f"{words.pop()} ~{draw(st.integers(0, 9))} {words.pop()}")
    text = f"{words.pop()} {words.pop()}"
    return Term(text + "*" if shape == "truncated phrase" else text)


@st.composite
def _strategies(draw: st.DrawFn, database: str) -> Strategy:
    words = draw(st.lists(_WORDS, min_size=60, max_size=60, unique=True))
    field_choices = (
        [FIELDS, ("title",)]
        if database == "pubmed"
        else [
            FIELDS,
            ("title",),
            ("abstract",),
            ("title", "abstract"),
            ("abstract", "keywords"),
        ]
    )
    blocks = []
    for i in range(draw(st.integers(1, 3)) + draw(st.integers(0, 1))):
        n = draw(st.integers(1, 4))
        terms = tuple(draw(_terms(words, database)) for _ in range(n))
        headings: tuple[Heading, ...] = ()
        if database == "pubmed" and draw(st.booleans()):
            headings = (
                Heading(
                    "mesh",
                    words.pop().capitalize() + " " + words.pop(),
                    explode=draw(st.booleans()),
                    major=draw(st.booleans()),
                    subheadings=tuple(
                        draw(st.lists(st.sampled_from(["psychology", "therapy"]), unique=True))
                    ),
                ),
            )
        blocks.append(
            Block(
                f"B{i}",
                terms,
                draw(st.sampled_from(field_choices)),
                exclude=i > 0 and draw(st.booleans()),
                headings=headings,
            )
        )
    language = draw(st.sampled_from([(), ("English",)]))
    limits = Limits(from_year=draw(st.sampled_from([None, 1990])), to_year=2020, languages=language)
    exact = database == "wos" and draw(st.booleans())
    db = Database(name=f"the {database} database", platform=database, exact_fields=exact)
    return Strategy(blocks=tuple(blocks), limits=limits, databases=(db,))


def _term_key(term: Term) -> str:
    """A term as the databases read it: a proximity term's two words in either order."""
    if term.near is None:
        return term.text.casefold()
    a, b = sorted(w.casefold() for w in term.words)
    return f"{a} ~{term.near} {b}"


def _shape(blocks: tuple[Block, ...]) -> set[tuple[object, ...]]:
    return {
        (
            frozenset(_term_key(t) for t in b.terms),
            b.fields,
            b.exclude,
            frozenset((h.term.casefold(), h.explode, h.major, frozenset(h.subheadings)) for h in b.headings),
        )
        for b in blocks
    }


@pytest.mark.parametrize("database", ["pubmed", "wos"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_strategies_survive_translate_and_parse(database: str, data: st.DataObject) -> None:
    strategy = data.draw(_strategies(database))
    db = strategy.databases[0]
    text = translate(strategy, db).text
    fit = to_strategy(parse_query(text, database), database)
    assert fit.strategy is not None, (text, fit.details)
    assert _shape(fit.strategy.blocks) == _shape(strategy.blocks), text
    assert fit.strategy.limits.languages == strategy.limits.languages
    start = strategy.limits.from_year or (1900 if database == "wos" else None)  # WoS needs a start
    assert (fit.strategy.limits.from_year, fit.strategy.limits.to_year) == (start, strategy.limits.to_year)
    if database == "wos":
        assert fit.database.exact_fields == (
            db.exact_fields and any(b.fields == FIELDS for b in strategy.blocks)
        )
    # and the fitted strategy, translated again, is the same query tree
    again = parse_query(translate(fit.strategy, fit.database).text, database)
    assert folded(again) == folded(parse_query(text, database))


# -- the command -----------------------------------------------------------------------------


def test_import_query_prints_blocks_that_the_strategy_file_reads(tmp_path: Path) -> None:
    query = tmp_path / "wos.txt"
    query.write_text(by_source("searchRxiv.2024.00475")["text"], encoding="utf-8")
    result = CliRunner().invoke(cli, ["search", "import-query", "--database", "wos", str(query)])
    assert result.exit_code == 0, result.output
    strategy = parse_strategy(result.stdout)
    assert len(strategy.include) == 3 and len(strategy.exclude) == 2
    assert strategy.limits.languages == ("English",)
    assert strategy.databases[0].platform == "wos"
    # translated by the ordinary translator, it is the published query's tree again
    again = parse_query(translate(strategy, strategy.databases[0]).text, "wos")
    assert folded(again) == folded(parse_query(query.read_text(encoding="utf-8"), "wos"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"TS=(a) AND (b OR c)", "does not fit the strategy file without loss (no-field: no field tag)"),
        (b'TS=("a b)', "cannot read the Web of Science query: unbalanced quote"),
        (b"TS=(caf\xe9)", "is not UTF-8 text (byte 7)"),
    ],
)
def test_import_query_refuses_in_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    query = tmp_path / "q.txt"
    query.write_bytes(content)
    result = CliRunner().invoke(cli, ["search", "import-query", "-d", "wos", str(query)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
