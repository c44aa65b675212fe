"""What the dedupe and screening commands say about works joined or split after screening,
and about doubtful duplicate pairs still waiting (issue 14, point 3). Real records: the
doubtful pairs of the dedupe CLI tests and the ASySD cardiac slice in tests/data."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from scoping.cli import cli
from scoping.dedupe import api as dedupe_api
from scoping.report.api import prisma_counts
from scoping.review import Review
from scoping.screen import TITLE_ABSTRACT, assign_works, final_outcomes, load_protocol, record_decision
from scoping.store import Store
from scoping.store import dedupe_tables as dt
from test_screen_support import LEAD, PROTOCOL, cached_review

TA = TITLE_ABSTRACT


def _outcome(store: Store, work: int) -> str | None:
    found = final_outcomes(store, TA).get(work)
    return found.outcome if found else None


# -- what the commands say -------------------------------------------------------------------

DOUBTFUL = """ID,title,author,year,journal
d1,Peer support in early intervention services for psychosis,"Smith, J and Jones, K",2019,J Psych
d2,Peer support in early intervention services for psychosis,"Smith, J. and Jones, K.",2020,
d3,Recovery narratives of peer workers in community mental health teams,"Brown, A",2015,
d4,Recovery narratives of peer workers in community mental health teams,"Brown A",2016,BMC Psych
d5,Training needs of peer support workers: a survey of employers,"Green, P",2012,
d6,Training needs of peer support workers: a survey of employers,"Green, P",2013,
"""


def run(review: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--review", str(review), *args], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.fixture
def doubtful(tmp_path: Path) -> Path:
    root = tmp_path / "rv"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    (root / "screening" / "protocol.toml").write_text(PROTOCOL, encoding="utf-8")
    path = root / "doubtful.csv"
    path.write_text(DOUBTFUL, encoding="utf-8")
    assert run(root, "import", str(path), "--source", "S")[0] == 0
    out = run(root, "dedupe")[1]
    assert "3 doubtful pairs kept for review" in out
    return root


def _first_pair(review: Path) -> tuple[int, int]:
    with Store.open(str(review / "screening" / "review.db")) as store:
        item = dedupe_api.review_queue(store)[0]
        works = dt.works_of(store, [item.pair.record_a, item.pair.record_b])
    return works[item.pair.record_a], works[item.pair.record_b]


def test_assign_and_screen_say_that_doubtful_pairs_wait(doubtful: Path) -> None:
    code, out = run(doubtful, "assign", "--reviewer", LEAD)
    assert code == 0
    line = "3 doubtful duplicate pairs still wait: decide them with 'scoping dedupe review'"
    assert line in out
    code, out = run(doubtful, "screen", "--reviewer", "alice", "--plain", input="q\n")
    assert code == 0 and line in out
    run(doubtful, "dedupe", "review", "--reviewer", LEAD, input="d\nd\nd\n")
    code, out = run(doubtful, "screen", "--reviewer", "alice", "--plain", input="q\n")
    assert "doubtful" not in out


def test_prisma_duplicates_are_not_complete_while_pairs_wait(doubtful: Path, tmp_path: Path) -> None:
    counts = prisma_counts(Review(root=doubtful))
    box = counts.identification.duplicates_removed
    assert (box.n, box.complete) == (0, False)
    assert box.note and "3 doubtful pairs of records still to decide" in box.note
    assert any(c.id == "dedupe-doubtful" and not c.ok for c in counts.checks)
    out_file = tmp_path / "prisma.json"
    run(doubtful, "prisma", "--format", "json", "--out", str(out_file))
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["identification"]["duplicates_removed"]["complete"] is False
    run(doubtful, "dedupe", "review", "--reviewer", LEAD, input="s\nd\nd\n")
    box = prisma_counts(Review(root=doubtful)).identification.duplicates_removed
    assert (box.n, box.complete, box.note) == (1, True, None)


def _screen_first_pair(review: Path) -> tuple[int, int]:
    keep, gone = sorted(_first_pair(review))
    run(review, "assign", "--reviewer", LEAD)
    protocol = load_protocol(review / "screening" / "protocol.toml")
    with Store.open(str(review / "screening" / "review.db")) as store:
        for who in ("alice", "bob"):
            record_decision(store, protocol, who, TA, keep, "exclude", reason="wrong design")
            record_decision(store, protocol, who, TA, gone, "include")
    return keep, gone


def test_dedupe_review_tells_the_lead_what_a_join_does_to_screening(doubtful: Path) -> None:
    keep, gone = _screen_first_pair(doubtful)
    code, out = run(doubtful, "dedupe", "review", "--reviewer", LEAD, "--limit", "1", input="s\n")
    assert code == 0
    said = out.index("Screening: ")
    assert said < out.index("Same work?")  # before the answer
    assert (
        f"Screening: work {gone} (title-abstract: include - alice include, bob include) would join "
        f"work {keep} (title-abstract: exclude (wrong design) - alice exclude (wrong design), "
        "bob exclude (wrong design))." in out
    )
    assert "Their outcomes differ at title-abstract: the joined work goes to the lead as a conflict" in out
    code, out = run(doubtful, "conflicts", "--reviewer", LEAD)
    assert f"work {keep} (joined works differ)" in out
    assert f"work {keep}: exclude (wrong design); work {gone}: include" in out


def test_dedupe_review_is_blinded_for_a_reviewer(doubtful: Path) -> None:
    keep, gone = _screen_first_pair(doubtful)
    code, out = run(doubtful, "dedupe", "review", "--reviewer", "alice", "--limit", "1", input="q\n")
    assert code == 0
    assert (
        f"Screening: work {gone} (title-abstract: yours include) would join work {keep} "
        "(title-abstract: yours exclude (wrong design))." in out
    )
    assert "bob" not in out and "outcomes differ" not in out
    code, out = run(doubtful, "dedupe", "review", "--reviewer", "carol", "--limit", "1", input="q\n")
    assert (
        f"Screening: work {gone} (no decision of yours) would join work {keep} (no decision of yours)." in out
    )
    assert "alice" not in out


def test_dedupe_undo_says_what_a_split_does_and_asks(doubtful: Path) -> None:
    keep, gone = _screen_first_pair(doubtful)
    run(doubtful, "dedupe", "review", "--reviewer", LEAD, "--limit", "1", input="s\n")
    code, out = run(doubtful, "dedupe", "undo", str(keep), "--by", LEAD, input="n\n")
    assert code == 0
    assert f"Screening: work {keep} (title-abstract: conflict" in out
    assert "Each of its 2 parts keeps the decisions made on it" in out
    assert out.rstrip().endswith("Nothing changed.")
    code, out = run(doubtful, "dedupe", "undo", str(keep), "--by", LEAD, input="y\n")
    assert f"Split work {keep} into 2 works" in out
    with Store.open(str(doubtful / "screening" / "review.db")) as store:
        assert _outcome(store, keep) == "exclude" and _outcome(store, gone) == "include"


def test_a_dedupe_run_says_which_screened_works_join(tmp_path: Path) -> None:
    review = cached_review(tmp_path / "rv")
    protocol = load_protocol(review.protocol_path)
    with review.open_store() as store:
        assign_works(store, protocol, LEAD, [TA])
        works: dict[int, list[int]] = {}
        for rid, work in dt.load_assignment(store).items():
            works.setdefault(work, []).append(rid)
        work = min(w for w, members in works.items() if len(members) == 2)
        other = max(works[work])
        with store.engine.begin() as conn:
            conn.execute(
                sa.update(dt.record_work).where(dt.record_work.c.record_id == other).values(work_id=other)
            )
        assign_works(store, protocol, LEAD, [TA])
        record_decision(store, protocol, "alice", TA, other, "include")
    with contextlib.chdir(review.root):
        result = CliRunner(env={"SCOPING_REVIEWER": "alice"}).invoke(cli, ["dedupe", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert f"Screening: work {other} (title-abstract: yours include) joins work {work}" in result.stdout
