"""scoping search check: the seed studies each database found or missed, and the block that lost
a missed one (matched offline against the text another database gave of it)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.review import Review, init_review
from scoping.search import parse_strategy
from scoping.search.check import term_matches

DATA = Path(__file__).resolve().parent / "data" / "asreview"
PSYCINFO = DATA / "ovid_psycinfo.ris"  # 6 real PsycINFO records (inflammatory bowel disease)

STRATEGY = """
[[block]]
name = "Bowel"
terms = ["inflammatory bowel disease", "ibd"]

[[block]]
name = "Psychology"
terms = ["depress*", "body image", "psychosocial"]

[[block]]
name = "Animals"
exclude = true
terms = ["mice"]

[seeds]
dois = [
    "10.1002/cpp.2398",                 # depression: matches every block
    "10.1080/17482631.2019.1648945",    # dietary strategies: no Psychology term
    "https://doi.org/10.9999/NOT.HERE", # in no search
]

[databases]
PsycINFO = "ovid"
MEDLINE = "pubmed"
"""


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    rv.strategy_path.write_text(STRATEGY, encoding="utf-8")
    return rv


def run(review: Review, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), env={"SCOPING_CONFIG": ""}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_names_what_found_and_what_lost_each_seed(review: Review, tmp_path: Path) -> None:
    # MEDLINE's export here holds only the first record (the same DOI as PsycINFO's first)
    medline = tmp_path / "medline.ris"
    text = PSYCINFO.read_text(encoding="utf-8")
    medline.write_text(text[: text.index("ER  -") + len("ER  -")] + "\n", encoding="utf-8")
    assert run(review, "import", str(PSYCINFO), "--source", "PsycINFO")[0] == 0
    assert run(review, "import", str(medline), "--source", "MEDLINE")[0] == 0
    code, out, err = run(review, "search", "check")
    assert code == 0, err
    assert out.splitlines() == [
        "Seed studies: 3; found by every database searched: 1; missed by at least one: 2",
        "doi:10.1002/cpp.2398  The influence of self-criticism on depression symptoms among ambulatory "
        "patients with inflammatory bowel disease.",
        "  found in   MEDLINE, PsycINFO",
        "doi:10.1080/17482631.2019.1648945  Dietary strategies and food practices of pediatric patients, "
        "and their parents, living with inflammatory bowel disease: A qualitative interview study.",
        "  found in   PsycINFO",
        "  missed by  MEDLINE",
        "  lost by    block 'Psychology': none of its terms is in the title/abstract/keywords",
        "  terms      block 'Bowel': 'inflammatory bowel disease', 'ibd'",
        "doi:10.9999/not.here  (no record of it in the store)",
        "  missed by  MEDLINE, PsycINFO",
        "  lost by    not known: no search found it, so there is no text of it to check",
        "Plurals no term finds (PubMed's quoted phrases, Ovid, Scopus and Europe PMC search a phrase as "
        "written; Web of Science and EBSCOhost add plurals of unquoted words):",
        "  block 'Bowel': 'inflammatory bowel disease' misses 'inflammatory bowel diseases' (1 stored "
        "record holds it)",
    ]


def test_check_names_the_terms_that_find_a_missed_seed(review: Review, tmp_path: Path) -> None:
    # the same records, a strategy where one term alone keeps the depression study and a NOT
    # block excludes it: MEDLINE (empty of it) missed it, PsycINFO's record is matched
    review.strategy_path.write_text(
        STRATEGY.replace(
            'terms = ["depress*", "body image", "psychosocial"]', 'terms = ["depress*", "anxiety"]'
        )
        .replace('terms = ["mice"]', 'terms = ["self-critic*", "mice"]')
        .replace('"10.1080/17482631.2019.1648945",    # dietary strategies: no Psychology term\n', "")
        .replace('"https://doi.org/10.9999/NOT.HERE", # in no search\n', ""),
        encoding="utf-8",
    )
    medline = tmp_path / "medline.ris"
    text = PSYCINFO.read_text(encoding="utf-8")
    second = text.index("ER  -") + len("ER  -")
    medline.write_text(
        text[second : text.index("ER  -", second) + len("ER  -")].strip() + "\n", encoding="utf-8"
    )
    assert run(review, "import", str(PSYCINFO), "--source", "PsycINFO")[0] == 0
    assert run(review, "import", str(medline), "--source", "MEDLINE")[0] == 0
    code, out, err = run(review, "search", "check")
    assert code == 0, err
    lines = out.splitlines()
    assert "  missed by  MEDLINE" in lines
    assert "  lost by    block 'Animals': its NOT terms match it" in lines
    assert (
        "  terms      block 'Psychology': 'depress*' (the only one: without it the block loses the study)"
        in lines
    )
    assert "  terms      NOT block 'Animals': 'self-critic*' match it" in lines


def test_check_needs_seeds(review: Review) -> None:
    review.strategy_path.write_text(STRATEGY.split("[seeds]")[0], encoding="utf-8")
    code, out, err = run(review, "search", "check")
    assert (code, out) == (1, "")
    assert err.startswith("Error: searches/strategy.toml has no [seeds]") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("peer support", "Peer-support work in mental health", True),
        ("peer support", "support from a peer", False),
        ("peer worker*", "the peer workers' role", True),
        ("work*", "a network", False),
        ("peer ~2 work*", "work done by a trained peer", False),
        ("peer ~3 work*", "workers who are peers", False),
        ("peer ~3 work*", "peer and lived experience workers", True),
        ("peer ~3 work*", "workers, trained as peer", True),
    ],
)
def test_terms_match_as_databases_read_them(term: str, text: str, found: bool) -> None:
    parsed = parse_strategy(f'[[block]]\nname = "A"\nterms = ["{term}"]\n').blocks[0].terms[0]
    assert term_matches(parsed, text) is found


def test_seeds_are_checked_when_the_strategy_is_read(tmp_path: Path) -> None:
    from scoping.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[seeds\] pmids: 'PMC123' is not a PMID"):
        parse_strategy('[[block]]\nname = "A"\nterms = ["a"]\n[seeds]\npmids = ["PMC123"]\n')
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = ["a"]\n[seeds]\npmids = ["123", 123]\ndois = ["10.1000/X"]\n'
    )
    assert s.seeds == ("doi:10.1000/x", "pmid:123")


@pytest.mark.parametrize(
    ("word", "form"),
    [
        ("worker", "workers"),
        ("study", "studies"),
        ("day", "days"),
        ("approach", "approaches"),
        ("box", "boxes"),
    ],
)
def test_regular_plurals(word: str, form: str) -> None:
    from scoping.search.check import plural

    assert plural(word) == form


def test_a_plural_in_the_records_that_no_term_finds_is_named(review: Review) -> None:
    from scoping.search import load_strategy
    from scoping.search.check import FormGap, missing_plurals

    review.strategy_path.write_text(
        '[[block]]\nname = "Bowel"\nterms = ["inflammatory bowel disease", "crohn*", "ulcerative colitis"]\n'
        '[[block]]\nname = "Care"\nterms = ["patient", "patients", "body image", "quality of life"]\n',
        encoding="utf-8",
    )
    assert run(review, "import", str(PSYCINFO), "--source", "PsycINFO")[0] == 0
    strategy = load_strategy(review.strategy_path)
    with review.open_store() as store:
        gaps = missing_plurals(store, strategy)
        texts = [(s.record.title or "") + " " + (s.record.abstract or "") for s in store.iter_records()]
    # counted in the records' own text: how many hold each plural
    expected = sum("inflammatory bowel diseases" in t.lower() for t in texts)
    assert expected > 0
    # "patient" is covered by "patients"; "quality of life" has no plural head the records use
    assert FormGap("Bowel", "inflammatory bowel disease", "inflammatory bowel diseases", expected) in gaps
    assert not [g for g in gaps if g.term in ("patient", "crohn*")]
    assert all(0 < g.records == sum(g.form in t.lower() for t in texts) for g in gaps)
