"""The worked example in every platform's syntax, the approximations each one notes, and the
plan command."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.search import load_strategy, parse_strategy, plan, term_queries, translate

REPO = Path(__file__).resolve().parent.parent
THIS_YEAR = dt.date.today().year

PEER = [
    "peer support",
    "peer worker*",
    "consumer worker*",
    "lived experience worker*",
    "expert by experience",
    "family peer support",
    "peer led support",
]
MENTAL = [
    "mental health",
    "psychiatric",
    "mental illness*",
    "CAMHS",
    "child and adolescent mental health service*",
    "forensic psych*",
    "specialist mental health service*",
]


@pytest.fixture(scope="module")
def example():
    return load_strategy(REPO / "searches" / "strategy.toml")


def quoted(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' if " " in t else t for t in terms)


def test_pubmed(example) -> None:
    q = translate(example, "pubmed")
    assert q.database == "MEDLINE"
    assert q.text == (
        '("peer support"[tiab] OR "peer worker*"[tiab] OR "consumer worker*"[tiab] OR '
        '"lived experience worker*"[tiab] OR "expert by experience"[tiab] OR '
        '"family peer support"[tiab] OR "peer led support"[tiab]) AND ("mental health"[tiab] OR '
        'psychiatric[tiab] OR "mental illness*"[tiab] OR CAMHS[tiab] OR '
        '"child and adolescent mental health service*"[tiab] OR "forensic psych*"[tiab] OR '
        '"specialist mental health service*"[tiab]) AND 1990:3000[dp] AND english[la] AND medline[sb]'
    )
    assert q.params == {"term": q.text}
    assert any("MEDLINE is searched as PubMed's MEDLINE subset (medline[sb]" in n for n in q.notes)
    assert any("at most 600 forms" in n for n in q.notes)
    assert q.warnings == ()


def test_pubmed_named_pubmed_searches_all_of_pubmed() -> None:
    s = parse_strategy('[[block]]\nname = "A"\nterms = ["peer support"]\n[databases]\nPubMed = "pubmed"\n')
    q = translate(s, "PubMed")
    assert (q.database, q.text) == ("PubMed", '("peer support"[tiab])')
    assert not any("medline" in n for n in q.notes)


def test_pubmed_listed_variants_use_proximity() -> None:
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["mental illness*", "psych*"]\nfields = ["title", "abstract"]\n'
        '[variants]\n"mental illness*" = ["mental illness", "mental illnesses"]\n'
        '[databases]\nPubMed = "pubmed"\nP2 = { platform = "pubmed", use_variants = true }\n'
    )
    assert translate(s, "PubMed").text == '("mental illness*"[tiab] OR psych*[tiab])'  # PubMed truncates
    q = translate(s, "P2")
    assert q.text == '(("mental illness"[tiab:~0] OR "mental illnesses"[tiab:~0]) OR psych*[tiab])'
    assert any("[tiab:~0]" in n and "[variants]" in n for n in q.notes)


FORENSIC = (
    '("forensic psychiatry" OR "forensic psychiatric" OR "forensic psychology" OR '
    '"forensic psychological" OR "forensic psychologist" OR "forensic psychologists")'
)


def test_europepmc_writes_truncated_phrases_as_phrases(example) -> None:
    q = translate(example, "europepmc")
    peer = (
        '"peer support" OR ("peer worker" OR "peer workers") OR ("consumer worker" OR "consumer workers") OR '
        '("lived experience worker" OR "lived experience workers") OR "expert by experience" OR '
        '"family peer support" OR "peer led support"'
    )
    mental = (
        '"mental health" OR psychiatric OR ("mental illness" OR "mental illnesses") OR CAMHS OR '
        '("child and adolescent mental health service" OR "child and adolescent mental health services") '
        f"OR {FORENSIC} OR "
        '("specialist mental health service" OR "specialist mental health services")'
    )
    block = "TITLE:({0}) OR ABSTRACT:({0}) OR KW:({0})"
    assert q.text == (
        f'({block.format(peer)}) AND ({block.format(mental)}) AND PUB_YEAR:[1990 TO 3000] AND LANG:"eng"'
    )
    assert " AND ".join(["mental", "illness*"]) not in q.text  # never a loose AND of the words
    assert q.params == {"query": q.text, "synonym": "false"}
    assert any("synonym=false" in n for n in q.notes)
    # six phrases searched as stem + plural are flagged; the listed one is not
    assert len(q.warnings) == 6
    assert any(
        "'mental illness*' is searched as 'mental illness' OR 'mental illnesses' only" in n
        for n in q.warnings
    )
    assert any("'forensic psych*' is searched as the forms listed under [variants]" in n for n in q.notes)


def test_openalex_never_drops_truncation_silently(example) -> None:
    q = translate(example, "openalex")
    value = (
        'title_and_abstract.search:("peer support" OR ("peer worker" OR "peer workers") OR '
        '("consumer worker" OR "consumer workers") OR ("lived experience worker" OR '
        '"lived experience workers") OR "expert by experience" OR "family peer support" OR '
        '"peer led support") AND ("mental health" OR psychiatric OR ("mental illness" OR '
        '"mental illnesses") OR CAMHS OR ("child and adolescent mental health service" OR '
        f'"child and adolescent mental health services") OR {FORENSIC} OR '
        '("specialist mental health service" OR "specialist mental health services")),'
        "from_publication_date:1990-01-01,language:en"
    )
    assert q.params == {"filter": value}
    assert q.text == f"https://api.openalex.org/works?filter={value}"
    assert '"forensic psych"' not in q.text
    assert len(q.warnings) == 6 and all("cannot truncate" in n for n in q.warnings)
    assert any("no author keywords" in n for n in q.notes)


def test_openalex_url_length_is_measured_encoded() -> None:
    from urllib.parse import urlencode

    from scoping.search.translate import OPENALEX_URL_LIMIT

    # about 3,400 characters as text: under the limit unencoded, over it once encoded
    terms = [f"peer support worker {n}" for n in range(130)]
    s = parse_strategy('[[block]]\nname = "A"\nterms = [' + ", ".join(f'"{t}"' for t in terms) + "]\n")
    q = translate(s, "openalex")
    encoded = len("https://api.openalex.org/works?" + urlencode(q.params))
    assert len(q.text) < OPENALEX_URL_LIMIT < encoded
    assert any(n.startswith("WARNING: the request URL is") and "once encoded" in n for n in q.notes)


def test_crossref_is_a_ranked_query(example) -> None:
    q = translate(example, "crossref")
    assert q.params == {
        "query.bibliographic": "peer support worker consumer lived experience expert by family led "
        "mental health psychiatric illness CAMHS child and adolescent service "
        "forensic psych specialist",
        "filter": "from-pub-date:1990-01-01",
    }
    assert any("no Boolean" in n and "1,000 best-ranked" in n for n in q.notes)
    assert any("cannot limit by language" in n for n in q.notes)


def test_ovid_lines_per_database(example) -> None:
    psycinfo = translate(example, "PsycINFO")
    assert psycinfo.text.splitlines() == [
        "1 peer support.ti,ab,id.",
        "2 peer worker*.ti,ab,id.",
        "3 consumer worker*.ti,ab,id.",
        "4 lived experience worker*.ti,ab,id.",
        '5 "expert by experience".ti,ab,id.',
        "6 family peer support.ti,ab,id.",
        "7 peer led support.ti,ab,id.",
        "8 or/1-7",
        "9 mental health.ti,ab,id.",
        "10 psychiatric.ti,ab,id.",
        "11 mental illness*.ti,ab,id.",
        "12 CAMHS.ti,ab,id.",
        '13 "child and adolescent mental health service*".ti,ab,id.',
        "14 forensic psych*.ti,ab,id.",
        "15 specialist mental health service*.ti,ab,id.",
        "16 or/9-15",
        "17 8 and 16",
        '18 limit 17 to (english language and yr="1990 -Current")',
    ]
    assert psycinfo.notes == ()
    spp = translate(example, "Social Policy and Practice")
    assert spp.text.splitlines()[0] == "1 peer support.ti,ab."  # never a guessed .kf.
    assert any(
        n.startswith("WARNING: scoping does not know the author-keyword field code of Social Policy")
        for n in spp.notes
    )


def test_a_platform_of_two_databases_is_ambiguous(example) -> None:
    from scoping.errors import UsageError

    with pytest.raises(
        UsageError, match="2 databases of the strategy are searched on Ovid: PsycINFO, Social"
    ):
        translate(example, "ovid")
    code, _, err = run("search", "plan", "--database", "ovid")
    assert code == 1 and err.startswith("Error: 2 databases") and err.count("\n") == 1


def test_web_of_science_ebsco_scopus(example) -> None:
    def fields(template: str, names: list[str], terms: list[str]) -> str:
        return " OR ".join(template.format(name, quoted(terms)) for name in names)

    wos = translate(example, "SSCI")
    assert wos.text == (
        f"(TS=({quoted(PEER)})) AND (TS=({quoted(MENTAL)})) AND PY=(1990-{THIS_YEAR}) AND LA=(English)"
    )
    assert (len(wos.text), wos.operators) == (381, 15)
    assert any("Social Sciences Citation Index" in n for n in wos.notes)
    assert any(
        "TS= (Topic) searches titles, abstracts, author keywords and Keywords Plus" in n for n in wos.notes
    )
    narrow = replace(
        example,
        databases=tuple(replace(d, exact_fields=True) if d.name == "SSCI" else d for d in example.databases),
    )
    assert translate(narrow, "SSCI").text == (
        f"({fields('{}=({})', ['TI', 'AB', 'AK'], PEER)}) AND "
        f"({fields('{}=({})', ['TI', 'AB', 'AK'], MENTAL)}) AND "
        f"PY=(1990-{THIS_YEAR}) AND LA=(English)"
    )
    ebsco = translate(example, "ebsco")
    assert ebsco.text == (
        f"({fields('{} ({})', ['TI', 'AB', 'KW'], PEER)}) AND "
        f"({fields('{} ({})', ['TI', 'AB', 'KW'], MENTAL)}) AND "
        f"DT 19900101-{THIS_YEAR}1231 AND LA (English)"
    )
    scopus = translate(example, "scopus")
    # Scopus reads a wildcard inside quotes as punctuation: truncated phrases use PRE/0, and
    # a phrase holding an operator word (and) is written as its forms
    assert scopus.text == (
        '(TITLE-ABS-KEY("peer support" OR (peer PRE/0 worker*) OR (consumer PRE/0 worker*) OR '
        '(lived PRE/0 experience PRE/0 worker*) OR "expert by experience" OR "family peer support" '
        'OR "peer led support")) AND (TITLE-ABS-KEY("mental health" OR psychiatric OR '
        '(mental PRE/0 illness*) OR CAMHS OR ("child and adolescent mental health service" OR '
        '"child and adolescent mental health services") OR (forensic PRE/0 psych*) OR '
        "(specialist PRE/0 mental PRE/0 health PRE/0 service*))) AND PUBYEAR > 1989 AND LANGUAGE(english)"
    )
    assert any("index terms" in n and "exact_fields" in n for n in scopus.notes)
    assert any(
        n.startswith("Scopus ignores truncation inside quotes: truncated phrases") for n in scopus.notes
    )
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["a b"]\nfields = ["title", "abstract"]\n'
        '[databases]\nScopus = { platform = "scopus", exact_fields = true }\n'
    )
    assert translate(s, "scopus").text == '(TITLE("a b") OR ABS("a b"))'
    assert translate(s, "wos").text == '(TI=("a b") OR AB=("a b"))'
    s = parse_strategy('[[block]]\nname = "A"\nterms = ["a b"]\nfields = ["title", "abstract"]\n')
    assert translate(s, "scopus").text == '(TITLE-ABS("a b"))'


def test_web_of_science_operator_limit() -> None:
    """Web of Science allows 49 Boolean operators: the worked example's TS= form has 15; the
    field-by-field form of a strategy with 9 terms a block already breaks it."""
    from scoping.search.translate import WOS_OPERATOR_LIMIT

    def strategy(n: int, exact: bool) -> str:
        a = ", ".join(f'"alpha{i}"' for i in range(n))
        b = ", ".join(f'"beta{i}"' for i in range(n))
        db = '{ platform = "wos", exact_fields = true }' if exact else '"wos"'
        blocks = f'[[block]]\nname = "A"\nterms = [{a}]\n[[block]]\nname = "B"\nterms = [{b}]\n'
        return blocks + f"[databases]\nW = {db}\n"

    ts = translate(parse_strategy(strategy(9, False)), "W")
    exact = translate(parse_strategy(strategy(9, True)), "W")
    assert ts.operators == 17 <= WOS_OPERATOR_LIMIT and ts.warnings == ()
    assert exact.operators == 53 > WOS_OPERATOR_LIMIT
    assert exact.warnings == (
        "WARNING: the query has 53 Boolean operators; Web of Science allows 49: run each block "
        "as its own search and combine them in the search history (#1 AND #2)",
    )


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (
            "ovid",
            [
                '1 "or".ti,ab.',
                '2 "near".ti,ab.',
                '3 "HIV/AIDS".ti,ab.',
                '4 "with".ti,ab.',
                "5 care.ti,ab.",
                "6 or/1-5",
            ],
        ),
        (
            "wos",
            'TI=("or" OR "near" OR "HIV/AIDS" OR "with" OR care) OR '
            'AB=("or" OR "near" OR "HIV/AIDS" OR "with" OR care)',
        ),
        ("scopus", 'TITLE-ABS("or" OR "near" OR "HIV/AIDS" OR "with" OR care)'),
        (
            "ebsco",
            'TI ("or" OR "near" OR "HIV/AIDS" OR "with" OR care) OR '
            'AB ("or" OR "near" OR "HIV/AIDS" OR "with" OR care)',
        ),
        ("pubmed", 'or[tiab] OR near[tiab] OR "HIV/AIDS"[tiab] OR with[tiab] OR care[tiab]'),
    ],
)
def test_operator_words_and_punctuation_are_quoted(platform: str, expected: object) -> None:
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["or", "near", "HIV/AIDS", "with", "care"]\n'
        'fields = ["title", "abstract"]\n'
    )
    q = translate(s, platform)
    assert (q.text.splitlines() if platform == "ovid" else q.text) == (
        expected if platform == "ovid" else f"({expected})"
    )


STRATEGY = """
[[block]]
name = "Peer"
terms = ["peer support", "mentor*"]
fields = ["title"]

[[block]]
name = "Animals"
exclude = true
terms = ["mice"]
fields = ["title", "abstract"]

[limits]
from_year = 2000
to_year = 2010
document_types = ["review", "preprint"]
"""


@pytest.mark.parametrize(
    ("platform", "expected", "note"),
    [
        (
            "pubmed",
            '("peer support"[ti] OR mentor*[ti]) AND 2000:2010[dp] AND (review[pt] OR '
            "preprint[pt]) NOT (mice[tiab])",
            "also searches author keywords",
        ),
        (
            "europepmc",
            '(TITLE:("peer support" OR mentor*)) AND PUB_YEAR:[2000 TO 2010] AND '
            '(PUB_TYPE:"review" OR SRC:PPR) NOT (TITLE:(mice) OR ABSTRACT:(mice))',
            None,
        ),
        (
            "openalex",
            'https://api.openalex.org/works?filter=title.search:("peer support" OR (mentor OR mentors)) '
            "NOT (mice),from_publication_date:2000-01-01,to_publication_date:2010-12-31,"
            "type:review|preprint",
            "NOT block 'Animals' is searched in the fields of title",
        ),
        (
            "wos",
            '(TI=("peer support" OR mentor*)) AND PY=(2000-2010) AND DT=(Review) NOT '
            "(TI=(mice) OR AB=(mice))",
            "cannot limit to preprint",
        ),
        (
            "scopus",
            '(TITLE("peer support" OR mentor*)) AND PUBYEAR > 1999 AND PUBYEAR < 2011 AND '
            "DOCTYPE(re) AND NOT (TITLE-ABS(mice))",
            "cannot limit to preprint",
        ),
        (
            "crossref",
            "https://api.crossref.org/works?query.bibliographic=peer support mentor&filter="
            "from-pub-date:2000-01-01,until-pub-date:2010-12-31,type:posted-content",
            "NOT blocks are left out",
        ),
    ],
)
def test_not_blocks_fields_and_limits(platform: str, expected: str, note: str | None) -> None:
    q = translate(parse_strategy(STRATEGY), platform)
    assert q.text == expected
    if note:
        assert any(note in n for n in q.notes), q.notes


def test_ovid_not_block_and_limits() -> None:
    q = translate(parse_strategy(STRATEGY), "ovid")
    assert q.text.splitlines() == [
        "1 peer support.ti.",
        "2 mentor*.ti.",
        "3 or/1-2",
        "4 mice.ti,ab.",
        "5 3 not 4",
        '6 limit 5 to yr="2000 -2010"',
    ]
    assert any("apply the publication type limit" in n for n in q.notes)


def test_plan_lists_the_strategy_databases(example) -> None:
    assert [(q.database, q.platform) for q in plan(example)] == [
        ("MEDLINE", "pubmed"),
        ("PsycINFO", "ovid"),
        ("Social Policy and Practice", "ovid"),
        ("SSCI", "wos"),
    ]
    queries = plan(example, every_platform=True)
    assert [q.platform for q in queries] == [
        "pubmed",
        "europepmc",
        "openalex",
        "crossref",
        "ovid",
        "ovid",
        "wos",
        "ebsco",
        "scopus",
    ]
    assert [q.database for q in queries][:2] == ["MEDLINE", "Europe PMC"]


def test_term_queries_for_counts(example) -> None:
    queries = term_queries(example, "pubmed")
    assert len(queries) == 16  # 7 + 7 terms, 2 blocks
    first = queries[0]
    assert (first.block, first.term) == ("Peer support", "peer support")
    assert first.alone.text == '("peer support"[tiab]) AND 1990:3000[dp] AND english[la] AND medline[sb]'
    assert first.combined is not None
    assert first.combined.text.startswith('("peer support"[tiab]) AND ("mental health"[tiab] OR ')
    block = queries[7]
    assert (block.block, block.term) == ("Peer support", None)
    assert block.alone.text.startswith('("peer support"[tiab] OR "peer worker*"[tiab]')


def run(*args: str) -> tuple[int, str, str]:
    with contextlib.chdir(REPO):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "pubmed",
        "europepmc",
        "openalex",
        "crossref",
        "wos",
        "ebsco",
        "scopus",
        "MEDLINE",
        "PsycINFO",
        "SSCI",
    ],
)
def test_plan_database_prints_only_that_query(example, name: str) -> None:
    code, out, err = run("search", "plan", "--database", name)
    assert code == 0, err
    assert out == translate(example, name).text + "\n"
    for note in translate(example, name).notes:
        assert note.removeprefix("WARNING: ") in " ".join(err.split())


def test_plan_command_shows_every_query_and_its_notes(example) -> None:
    code, out, _ = run("search", "plan")
    assert code == 0
    for q in plan(example):
        assert q.text in out
        for note in q.notes:
            assert note.removeprefix("WARNING: ") in out
    assert "== MEDLINE | PubMed (NCBI E-utilities) | searched by 'scoping search run'" in out
    assert "== PsycINFO | Ovid | no open API" in out
    assert "== Crossref" not in out and "(not in the strategy) |" not in out
    assert out.rstrip().splitlines()[-1] == (
        "Other platforms (not in the strategy): europepmc, openalex, crossref, ebsco, scopus; "
        "'scoping search plan --all' or '--database NAME' shows their queries"
    )
    code, out, _ = run("search", "plan", "--all")
    assert code == 0 and "== Crossref (not in the strategy) | Crossref (REST API)" in out


def test_plan_unknown_database() -> None:
    code, _, err = run("search", "plan", "--database", "Embase")
    assert code == 1
    assert err.startswith("Error: no database or platform called 'Embase'") and err.count("\n") == 1


HEADINGS = """
[[block]]
name = "Peer"
terms = ["peer support", "peer ~3 work*"]

[[block.heading]]
vocabulary = "mesh"
term = "Peer Group"
subheadings = ["psychology"]

[[block.heading]]
vocabulary = "mesh"
term = "Mental Health Services"
explode = false
major = true

[[block.heading]]
vocabulary = "apa"
term = "Peer Counseling"

[[block.heading]]
vocabulary = "cinahl"
term = "Support, Psychosocial"

[databases]
PubMed = "pubmed"
MEDLINE = "ovid"
PsycINFO = "ovid"
CINAHL = "ebsco"
SSCI = "wos"
Scopus = "scopus"
"Europe PMC" = "europepmc"
OpenAlex = "openalex"
"""


@pytest.mark.parametrize(
    ("database", "expected", "notes"),
    [
        (
            "PubMed",
            '("Peer Group/psychology"[mh] OR "Mental Health Services"[majr:noexp] OR "peer support"[tiab] '
            'OR "peer work"[tiab:~3])',
            ["WARNING: PubMed's proximity search takes no truncation", "its APA Thesaurus headings are not"],
        ),
        (
            "MEDLINE",
            "1 exp Peer Group/\n2 *Mental Health Services/\n3 peer support.ti,ab,kf.\n"
            "4 (peer adj4 work*).ti,ab,kf.\n5 or/1-4",
            ["WARNING: the subheadings of 'Peer Group' (psychology) are not written for Ovid"],
        ),
        (
            "PsycINFO",
            "1 exp Peer Counseling/\n2 peer support.ti,ab,id.\n3 (peer adj4 work*).ti,ab,id.\n4 or/1-3",
            ["its MeSH headings are not searched in PsycINFO"],
        ),
        (
            "CINAHL",
            '((MH "Support, Psychosocial+") OR TI ("peer support" OR (peer N3 work*)) OR '
            'AB ("peer support" OR (peer N3 work*)) OR KW ("peer support" OR (peer N3 work*)))',
            ["its MeSH headings are not searched in CINAHL"],
        ),
        (
            "SSCI",
            '(TS=("peer support" OR (peer NEAR/3 work*)))',
            ["its MeSH headings are not searched in SSCI"],
        ),
        ("Scopus", '(TITLE-ABS-KEY("peer support" OR (peer W/3 work*)))', ["its CINAHL headings"]),
        (
            "Europe PMC",
            '(TITLE:("peer support" OR (peer AND work*)) OR ABSTRACT:("peer support" OR (peer AND work*)) '
            'OR KW:("peer support" OR (peer AND work*)))',
            ["is searched as (peer AND work*) in the same field (broader"],
        ),
        (
            "OpenAlex",
            'https://api.openalex.org/works?filter=title_and_abstract.search:("peer support" OR '
            "(peer AND (work OR works)))",
            ["OpenAlex has no proximity search", "WARNING: OpenAlex cannot truncate"],
        ),
    ],
)
def test_subject_headings_and_proximity(database: str, expected: str, notes: list[str]) -> None:
    q = translate(parse_strategy(HEADINGS), database)
    assert q.text == expected
    for note in notes:
        assert any(note in n for n in q.notes), q.notes


def test_a_database_can_name_its_vocabulary() -> None:
    text = HEADINGS.replace(
        'CINAHL = "ebsco"', 'CINAHL = "ebsco"\nPsyc = { platform = "ebsco", vocabulary = "cinahl" }'
    )
    q = translate(parse_strategy(text), "Psyc")
    assert q.text.startswith('((MH "Support, Psychosocial+") OR TI (')


def test_redundant_terms_are_named(example) -> None:
    from scoping.search.strategy import redundant_terms

    assert redundant_terms(example) == [
        "block 'Peer support': 'family peer support' adds nothing: 'peer support' finds every record "
        "it finds",
        "block 'Mental health': 'child and adolescent mental health service*' adds nothing: 'mental health' "
        "finds every record it finds",
        "block 'Mental health': 'specialist mental health service*' adds nothing: 'mental health' finds "
        "every record it finds",
    ]
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["work*", "workers", "worker support", "peer ~2 work", "peer"]\n'
    )
    assert [line.split(": ", 1)[1] for line in redundant_terms(s)] == [
        "'workers' adds nothing: 'work*' finds every record it finds",
        "'worker support' adds nothing: 'work*' finds every record it finds",
    ]


def test_europepmc_url_length_is_checked() -> None:
    from urllib.parse import urlencode

    from scoping.search.translate import LONG_URL

    def strategy(n: int) -> str:
        terms = ", ".join(f'"peer support worker {i}"' for i in range(n))
        return f'[[block]]\nname = "A"\nterms = [{terms}]\n'

    short, long = (
        translate(parse_strategy(strategy(20)), "europepmc"),
        translate(parse_strategy(strategy(80)), "europepmc"),
    )
    for q in (short, long):
        assert q.params["synonym"] == "false"
    assert len("https://www.ebi.ac.uk/europepmc/webservices/rest/search?" + urlencode(long.params)) > LONG_URL
    assert short.warnings == ()
    assert len(long.warnings) == 1 and long.warnings[0].startswith("WARNING: the request URL is ")


EDITS = """
[[block]]
name = "Peer"
terms = ["peer support", "peer worker*"]

[[block]]
name = "Mental health"
terms = ["mental health", "CAMHS"]

[databases]
SSCI = "wos"

[databases.PsycINFO]
platform = "ovid"
add_terms = { "Peer" = ["peer counsel*"] }
drop_terms = { "mental health" = ["camhs"] }
"""


def test_per_database_edits_survive_translation() -> None:
    s = parse_strategy(EDITS)
    psycinfo = translate(s, "PsycINFO")
    assert psycinfo.text.splitlines() == [
        "1 peer support.ti,ab,id.",
        "2 peer worker*.ti,ab,id.",
        "3 peer counsel*.ti,ab,id.",
        "4 or/1-3",
        "5 mental health.ti,ab,id.",
        "6 4 and 5",
    ]
    assert psycinfo.notes[:2] == (
        "edited for PsycINFO only (strategy.toml): block 'Peer': added 'peer counsel*'",
        "edited for PsycINFO only (strategy.toml): block 'Mental health': left out 'CAMHS'",
    )
    ssci = translate(s, "SSCI")  # the other databases keep the strategy as written
    assert "CAMHS" in ssci.text and "counsel" not in ssci.text and not any("edited" in n for n in ssci.notes)
    queries = term_queries(s, "PsycINFO")
    assert [(q.block, q.term) for q in queries] == [
        ("Peer", "peer support"),
        ("Peer", "peer worker*"),
        ("Peer", "peer counsel*"),
        ("Peer", None),
        ("Mental health", "mental health"),
        ("Mental health", None),
    ]
    assert (
        queries[0].alone.text.splitlines()[0] == "1 peer support.ti,ab,id."
        and "counsel" not in queries[0].alone.text
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('add_terms = { "Nope" = ["x"] }', "add_terms names no block 'Nope'"),
        ('add_terms = { "Peer" = ["peer support"] }', "'peer support' is a term of the block already"),
        ('drop_terms = { "Peer" = ["peer mentor"] }', "'peer mentor' is not a term of the block"),
        (
            'drop_terms = { "Mental health" = ["mental health", "CAMHS"] }',
            "leaves block 'Mental health' without terms",
        ),
    ],
)
def test_per_database_edits_are_checked(edit: str, message: str) -> None:
    from scoping.errors import ConfigError

    text = EDITS.split("[databases]")[0] + f'[databases]\nX = {{ platform = "ovid", {edit} }}\n'
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_strategy(text)


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("behaviour", ("behavior", "-our/-or")),
        ("behavior", ("behaviour", "-our/-or")),
        ("paediatric*", ("pediatric*", "ae/e")),
        ("edema", ("oedema", "oe/e")),
        ("organisation", ("organization", "-ise/-ize")),
        ("organis*", ("organiz*", "-ise/-ize")),
        ("stigmatized", ("stigmatised", "-ise/-ize")),
        ("analyse", ("analyze", "-yse/-yze")),
        ("centre", ("center", "-tre/-ter")),
        ("counselling", ("counseling", "-ll-/-l-")),
        ("catalogue", ("catalog", "-ogue/-og")),
        # one spelling only: no warning
        ("exercise", None),
        ("supervised", None),
        ("hour", None),
        ("telling", None),
        ("crisis*", None),
        ("analysis", None),
        ("peer", None),
    ],
)
def test_the_other_spelling_of_a_word(word: str, other: tuple[str, str] | None) -> None:
    from scoping.search.strategy import other_spelling

    assert other_spelling(word) == other


def test_a_term_without_its_other_spelling_is_named() -> None:
    from scoping.search.strategy import spelling_variants

    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["peer counselling", "challenging behavio*", "organis*", '
        '"organiz*", "paediatric mental health"]\n'
    )
    assert spelling_variants(s) == [
        "block 'A': 'peer counselling' has another spelling (-ll-/-l-), 'peer counseling', that no term "
        "of the block finds: add it (Web of Science alone finds both spellings of an unquoted word)",
        "block 'A': 'paediatric mental health' has another spelling (ae/e), 'pediatric mental health', "
        "that no term of the block finds: add it (Web of Science alone finds both spellings of an "
        "unquoted word)",
    ]
    code, _, err = run("search", "plan", "--database", "pubmed")
    assert code == 0 and "another spelling" not in err  # the worked example has none
