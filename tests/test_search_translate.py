"""The worked example in every platform's syntax, the approximations each one notes, and the
plan command."""

from __future__ import annotations

import contextlib
import datetime as dt
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
        '"specialist mental health service*"[tiab]) AND 1990:3000[dp] AND english[la]'
    )
    assert q.params == {"term": q.text}
    assert q.notes == ()


def test_europepmc_approximates_truncated_phrases(example) -> None:
    q = translate(example, "europepmc")
    peer = (
        '"peer support" OR (peer AND worker*) OR (consumer AND worker*) OR '
        '(lived AND experience AND worker*) OR "expert by experience" OR "family peer support" '
        'OR "peer led support"'
    )
    mental = (
        '"mental health" OR psychiatric OR (mental AND illness*) OR CAMHS OR '
        "(child AND adolescent AND mental AND health AND service*) OR (forensic AND psych*) OR "
        "(specialist AND mental AND health AND service*)"
    )
    block = "TITLE:({0}) OR ABSTRACT:({0}) OR KW:({0})"
    assert q.text == (
        f'({block.format(peer)}) AND ({block.format(mental)}) AND PUB_YEAR:[1990 TO 3000] AND LANG:"eng"'
    )
    assert q.params == {"query": q.text}
    truncation = [n for n in q.notes if "cannot truncate inside a phrase" in n]
    assert len(truncation) == 7  # one per truncated phrase
    assert any("'forensic psych*' is searched as forensic AND psych*" in n for n in truncation)


def test_openalex(example) -> None:
    q = translate(example, "openalex")
    value = (
        'title_and_abstract.search:("peer support" OR "peer worker" OR "consumer worker" OR '
        '"lived experience worker" OR "expert by experience" OR "family peer support" OR '
        '"peer led support") AND ("mental health" OR psychiatric OR "mental illness" OR CAMHS '
        'OR "child and adolescent mental health service" OR "forensic psych" OR '
        '"specialist mental health service"),from_publication_date:1990-01-01,language:en'
    )
    assert q.params == {"filter": value}
    assert q.text == f"https://api.openalex.org/works?filter={value}"
    assert any("no truncation" in n for n in q.notes)
    assert any("no author keywords" in n for n in q.notes)


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
    assert spp.text.splitlines()[0] == "1 peer support.ti,ab,kf."
    assert any("check the keyword field code of Social Policy and Practice" in n for n in spp.notes)
    assert translate(example, "ovid").database == "PsycINFO"  # the first Ovid database


def test_web_of_science_ebsco_scopus(example) -> None:
    def fields(template: str, names: list[str], terms: list[str]) -> str:
        return " OR ".join(template.format(name, quoted(terms)) for name in names)

    wos = translate(example, "SSCI")
    assert wos.text == (
        f"({fields('{}=({})', ['TI', 'AB', 'AK'], PEER)}) AND "
        f"({fields('{}=({})', ['TI', 'AB', 'AK'], MENTAL)}) AND "
        f"PY=(1990-{THIS_YEAR}) AND LA=(English)"
    )
    assert any("Social Sciences Citation Index" in n for n in wos.notes)
    ebsco = translate(example, "ebsco")
    assert ebsco.text == (
        f"({fields('{} ({})', ['TI', 'AB', 'KW'], PEER)}) AND "
        f"({fields('{} ({})', ['TI', 'AB', 'KW'], MENTAL)}) AND "
        f"DT 19900101-{THIS_YEAR}1231 AND LA (English)"
    )
    scopus = translate(example, "scopus")
    assert scopus.text == (
        f"({fields('{}({})', ['TITLE', 'ABS', 'AUTHKEY'], PEER)}) AND "
        f"({fields('{}({})', ['TITLE', 'ABS', 'AUTHKEY'], MENTAL)}) AND "
        "PUBYEAR > 1989 AND LANGUAGE(english)"
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
            'https://api.openalex.org/works?filter=title.search:("peer support" OR mentor) '
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
            "DOCTYPE(re) AND NOT (TITLE(mice) OR ABS(mice))",
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


def test_plan_lists_every_platform(example) -> None:
    queries = plan(example)
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
    assert first.alone.text == '("peer support"[tiab]) AND 1990:3000[dp] AND english[la]'
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
        "ovid",
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
        assert note in " ".join(err.split())


def test_plan_command_shows_every_query_and_its_notes(example) -> None:
    code, out, _ = run("search", "plan")
    assert code == 0
    for q in plan(example):
        assert q.text in out
        for note in q.notes:
            assert note in out
    assert "== MEDLINE | PubMed (NCBI E-utilities) | searched by 'scoping search run'" in out
    assert "== Europe PMC (not in the strategy) |" in out
    assert "== PsycINFO | Ovid | no open API" in out


def test_plan_unknown_database() -> None:
    code, _, err = run("search", "plan", "--database", "Embase")
    assert code == 1
    assert err.startswith("Error: no database or platform called 'Embase'") and err.count("\n") == 1
