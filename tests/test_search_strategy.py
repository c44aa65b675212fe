"""strategy.toml: the worked example, the template, and a clear message for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoping.errors import ConfigError
from scoping.search import load_strategy, parse_strategy

REPO = Path(__file__).resolve().parent.parent

BLOCKS = """
[[block]]
name = "Peer support"
terms = ["peer support", "peer worker*"]

[[block]]
name = "Mental health"
terms = ["mental health", "psychiatric"]
"""


def test_worked_example() -> None:
    s = load_strategy(REPO / "searches" / "strategy.toml")
    assert [b.name for b in s.blocks] == ["Peer support", "Mental health"]
    assert [t.text for t in s.blocks[0].terms] == [
        "peer support",
        "peer worker*",
        "consumer worker*",
        "lived experience worker*",
        "expert by experience",
        "family peer support",
        "peer led support",
    ]
    assert [t.text for t in s.blocks[1].terms] == [
        "mental health",
        "psychiatric",
        "mental illness*",
        "CAMHS",
        "child and adolescent mental health service*",
        "forensic psych*",
        "specialist mental health service*",
    ]
    assert all(b.fields == ("title", "abstract", "keywords") and not b.exclude for b in s.blocks)
    assert (s.limits.from_year, s.limits.to_year, s.limits.languages) == (1990, None, ("English",))
    assert [(d.name, d.platform) for d in s.databases] == [
        ("SSCI", "wos"),
        ("PsycINFO", "ovid"),
        ("MEDLINE", "pubmed"),
        ("Social Policy and Practice", "ovid"),
    ]


def test_template_is_valid_and_what_init_writes(tmp_path: Path) -> None:
    from scoping.review import init_review

    template = REPO / "src" / "scoping" / "templates" / "strategy.toml"
    s = load_strategy(template)
    assert s.blocks and s.databases
    review = init_review(tmp_path / "r")
    assert review.strategy_path.read_text(encoding="utf-8") == template.read_text(encoding="utf-8")


def test_terms_phrases_truncation_and_quotes() -> None:
    s = parse_strategy(
        '[[block]]\nname = "A"\nterms = [\'"peer  support"\', "worker*", "lived experience work*"]\n'
    )
    terms = s.blocks[0].terms
    assert [t.text for t in terms] == ["peer support", "worker*", "lived experience work*"]
    assert [(t.phrase, t.truncated) for t in terms] == [(True, False), (False, True), (True, True)]
    assert terms[2].plain == "lived experience work"


def test_exclude_block_fields_and_database_options() -> None:
    s = parse_strategy(
        BLOCKS
        + """
[[block]]
name = "Animals"
exclude = true
terms = ["mice"]
fields = "title"

[limits]
from_year = 1990
to_year = 2020
languages = ["english", "French"]
document_types = ["article", "review"]

[databases]
PsycINFO = { platform = "ovid", keywords_field = "id" }
Crossref = { platform = "crossref", max_records = 50, ignore_limits = ["languages", "document_types"] }

[search]
email = "a@b.org"
"""
    )
    assert [b.name for b in s.include] == ["Peer support", "Mental health"]
    assert [(b.name, b.fields) for b in s.exclude] == [("Animals", ("title",))]
    assert s.limits.languages == ("English", "French")
    assert s.databases[0].keywords_field == "id"
    assert (s.databases[1].max_records, s.databases[1].ignore_limits) == (50, ("languages", "document_types"))
    assert s.email == "a@b.org"
    assert s.database("crossref").name == "Crossref"
    assert s.database("europepmc").name == "Europe PMC"  # a platform the strategy does not list


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[[block]]\nname = "Peer"\nterms = []\n', ["block 'Peer' is empty", "at least one term"]),
        ('[[block]]\nname = "Peer"\n', ["block 'Peer' has no terms"]),
        (
            '[[block]]\nname = "Peer"\nterms = [\'"peer support\']\n',
            ["block 'Peer', term 1", "unbalanced quote"],
        ),
        (
            '[[block]]\nname = "Peer"\nterms = ["ok", \'peer "support" work\']\n',
            ["term 2", "quotes inside a term"],
        ),
        (
            '[[block]]\nname = "Peer"\nterms = ["peer OR support"]\n',
            ["OR inside a term", "one term per entry"],
        ),
        ('[[block]]\nname = "Peer"\nterms = ["wo*rk"]\n', ["* can only end a word"]),
        ('[[block]]\nname = "Peer"\nterms = ["ps*"]\n', ["too short a stem"]),
        ('[[block]]\nname = "Peer"\nterms = ["peer (support)"]\n', ["'(' is not allowed"]),
        ('[[block]]\nname = "Peer"\nterms = ["a", "A"]\n', ["'A' is listed twice"]),
        ('[[block]]\nname = "Peer"\nterms = ["a"]\nfields = ["title", "body"]\n', ["unknown field 'body'"]),
        ('[[block]]\nterms = ["a"]\n', ["block 1 has no name"]),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[[block]]\nname = "a"\nterms = ["b"]\n',
            ["two blocks are called"],
        ),
        ('[[block]]\nname = "A"\nterms = ["a"]\nexclude = true\n', ["every block has exclude = true"]),
        ('[review]\ntitle = "x"\n', ["no [[block]] of terms"]),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[limits]\nlanguages = ["Klingon"]\n',
            ["unknown language 'Klingon'"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[limits]\ndocument_types = ["thesis"]\n',
            ["unknown document type 'thesis'"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[limits]\nfrom_year = 2020\nto_year = 1990\n',
            ["from_year 2020 is after to_year 1990"],
        ),
        ('[[block]]\nname = "A"\nterms = ["a"]\n[limits]\nfrom_year = "1990"\n', ["must be a year"]),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[databases]\nMEDLINE = "medline-online"\n',
            ["unknown platform 'medline-online'", "pubmed"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[limits]\nlanguages = ["English"]\n[databases]\n'
            'Crossref = "crossref"\n',
            [
                "'Crossref'",
                "limit languages cannot be applied",
                "no language filter",
                'ignore_limits = ["languages"]',
            ],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[limits]\ndocument_types = ["preprint"]\n[databases]\n'
            'SSCI = "wos"\n',
            ["limit document_types cannot be applied", "cannot limit to preprint"],
        ),
        ('[[block]]\nname = "A"\nterms = ["a"]\n[databas]\n', ["unknown section [databas]"]),
        ('[[block]\nname = "A"\n', ["is not valid TOML"]),
        ('[[block]]\nname = "A"\nterms = ["a"]\n[search]\nemail = "nobody"\n', ["must be an e-mail address"]),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[search]\napi_key = "x"\n',
            ["[search] has an unknown key 'api_key'", "pubmed_batch"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["peer ~x work"]\n',
            ["write a proximity term as two words and the most words between them"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[[block.heading]]\nvocabulary = "icd"\nterm = "X"\n',
            ["heading 1: vocabulary must be one of mesh, apa, emtree, cinahl"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[[block.heading]]\nvocabulary = "mesh"\nterm = "X/y"\n',
            ["term must be the heading as the vocabulary writes it"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a"]\n[search]\nopenalex_api_key = "x"\n',
            ["[search] openalex_api_key: API keys do not belong in the strategy file", "OPENALEX_API_KEY"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["a*b"]\n',
            ["can only end a word"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["worker*"]\n[variants]\n"nurse*" = ["nurses"]\n',
            ["[variants] 'nurse*' is not a truncated term of any block"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["worker*"]\n[variants]\n"worker*" = ["work*"]\n',
            ["'work*' is truncated; write each form out in full"],
        ),
        (
            '[[block]]\nname = "A"\nterms = ["worker*"]\n[databases]\n'
            'X = { platform = "ovid", exact_fields = true }\n',
            ["exact_fields is for Web of Science and Scopus"],
        ),
    ],
)
def test_mistakes_have_clear_messages(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_strategy(text, "searches/strategy.toml")
    message = str(info.value)
    assert message.startswith("searches/strategy.toml"), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_strategy(tmp_path / "strategy.toml")


def test_unknown_database_name() -> None:
    s = parse_strategy(BLOCKS + '[databases]\nMEDLINE = "pubmed"\n')
    with pytest.raises(ConfigError, match=r"no database or platform called 'Embase'.*MEDLINE"):
        s.database("Embase")


def test_public_api() -> None:
    import scoping.search

    for name in scoping.search.__all__:
        assert hasattr(scoping.search, name), name
    assert {"load_strategy", "translate", "plan", "run_search", "search_log", "term_counts"} <= set(
        scoping.search.__all__
    )


def test_the_documented_example_is_a_valid_strategy() -> None:
    """The strategy file shown in scoping.search.strategy's docstring parses as written."""
    import scoping.search.strategy as module

    assert module.__doc__ is not None
    example = module.__doc__.split("::\n\n", 1)[1].split("\n\n\n", 1)[0]
    lines = []
    for line in example.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    s = parse_strategy("\n".join(lines))
    assert [d.name for d in s.databases] == [
        "MEDLINE",
        "Social Policy and Practice",
        "SSCI",
        "Crossref",
        "PsycINFO",
    ]
    assert [t.text for t in s.databases[-1].add_terms["Peer support"]] == ["peer counsel*"]
    assert s.seeds == ("doi:10.1176/appi.ps.201100126", "pmid:22552677")
    assert s.blocks[0].headings[0].term == "Peer Group"
