"""``scoping export --included``, ``--format asreview`` and ``scoping decisions export``: a real
review (the cardiac exports, de-duplicated) screened at both stages by two reviewers and a lead,
exported, and every file read back by a reference parser (rispy, bibtexparser, pandas) or by
``scoping simulate``. What is expected comes from the front door's own tables (outcomes, works,
decisions), never typed in."""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

import bibtexparser
import pandas as pd
import pytest
import rispy
from click.testing import CliRunner

import scoping.cli.simulate_cmd  # noqa: F401  (registers 'scoping simulate')
from scoping import screen
from scoping.app import Review
from scoping.cli import cli
from scoping.report.exports import DECISION_EXPORT_COLUMNS
from test_screen_support import LEAD, cached_review

TA, FT = screen.TITLE_ABSTRACT, screen.FULL_TEXT


def run(root: Path, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def ok(root: Path, *args: str) -> str:
    code, out, err = run(root, *args)
    assert code == 0, (args, out, err)
    return out


def _decide(review: Review, stage: str, name: str, chosen: dict[int, str]) -> None:
    protocol = review.protocol()
    sheet = review.root / f"{name}-{stage}.csv"
    rows = "".join(f"{w},{d},{'wrong design' if d == 'exclude' else ''},\n" for w, d in chosen.items())
    sheet.write_text(f"work_id,decision,reason,note\n{rows}", encoding="utf-8")
    with review.open_store() as store:
        report = screen.load_decisions_csv(store, protocol, name, stage, sheet)
    assert not report.errors, report.errors


def _screen_title_abstract(review: Review) -> list[int]:
    """Every fourth work included by both; one disagreement the lead settles; returns the
    works both included."""
    protocol = review.protocol()
    with review.open_store() as store:
        screen.assign_works(store, protocol, LEAD, [TA])
        works = screen.eligible_works(store, TA)
    keep = works[::4]
    alice = {w: "include" if w in keep else "exclude" for w in works}
    bob = dict(alice)
    bob[works[1]] = "include"  # a conflict
    _decide(review, TA, "alice", alice)
    _decide(review, TA, "bob", bob)
    review.resolve(LEAD, works[1], "exclude", stage=TA, reason="wrong population", note="no heart")
    return keep


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """Both stages screened: at full text two works excluded, one not retrieved, the rest
    included."""
    review = Review.of(cached_review(tmp_path_factory.mktemp("exports") / "rv"))
    keep = _screen_title_abstract(review)
    with review.open_store() as store:
        screen.assign_works(store, review.protocol(), LEAD, [FT])
    chosen = {w: "include" for w in keep}
    chosen[keep[0]] = chosen[keep[1]] = "exclude"
    chosen[keep[2]] = "not-retrieved"
    _decide(review, FT, "alice", chosen)
    _decide(review, FT, "bob", chosen)
    return review


def _included(review: Review, stage: str) -> list[int]:
    outcomes = review.outcomes()
    chosen = outcomes[(outcomes["stage"] == stage) & (outcomes["outcome"] == "include")]
    return sorted(int(w) for w in chosen["work_id"])


def _titles(review: Review) -> dict[int, str]:
    works = review.works()
    return {int(w): t for w, t in zip(works["work_id"], works["title"], strict=True)}


def test_included_ris_is_one_record_per_included_work_read_back_by_rispy(
    screened: Review, tmp_path: Path
) -> None:
    target = tmp_path / "included.ris"
    out = ok(screened.root, "export", "--included", "--format", "ris", "--out", str(target))
    expected = _included(screened, FT)  # the default: the last stage with final decisions
    assert expected and len(expected) < len(_included(screened, TA))
    assert out == f"Wrote {len(expected)} works to {target}\n"
    with open(target, encoding="utf-8") as stream:
        entries = rispy.load(stream)
    notes = [dict(n.split(": ", 1) for n in e["notes"]) for e in entries]
    assert [int(n["work_id"]) for n in notes] == expected
    assert {n["stage"] for n in notes} == {FT} and {n["decision"] for n in notes} == {"include"}
    titles = _titles(screened)
    assert [e["title"] for e in entries] == [titles[w] for w in expected]


def test_included_bibtex_read_back_by_bibtexparser(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "included.bib"
    ok(screened.root, "export", "--included", "--format", "bib", "--out", str(target))
    with open(target, encoding="utf-8") as stream:
        entries = bibtexparser.load(stream).entries
    expected = _included(screened, FT)
    assert sorted(int(e["work_id"]) for e in entries) == expected
    assert {e["decision"] for e in entries} == {"include"} and {e["stage"] for e in entries} == {FT}
    assert len({e["ID"] for e in entries}) == len(entries)  # citation keys are unique


def test_included_csv_at_title_abstract_read_back_by_pandas(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "included.csv"
    ok(screened.root, "export", "--included", "--stage", TA, "--format", "csv", "--out", str(target))
    frame = pd.read_csv(target, keep_default_na=False)
    assert list(frame.columns[:5]) == ["work_id", "stage", "decision", "reason", "resolved_by"]
    assert list(frame["work_id"]) == _included(screened, TA)
    titles = _titles(screened)
    assert list(frame["title"]) == [titles[w] for w in frame["work_id"]]
    assert set(frame["stage"]) == {TA}


def test_the_resolver_and_reason_of_a_settled_work_are_exported(screened: Review, tmp_path: Path) -> None:
    """A work a lead settled carries who settled it (here at title-abstract, included)."""
    review = Review.of(cached_review(tmp_path / "rv"))
    keep = _screen_title_abstract(review)
    works = sorted(int(w) for w in review.outcomes()["work_id"])
    review.resolve(LEAD, keep[0], "include", stage=TA, note="checked")
    target = tmp_path / "ta.csv"
    # (full text has not begun, so screening is under way: the lead exports)
    ok(review.root, "export", "--included", "--format", "csv", "--out", str(target), "--reviewer", LEAD)
    frame = pd.read_csv(target, keep_default_na=False).set_index("work_id")
    assert list(frame.index) == _included(review, TA) and len(works) > len(frame)
    assert frame.loc[keep[0], "resolved_by"] == LEAD
    assert set(frame.drop(index=keep[0])["resolved_by"]) == {""}


def test_a_reviewer_gets_no_included_works_while_screening_is_under_way(tmp_path: Path) -> None:
    """Which works are included (or labelled 1) tells how the others decided: a lead's only,
    until screening is over."""
    review = Review.of(cached_review(tmp_path / "rv"))
    with review.open_store() as store:
        screen.assign_works(store, review.protocol(), LEAD, [TA])
        works = screen.eligible_works(store, TA)
    _decide(review, TA, "alice", {w: "include" for w in works[:5]})
    _decide(review, TA, "bob", {w: "include" for w in works[:5]})
    target = tmp_path / "x.ris"
    for args in (("--included", "--format", "ris"), ("--format", "asreview")):
        code, out, err = run(review.root, "export", *args, "--out", str(target))
        assert (code, out) == (1, "") and "screening is under way" in err and err.count("\n") == 1
        assert not target.exists()
    code, _, err = run(
        review.root, "export", "--included", "--format", "ris", "--out", str(target), "--reviewer", "alice"
    )
    assert code == 1 and not target.exists()
    ok(review.root, "export", "--included", "--format", "ris", "--out", str(target), "--reviewer", LEAD)
    assert target.read_text(encoding="utf-8").count("ER  -") == 5


def test_export_before_any_final_decision_says_what_to_do(tmp_path: Path) -> None:
    review = cached_review(tmp_path / "rv")
    target = tmp_path / "x.ris"
    code, out, err = run(review.root, "export", "--included", "--format", "ris", "--out", str(target))
    assert (code, out) == (1, "") and err.startswith("Error: no work has a final screening decision")
    assert err.count("\n") == 1 and not target.exists()
    code, _, err = run(review.root, "export", "--format", "ris", "--stage", TA, "--out", str(target))
    assert code == 1 and "--stage goes with --included" in err and not target.exists()
    code, _, err = run(review.root, "export", "--included", "--format", "asreview", "--out", str(target))
    assert code == 1 and "drop --included" in err and not target.exists()


def test_asreview_labels_are_read_back_by_scoping_simulate(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "labelled.csv"
    ok(screened.root, "export", "--format", "asreview", "--stage", TA, "--out", str(target))
    frame = pd.read_csv(target, keep_default_na=False)
    for column in ("title", "abstract", "doi", "authors", "year", "label_included"):
        assert column in frame.columns
    outcomes = screened.outcomes()
    at_ta = outcomes[outcomes["stage"] == TA].set_index("work_id")["outcome"]
    assert list(frame["work_id"]) == sorted(int(w) for w in at_ta.index)
    expected = [1 if at_ta[w] == "include" else 0 for w in frame["work_id"]]
    assert list(frame["label_included"]) == expected
    # ...and scoping simulate takes it as a labelled review
    out_dir = tmp_path / "sim"
    out = ok(
        tmp_path,
        "simulate",
        str(target),
        "--label-column",
        "label_included",
        "--seeds",
        "1",
        "--json",
        "--no-plot",
        "--out-dir",
        str(out_dir),
    )
    result = json.loads(out)
    assert (result["n_records"], result["n_includes"]) == (len(expected), sum(expected))
    assert result["label_column"] == "label_included" and len(result["runs"]) == 1


def test_asreview_labels_at_full_text_count_earlier_exclusions_as_zero(
    screened: Review, tmp_path: Path
) -> None:
    target = tmp_path / "labelled-ft.csv"
    ok(screened.root, "export", "--format", "asreview", "--out", str(target))
    frame = pd.read_csv(target, keep_default_na=False).set_index("work_id")
    assert [int(w) for w in frame.index[frame["label_included"] == 1]] == _included(screened, FT)
    outcomes = screened.outcomes()
    ta_out = outcomes[(outcomes["stage"] == TA) & (outcomes["outcome"] == "exclude")]["work_id"]
    assert set(frame.loc[[int(w) for w in ta_out], "label_included"]) == {0}


def test_decisions_export_has_every_decision_with_its_resolution(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "decisions.csv"
    out = ok(screened.root, "decisions", "export", "--reviewer", LEAD, "--out", str(target))
    history = screened.decisions()
    assert out == f"Wrote {len(history):,} decisions to {target}\n"
    with open(target, encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == DECISION_EXPORT_COLUMNS
        rows = list(reader)
    assert [int(r["decision_id"]) for r in rows] == list(history["id"])
    assert [r["decision"] for r in rows] == list(history["decision"])
    settled = [r for r in rows if r["resolution"]]
    assert settled and {r["resolved_by"] for r in settled} == {LEAD}
    assert {r["resolution_reason"] for r in settled} == {"wrong population"}
    assert {r["outcome"] for r in settled} == {"exclude"}
    assert len({(r["work_id"], r["stage"]) for r in settled}) == 1 and len(settled) == 2


def test_decisions_export_is_for_a_lead_only(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "decisions.csv"
    code, out, err = run(screened.root, "decisions", "export", "--reviewer", "alice", "--out", str(target))
    assert (code, out) == (1, "") and err.count("\n") == 1 and "only a lead" in err
    assert not target.exists()
    code, _, err = run(screened.root, "decisions", "export", "--reviewer", LEAD)
    assert code == 2 and "--out" in err
    # the reviewer's own list is still 'scoping decisions'
    out = ok(screened.root, "decisions", "--reviewer", "alice", "--decision", "not-retrieved")
    assert "Decisions of alice" in out


def test_a_missing_folder_is_an_error_and_nothing_is_written(screened: Review, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "included.ris"
    code, _, err = run(screened.root, "export", "--included", "--format", "ris", "--out", str(target))
    assert code == 1 and "does not exist" in err and err.count("\n") == 1
    assert not target.parent.exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.postgres
def test_the_exports_on_a_team_store_in_postgresql(pg_server: Any, tmp_path: Path) -> None:
    """The same exports from a shared PostgreSQL store (team mode)."""
    review = Review.of(cached_review(tmp_path / "rv", server=pg_server))
    _screen_title_abstract(review)
    target = tmp_path / "included.ris"
    db = ("--db", str(review.db))
    ok(review.root, "export", "--included", "--format", "ris", "--out", str(target), "--reviewer", LEAD, *db)
    with open(target, encoding="utf-8") as stream:
        entries = rispy.load(stream)
    notes = [dict(n.split(": ", 1) for n in e["notes"]) for e in entries]
    assert [int(n["work_id"]) for n in notes] == _included(review, TA)
    decisions = tmp_path / "decisions.csv"
    ok(review.root, "decisions", "export", "--reviewer", LEAD, "--out", str(decisions), *db)
    frame = pd.read_csv(decisions, keep_default_na=False)
    assert list(frame["decision_id"]) == list(review.decisions()["id"])
    assert set(frame.loc[frame["resolution"] != "", "resolved_by"]) == {LEAD}
