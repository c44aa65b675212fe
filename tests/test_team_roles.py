"""Team mode on a real PostgreSQL server: 'scoping team setup' makes a role per person, and
row-level security keeps each reviewer's decisions and notes out of every other reviewer's
reach, with any SQL at all (raw psycopg here), while the lead reads them all."""

from __future__ import annotations

import contextlib
import csv
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoping.cli import cli
from scoping.screen.outcomes import final_outcomes
from scoping.store import Store, screen_tables
from scoping.store import team as team_store
from test_screen_support import LEAD, PROTOCOL, cached_review

pytestmark = pytest.mark.postgres


def run(review: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(review):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def role_url(owner_url: str, role: str) -> str:
    """The owner's URL with another role (the test server trusts 127.0.0.1)."""
    return re.sub(r"//[^@/]+@", f"//{role}@", owner_url)


class Team:
    def __init__(self, root: Path, owner: str) -> None:
        self.root = root
        self.owner = owner
        self.prefix = owner.rsplit("/", 1)[1]

    def url(self, person: str) -> str:
        return role_url(self.owner, f"{self.prefix}_{person}")

    def sql(self, person: str | None, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(person) if person else self.owner, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


@pytest.fixture(autouse=True)
def _no_ambient_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCOPING_REVIEWER", raising=False)


@pytest.fixture
def team(tmp_path: Path, pg_server: Any) -> Team:
    review = cached_review(tmp_path / "rv", server=pg_server)
    owner = str(review.db)
    code, out, err = run(review.root, "--db", owner, "team", "setup")
    assert (code, err) == (0, ""), err
    assert "row-level security on decisions, labels and resolutions" in out
    code, _, err = run(review.root, "--db", owner, "assign", "--reviewer", LEAD)
    assert code == 0, err
    return Team(review.root, owner)


def test_setup_makes_a_role_per_person_and_again_adds_new_ones(team: Team) -> None:
    rows = team.sql(None, "SELECT role_name, reviewer, is_lead FROM scoping_team_roles ORDER BY reviewer")
    assert rows == [
        (f"{team.prefix}_alice", "alice", False),
        (f"{team.prefix}_bob", "bob", False),
        (f"{team.prefix}_{LEAD}", LEAD, True),
    ]
    forced = team.sql(
        None,
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relname IN ('screen_decisions', 'screen_labels', 'screen_resolutions') ORDER BY relname",
    )
    assert forced == [
        (name, True, True) for name in ("screen_decisions", "screen_labels", "screen_resolutions")
    ]
    protocol = team.root / "screening" / "protocol.toml"
    protocol.write_text(
        PROTOCOL.replace("[allocation]", '[[reviewer]]\nname = "carol"\nrole = "reviewer"\n\n[allocation]'),
        encoding="utf-8",
    )
    code, out, err = run(team.root, "--db", team.owner, "team", "setup", "--passwords")
    assert (code, err) == (0, "")
    # a password only for the role made now, shown once; the others keep none (pg_hba decides)
    assert out.count("password (shown once): ") == 1
    shown = re.search(r"carol: role \S+ \(reviewer, made now\)\n  password \(shown once\): (\S+)\n", out)
    assert shown is not None
    stored = dict(
        team.sql(
            None,
            f"SELECT rolname, rolpassword IS NOT NULL FROM pg_authid WHERE rolname LIKE '{team.prefix}_%'",
        )
    )
    assert stored[f"{team.prefix}_carol"] is True and stored[f"{team.prefix}_alice"] is False
    assert f"alice: role {team.prefix}_alice (reviewer, already there)" in out
    assert f"carol: role {team.prefix}_carol (reviewer, made now)" in out
    assert f"{LEAD}: role {team.prefix}_{LEAD} (lead, already there)" in out
    assert team.sql("carol", "SELECT current_user") == [(f"{team.prefix}_carol",)]


def _decide(team: Team, person: str, work: int, decision: str, note: str) -> None:
    with Store(team.url(person)) as store:
        screen_tables.add_decision(
            store,
            uid=f"{person}-{work}",
            stage="title-abstract",
            work_id=work,
            reviewer=person,
            decision=decision,
            note=note,
            require_assignment=True,
        )


def test_bob_with_raw_sql_sees_none_of_alices_rows_and_cannot_write_as_her(team: Team) -> None:
    works = [
        w
        for (w,) in team.sql(
            None, "SELECT work_id FROM screen_assignments WHERE reviewer = 'alice' ORDER BY work_id LIMIT 3"
        )
    ]
    for work in works:
        _decide(team, "alice", work, "include", "alice's private note")
    _decide(team, "bob", works[0], "exclude", "bob's note")

    assert team.sql("bob", "SELECT count(*) FROM screen_decisions WHERE reviewer = 'alice'") == [(0,)]
    assert team.sql("bob", "SELECT reviewer, note FROM screen_decisions") == [("bob", "bob's note")]
    assert team.sql("bob", "SELECT count(*) FROM screen_decisions WHERE note LIKE 'alice%'") == [(0,)]
    forged = (
        "INSERT INTO screen_decisions (uid, stage, work_id, reviewer, decision, via, decided_at, written_by) "
        "VALUES (%s, 'title-abstract', %s, %s, 'exclude', 'psql', 'now', %s)"
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        team.sql("bob", forged, ("forged-1", works[1], "alice", f"{team.prefix}_bob"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        team.sql("bob", forged, ("forged-2", works[1], "bob", f"{team.prefix}_alice"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        team.sql("bob", "UPDATE screen_decisions SET decision = 'exclude'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        team.sql("bob", "DELETE FROM screen_decisions")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        team.sql("bob", "ALTER TABLE screen_decisions DISABLE ROW LEVEL SECURITY")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        team.sql(
            "bob",
            "INSERT INTO screen_resolutions (uid, stage, work_id, lead, decision, decided_at, written_by) "
            "VALUES ('r1', 'title-abstract', %s, 'bob', 'include', 'now', current_user)",
            (works[0],),
        )
    # the lead reads every row; the owner's count matches
    lead_rows = team.sql(
        LEAD, "SELECT reviewer, count(*) FROM screen_decisions GROUP BY reviewer ORDER BY reviewer"
    )
    assert lead_rows == [("alice", 3), ("bob", 1)]
    assert team.sql(None, "SELECT count(*) FROM screen_decisions") == [(4,)]
    # what bob may learn: that someone decided those works, not what
    decided = team.sql("bob", "SELECT work_id FROM scoping_team_decided('title-abstract') ORDER BY work_id")
    assert decided == [(w,) for w in works]
    assert team.sql("alice", "SELECT work_id FROM scoping_team_decided('title-abstract')") == [(works[0],)]
    written = team.sql(None, "SELECT DISTINCT written_by FROM screen_decisions ORDER BY 1")
    assert written == [(f"{team.prefix}_alice",), (f"{team.prefix}_bob",)]


def _alices_works(team: Team, n: int) -> list[int]:
    rows = team.sql(
        None,
        "SELECT work_id FROM screen_assignments WHERE reviewer = 'alice' AND stage = 'title-abstract' "
        "ORDER BY work_id LIMIT %s",
        (n,),
    )
    return [w for (w,) in rows]


def _first_once_read(order: Any, ids: list[int], work: int) -> list[int]:
    """``order(ids)`` once its reader (woken by each call, in the background) has read that
    ``work`` was decided by a colleague (at most 30 s)."""
    deadline = time.monotonic() + 30
    while (shown := order(ids))[0] != work and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(shown)


def test_alices_queue_in_team_mode_has_a_mark_of_her_colleagues_rows_and_no_more(team: Team) -> None:
    """Over alice's own role, the mark of the colleagues' decision rows (by the SECURITY
    DEFINER function) moves with bob's new decision, and her queue puts his work first; her own
    decisions leave it alone; and she still reads none of his rows, only three numbers."""
    from scoping.screen.rank_order import TeamOrder, others_mark

    ids = _alices_works(team, 6)
    stage = "title-abstract"
    with Store(team.url("alice")) as store:
        order = TeamOrder(store, stage, "alice")
        try:
            assert order(ids) == ids
            mark = others_mark(store, stage, "alice")
            assert mark is not None
            _decide(team, "alice", ids[1], "include", "")
            assert others_mark(store, stage, "alice") == mark
            _decide(team, "bob", ids[4], "exclude", "bob's note")
            moved = others_mark(store, stage, "alice")
            assert moved is not None and moved != mark
            assert (moved[0] - mark[0], moved[2] - mark[2]) == (1, ids[4])  # one row, on that work
            shown = _first_once_read(order, ids, ids[4])
            assert shown == [ids[4], *(w for w in ids if w != ids[4])]
            assert order(shown) == shown
        finally:
            order.close()
    assert team.sql("alice", "SELECT count(*) FROM screen_decisions WHERE reviewer = 'bob'") == [(0,)]
    assert team.sql("alice", "SELECT reviewer, work_id FROM screen_decisions") == [("alice", ids[1])]
    returned = team.sql("alice", "SELECT * FROM scoping_team_mark('title-abstract')")
    assert returned == [moved]  # the three numbers: no decision, reviewer or note
    # the lead's role has the mark too (of everyone's rows but the lead's own)
    assert team.sql(LEAD, "SELECT n_rows FROM scoping_team_mark('title-abstract')") == [(2,)]


def test_a_team_set_up_before_the_mark_reads_the_colleagues_works_every_time(team: Team) -> None:
    """A database whose team functions predate ``scoping_team_mark`` (until the owner runs
    'scoping team setup' again): no mark, so the queue reads the works after every call, and
    a colleague's decision still comes first."""
    from scoping.screen.rank_order import TeamOrder, others_mark

    team.sql(None, "DROP FUNCTION scoping_team_mark(text)")
    ids = _alices_works(team, 4)
    with Store(team.url("alice")) as store:
        assert others_mark(store, "title-abstract", "alice") is None
        order = TeamOrder(store, "title-abstract", "alice")
        try:
            assert order(ids) == ids
            _decide(team, "bob", ids[2], "exclude", "")
            assert _first_once_read(order, ids, ids[2]) == [ids[2], ids[0], ids[1], ids[3]]
        finally:
            order.close()


def test_the_workflow_runs_under_the_roles_through_the_cli(team: Team) -> None:
    # alice skips the first two works of the shared order and includes the next three
    code, out, err = run(
        team.root, "--db", team.url("alice"), "screen", "--plain", input="s\ns\ni\ni\ni\nq\n"
    )
    assert code == 0, err
    shown = [int(w) for w in re.findall(r"^--- work (\d+) ·", out, flags=re.M)]
    skipped, alice_works = shown[:2], shown[2:5]
    assert "Saved 3 decisions" in out
    # bob's queue starts with the works alice decided (the team's order, read through the
    # SECURITY DEFINER function: bob cannot read her rows), then the ones she skipped
    code, out, err = run(
        team.root,
        "--db",
        team.url("bob"),
        "screen",
        "--reviewer",
        "bob",
        "--plain",
        input="e\n0\ne\n0\ne\n0\nq\n",
    )
    assert code == 0, err
    assert [int(w) for w in re.findall(r"^--- work (\d+) ·", out, flags=re.M)][:4] == [
        *alice_works,
        skipped[0],
    ]
    assert "alice" not in out
    code, out, err = run(team.root, "--db", team.url("bob"), "decisions")
    assert code == 0, err
    assert "include" not in out and out.count("exclude") == 3

    code, out, err = run(team.root, "--db", team.url(LEAD), "conflicts")
    assert code == 0, err
    assert out.startswith("3 conflicts at title-abstract:\n")
    code, out, err = run(team.root, "--db", team.url(LEAD), "resolve", input="i\n\ni\n\nq\n")
    assert code == 0, err
    assert out.endswith("Settled 2 works.\n")
    written = team.sql(None, "SELECT lead, written_by FROM screen_resolutions")
    assert written == [(LEAD, f"{team.prefix}_{LEAD}")] * 2
    code, out, err = run(team.root, "--db", team.url(LEAD), "agreement")
    assert code == 0, err
    assert "alice" in out and "bob" in out
    code, out, err = run(team.root, "--db", team.url(LEAD), "decisions", "export", "--out", "all.csv")
    assert code == 0, err
    with (team.root / "all.csv").open(encoding="utf-8", newline="") as handle:
        exported = Counter(row["reviewer"] for row in csv.DictReader(handle))
    assert exported == {"alice": 3, "bob": 3}  # the lead's role reads every reviewer's rows
    # a reviewer reads the resolution of a work they decided, and no other
    assert len(team.sql("bob", "SELECT * FROM screen_resolutions")) == 2


def test_reviewer_must_match_the_connections_role(team: Team) -> None:
    code, out, err = run(team.root, "--db", team.url("bob"), "status", "--reviewer", "alice")
    assert (code, out) == (1, "")
    assert err == (
        "Error: you are connected as the team role of 'bob', not 'alice'; leave out --reviewer "
        "or connect with 'alice''s own role\n"
    )
    code, out, err = run(team.root, "--db", team.url("bob"), "conflicts", "--reviewer", LEAD)
    assert (code, out, err.count("\n")) == (1, "", 1)
    for command in (("prisma", "--reviewer", LEAD), ("report", "--reviewer", LEAD)):
        code, out, err = run(team.root, "--db", team.url("bob"), *command)
        assert (code, out, err.count("\n")) == (1, "", 1), command
        assert "connected as the team role of 'bob'" in err
    code, out, err = run(
        team.root, "--db", team.url("bob"), "decisions", "export", "--reviewer", LEAD, "--out", "x.csv"
    )
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert not (team.root / "x.csv").exists()
    code, out, err = run(team.root, "--db", team.url("bob"), "status")
    assert code == 0, err
    assert "bob" in out


def test_missing_privileges_are_one_line_errors(team: Team) -> None:
    team.sql(None, f'REVOKE INSERT ON screen_resolutions FROM "{team.prefix}_leads"')
    code, out, err = run(team.root, "--db", team.url(LEAD), "resolve", "--work", "1", input="i\n\n")
    assert code == 1
    assert err.startswith("Error: the database refused: permission denied for table screen_resolutions;")
    assert err.count("\n") == 1 and "Traceback" not in err

    nobody = f"{team.prefix}_nobody"
    team.sql(None, f'CREATE ROLE "{nobody}" LOGIN')
    team.sql(None, f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{nobody}"')
    code, out, err = run(team.root, "--db", role_url(team.owner, nobody), "assign", "--reviewer", LEAD)
    assert (code, out) == (1, "")
    assert err.startswith("Error: the database refused: permission denied for table screen_assign")
    assert err.count("\n") == 1

    stranger = f"{team.prefix}_stranger"  # may connect, and nothing else
    team.sql(None, f'CREATE ROLE "{stranger}" LOGIN')
    code, out, err = run(team.root, "--db", role_url(team.owner, stranger), "status", "--reviewer", "alice")
    assert (code, out) == (1, "")
    assert re.fullmatch(
        r"Error: cannot open the database \S+: permission denied for table meta; your role lacks this "
        r"privilege - ask the database's owner to run 'scoping team setup' \(or to grant it\), and check "
        r"that --db connects as your own role\n",
        err,
    )


def test_setup_on_sqlite_says_what_sqlite_can_and_cannot_protect(tmp_path: Path) -> None:
    root = cached_review(tmp_path / "rv").root
    code, out, err = run(root, "team", "setup")
    assert (code, out) == (1, "")
    assert err.startswith("Error: team setup needs a PostgreSQL database")
    assert "whoever can read the file can read every decision" in err
    assert err.count("\n") == 1


def _resolve(team: Team, work: int, decision: str) -> None:
    with Store(team.url(LEAD)) as store:
        screen_tables.add_resolution(
            store,
            uid=f"r-{work}-{decision}",
            stage="title-abstract",
            work_id=work,
            lead=LEAD,
            decision=decision,
        )


def test_full_text_queue_under_roles_follows_the_title_abstract_outcomes(team: Team) -> None:
    works = [
        w
        for (w,) in team.sql(
            None, "SELECT work_id FROM screen_assignments WHERE reviewer = 'alice' ORDER BY work_id LIMIT 6"
        )
    ]
    agreed, settled, overruled, _pending, maybe, excluded = works
    for work in works:
        _decide(team, "alice", work, "exclude" if work == excluded else "include", "")
    for work, decision in ((agreed, "include"), (settled, "exclude"), (overruled, "include")):
        _decide(team, "bob", work, decision, "")
    _decide(team, "bob", maybe, "maybe", "")
    _decide(team, "bob", excluded, "exclude", "")
    _resolve(team, settled, "include")
    _resolve(team, overruled, "exclude")
    code, out, err = run(team.root, "--db", team.url(LEAD), "assign", "--stage", "full-text")
    assert code == 0, err
    _resolve(team, settled, "exclude")  # the lead changes their mind after allocating
    _resolve(team, overruled, "undone")  # ... and withdraws a resolution: the reviewers agreed

    with Store(team.owner) as store:  # the rule itself, read by the owner
        rule = {w for w, o in final_outcomes(store, "title-abstract").items() if o.outcome == "include"}
        alice_ft = set(screen_tables.assigned_works(store, "full-text", "alice"))
    assert rule & set(works) == {agreed, overruled}
    with Store(team.url("alice")) as store:
        assert team_store.included_at_title_abstract(store) == rule & alice_ft
        assert team_store.connection_reviewer(store) == "alice"
    code, out, err = run(
        team.root, "--db", team.url("alice"), "screen", "--plain", "--stage", "full-text", input="q\n"
    )
    assert code == 0, err
    shown = [int(w) for w in re.findall(r"^--- work (\d+) ·", out, flags=re.M)]
    assert shown and set(shown) <= rule & alice_ft
    assert f"/ {len(rule & alice_ft)} done ---" in out


def test_the_ranking_model_under_a_role_learns_from_what_the_role_may_read(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in this process, or by the child process that ranks a large review (forced here):
    the child connects with the reviewer's role, so it reads what that role may read."""
    from scoping.screen import rank_order
    from scoping.screen.rank_order import ModelRank, team_labels

    w = [
        w
        for (w,) in team.sql(
            None, "SELECT work_id FROM screen_assignments WHERE reviewer = 'bob' ORDER BY work_id LIMIT 3"
        )
    ]
    _decide(team, "bob", w[0], "exclude", "")
    _decide(team, "alice", w[0], "exclude", "")
    _decide(team, "alice", w[1], "include", "")
    _decide(team, "alice", w[2], "include", "")
    _resolve(team, w[0], "include")  # a work bob decided: he may learn how it was settled
    _resolve(team, w[2], "exclude")  # one he has not: he may not
    with Store(team.url("bob")) as store:
        assert team_labels(store, "title-abstract") == {w[0]: 1}
        monkeypatch.setattr(rank_order, "FEATURES_IN_CHILD_FROM", 1)
        with ModelRank(store, "title-abstract", query="heart ischaemia", workers=1) as model:
            assert model.in_child and model.sync(timeout=120) and model.ranker.error is None
            assert model.reads_here == 0  # the child read them, as bob
            assert model.n_labels == 1 and model.ranker.current().n_labelled == 1
    with Store(team.url(LEAD)) as store:
        assert team_labels(store, "title-abstract") == {w[0]: 1, w[1]: 1, w[2]: 0}


_EVENTS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["alice", "bob"]), st.sampled_from(["include", "exclude", "maybe", "undone"])
        ),
        st.tuples(st.just(LEAD), st.sampled_from(["include", "exclude", "undone", "conflict"])),
    ),
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(_EVENTS, min_size=6, max_size=6))
@example(  # a withdrawn resolution: the reviewers' agreement stands again
    history=[
        [("alice", "include"), ("bob", "include"), (LEAD, "exclude"), (LEAD, "undone")],
        [],
        [],
        [],
        [],
        [],
    ]
)
@example(  # one reviewer still to decide: pending, whatever the other said
    history=[
        [("alice", "include")],
        [("bob", "include"), ("alice", "include"), ("bob", "undone")],
        [],
        [],
        [],
        [],
    ]
)
def test_the_sql_rule_for_included_matches_derive_outcome(
    team: Team, history: list[list[tuple[str, str]]]
) -> None:
    """``scoping_team_included()`` (what a reviewer's full-text queue reads) gives the works
    whose title-abstract outcome by :func:`derive_outcome` is "include", for any history of
    decisions and resolutions."""
    works = [
        w
        for (w,) in team.sql(
            None,
            "SELECT work_id FROM screen_assignments WHERE reviewer = 'alice' AND stage = 'title-abstract' "
            "ORDER BY work_id LIMIT 6",
        )
    ]
    if not team.sql(None, "SELECT 1 FROM screen_assignments WHERE stage = 'full-text'"):
        (run_id,) = team.sql(
            None,
            "INSERT INTO screen_assign_runs (stage, by, at, seed, dual_fraction, reviewers, n_works, n_dual) "
            "VALUES ('full-text', 'test', 'now', 0, 1, '[]', 6, 0) RETURNING id",
        )[0]
        for work in works:
            team.sql(
                None,
                "INSERT INTO screen_assignments (stage, work_id, reviewer, run_id) "
                "VALUES ('full-text', %s, 'alice', %s)",
                (work, run_id),
            )
    team.sql(None, "DELETE FROM screen_decisions")
    team.sql(None, "DELETE FROM screen_resolutions")
    with psycopg.connect(team.owner, autocommit=True) as conn:
        for n, (work, events) in enumerate(zip(works, history, strict=True)):
            for k, (who, value) in enumerate(events):
                if who == LEAD:
                    conn.execute(
                        "INSERT INTO screen_resolutions (uid, stage, work_id, lead, decision, decided_at) "
                        "VALUES (%s, 'title-abstract', %s, %s, %s, 'now')",
                        (f"r{n}-{k}", work, who, value),
                    )
                else:
                    conn.execute(
                        "INSERT INTO screen_decisions (uid, stage, work_id, reviewer, decision, via, "
                        "decided_at) VALUES (%s, 'title-abstract', %s, %s, %s, 'test', 'now')",
                        (f"d{n}-{k}", work, who, value),
                    )
    with Store(team.owner) as store:
        rule = {w for w, o in final_outcomes(store, "title-abstract").items() if o.outcome == "include"}
    with Store(team.url("alice")) as store:
        assert team_store.included_at_title_abstract(store) == rule & set(works)
