"""PRISMA for every kind of review: ``--no-topics``, an updated review's "previous studies"
column, PRISMA 2020's named other-methods sources, and ``prisma.csv`` in the layout of the
PRISMA2020 R package's CSV template."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisma_fixtures import TOPICS, seed_facts
from scoping.cli import cli
from scoping.report.diagram import render
from scoping.report.prisma import (
    PRISMA2020_COLUMNS,
    derive_counts,
    parse_manual,
    to_dict,
    to_prisma2020_csv,
)

DATA = Path(__file__).parent / "data"

# The PRISMA2020 R package's template, inst/extdata/PRISMA.csv (prisma-flowdiagram/PRISMA2020,
# Haddaway et al. 2022): its header, and its data fields in order ("NA" marks a title row).
TEMPLATE_HEADER = ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
TEMPLATE_DATA = [
    "NA",
    "previous_studies",
    "previous_reports",
    "NA",
    "database_results",
    "database_specific_results",
    "register_results",
    "register_specific_results",
    "NA",
    "website_results",
    "organisation_results",
    "citations_results",
    "duplicates",
    "excluded_automatic",
    "excluded_other",
    "records_screened",
    "records_excluded",
    "dbr_sought_reports",
    "dbr_notretrieved_reports",
    "other_sought_reports",
    "other_notretrieved_reports",
    "dbr_assessed",
    "dbr_excluded",
    "other_assessed",
    "other_excluded",
    "new_studies",
    "new_reports",
    "total_studies",
    "total_reports",
    "identification",
    "screening",
    "included",
]

UPDATED = """
[sources]
citation_searching = ["Backward citations"]
websites = ["WHO IRIS"]

[other_methods.sources]
"Backward citations" = 7
"WHO IRIS" = 3

[previous]
studies = 40
reports = 44
"""


def run(root: Path, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _rows(text: str) -> dict[str, str]:
    return {row["data"]: row["n"] for row in csv.DictReader(io.StringIO(text)) if row["data"] != "NA"}


def _svg_text(svg: bytes) -> str:
    return " ".join(re.findall(r">([^<>]+)</text>", svg.decode("utf-8"))).replace("\u00a0", " ")


def test_the_csv_has_the_template_header_and_data_fields() -> None:
    text = to_prisma2020_csv(derive_counts(seed_facts()))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == TEMPLATE_HEADER == list(PRISMA2020_COLUMNS)
    assert [row[0] for row in rows[1:]] == TEMPLATE_DATA
    assert all(len(row) == len(TEMPLATE_HEADER) for row in rows)


def test_the_csv_numbers_are_those_of_the_json() -> None:
    counts = derive_counts(seed_facts())
    data, rows = to_dict(counts), _rows(to_prisma2020_csv(counts))
    ident, scr, inc = data["identification"], data["screening"], data["included"]
    assert rows["database_results"] == str(ident["databases_total"]["n"])
    assert rows["database_specific_results"] == "; ".join(
        f"{d['name']}, {d['n']}" for d in ident["databases"]
    )
    assert rows["duplicates"] == str(ident["duplicates_removed"]["n"])
    assert rows["records_screened"] == str(scr["records_screened"]["n"])
    assert rows["records_excluded"] == str(scr["records_excluded"]["n"])
    assert rows["dbr_notretrieved_reports"] == str(scr["reports_not_retrieved"]["n"])
    assert rows["dbr_excluded"] == "; ".join(
        f"{r['name']}, {r['n']}" for r in scr["reports_excluded_reasons"]
    )
    assert rows["new_studies"] == rows["total_studies"] == str(inc["studies"]["n"])
    assert rows["previous_studies"] == "0" and data["previous"] is None


def test_an_updated_review_has_the_previous_column_and_the_totals() -> None:
    counts = derive_counts(seed_facts(), parse_manual(UPDATED))
    data = to_dict(counts)
    new = data["included"]["studies"]["n"]
    assert data["previous"]["studies"] == {"n": 40, "source": "manual", "complete": True, "note": None}
    assert data["previous"]["total_studies"]["n"] == 40 + new
    assert data["previous"]["total_reports"]["n"] == 44 + data["included"]["reports"]["n"]
    kinds = {s["name"]: s.get("kind") for s in data["other_methods"]["sources"]}
    assert kinds == {"Backward citations": "citation_searching", "WHO IRIS": "websites"}
    rows = _rows(to_prisma2020_csv(counts))
    assert (rows["previous_studies"], rows["previous_reports"]) == ("40", "44")
    assert rows["total_studies"] == str(40 + new) and rows["new_studies"] == str(new)
    assert (rows["website_results"], rows["citations_results"], rows["organisation_results"]) == (
        "3",
        "7",
        "0",
    )
    text = _svg_text(render(counts, "svg"))
    for words in (
        "Previous studies",
        "Identification of new studies via databases and registers",
        "New studies included in review",
        "Total studies included in review",
        "Websites: WHO IRIS (n = 3)",
        "Citation searching: Backward citations (n = 7)",
    ):
        assert words in text, words
    assert f"(n = {40 + new:,})" in text


def test_a_new_review_keeps_the_new_review_template() -> None:
    text = _svg_text(render(derive_counts(seed_facts()), "svg"))
    assert "Previous studies" not in text and "New studies" not in text
    assert "Identification of studies via databases and registers" in text


def test_a_kind_is_one_of_prismas_and_a_source_has_one() -> None:
    from scoping.errors import ConfigError

    with pytest.raises(ConfigError, match="use one of registers, other_methods, websites"):
        parse_manual('[sources]\nblogs = ["X"]\n')
    with pytest.raises(ConfigError, match="'X' is listed under both websites and organisations"):
        parse_manual('[sources]\nwebsites = ["X"]\norganisations = ["X"]\n')
    with pytest.raises(ConfigError, match="has no key 'total_studies'"):
        parse_manual("[previous]\ntotal_studies = 3\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    previous=st.one_of(st.none(), st.tuples(st.integers(0, 5000), st.integers(0, 5000))),
    kinds=st.lists(
        st.tuples(st.sampled_from(["websites", "organisations", "citation_searching"]), st.integers(0, 900)),
        max_size=5,
    ),
    unscreened=st.integers(0, 3000),
)
def test_every_template_count_adds_up(
    previous: tuple[int, int] | None, kinds: list[tuple[str, int]], unscreened: int
) -> None:
    """Whatever the previous version and the other-methods sources, the template's numbers
    are the JSON's and its totals are previous + new."""
    lines = ["[sources]"]
    for kind in {k for k, _ in kinds}:
        names = [f'"{kind} {i}"' for i, (k, _) in enumerate(kinds) if k == kind]
        lines.append(f"{kind} = [{', '.join(names)}]")
    if kinds:
        lines.append("[other_methods.sources]")
        lines += [f'"{kind} {i}" = {n}' for i, (kind, n) in enumerate(kinds)]
    if previous is not None:
        lines += ["[previous]", f"studies = {previous[0]}", f"reports = {previous[1]}"]
    counts = derive_counts(seed_facts(unscreened=unscreened), parse_manual("\n".join(lines) + "\n"))
    data, rows = to_dict(counts), _rows(to_prisma2020_csv(counts))
    for kind, field in (
        ("websites", "website_results"),
        ("organisations", "organisation_results"),
        ("citation_searching", "citations_results"),
    ):
        assert rows[field] == str(sum(n for k, n in kinds if k == kind))
    new = data["included"]["studies"]["n"]
    if previous is None:
        assert rows["total_studies"] == rows["new_studies"] == ("NA" if new is None else str(new))
    else:
        assert rows["previous_studies"] == str(previous[0])
        total = data["previous"]["total_studies"]["n"]
        assert total == (None if new is None else previous[0] + new)
        assert rows["total_studies"] == ("NA" if total is None else str(total))
    screened = data["screening"]["records_screened"]["n"]
    assert rows["records_screened"] == ("NA" if screened is None else str(screened))
    if rows["records_screened"] != "NA" and data["screening"]["records_screened"]["complete"]:
        assert int(rows["records_screened"]) - int(rows["records_excluded"]) == int(
            rows["dbr_sought_reports"]
        )


# -- --no-topics on a real review with a topic fit -----------------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scoping.ingest import inspect_file, iter_records
    from scoping.review import init_review
    from scoping.topics import api as topics_api

    root = tmp_path_factory.mktemp("kinds") / "rv"
    review = init_review(root)
    assert run(root, "import", str(DATA / "asreview/embase.ris"), "--source", "Embase")[0] == 0
    records = list(iter_records(inspect_file(DATA / "topics" / "Sep_2021.csv")))
    with review.open_store() as store:
        works = topics_api.works_from_records(records, source="a labelled review").works
        topics_api.fit_topics(store, works, source="a labelled review", made_by="lead", n_topics=2)
    return root


def test_no_topics_leaves_the_topic_box_out_of_every_output(fitted: Path) -> None:
    code, _, err = run(fitted, "prisma")
    assert code == 0, err
    with_topics = json.loads((fitted / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    labels = [t["name"] for t in with_topics["included"]["topics"]]
    assert len(labels) == 2
    svg = (fitted / "outputs" / "prisma.svg").read_text(encoding="utf-8")
    assert "Included sources by topic" in svg

    code, out, err = run(fitted, "prisma", "--no-topics")
    assert code == 0, err
    assert "Topics:" not in out
    data = json.loads((fitted / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    assert data["included"]["topics"] == []
    svg = (fitted / "outputs" / "prisma.svg").read_text(encoding="utf-8")
    assert "Included sources by topic" not in svg
    assert data["identification"] == with_topics["identification"]  # nothing else changes

    code, _, err = run(fitted, "report", "--no-topics")
    assert code == 0, err
    page = (fitted / "outputs" / "report.html").read_text(encoding="utf-8")
    figure = page[page.index('class="diagram"') :]
    figure = figure[: figure.index("</svg>")]
    assert "Included sources by topic" not in figure
    run(fitted, "report")
    page = (fitted / "outputs" / "report.html").read_text(encoding="utf-8")
    assert "Included sources by topic" in page


def test_topics_seed_is_drawn_without_the_flag() -> None:
    text = _svg_text(render(derive_counts(seed_facts()), "svg"))
    assert all(f"{name} (n = {n:,})" in text for name, n in TOPICS)
