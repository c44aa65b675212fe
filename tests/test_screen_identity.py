"""Who you are is known, not claimed: ``user = "..."`` in a ``[[reviewer]]`` table ties the
name to an operating-system user, and every command acting as that name checks it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import scoping.cli.screen_cmd  # noqa: F401  (registers the screening commands)
from scoping.cli import cli
from scoping.errors import ConfigError, UsageError
from scoping.screen import parse_protocol
from scoping.screen.protocol import os_user
from scoping.store import SCHEMA_VERSION, Store, screen_tables
from test_screen_support import LEAD, PROTOCOL, cached_review

ME = os_user()
SOMEONE_ELSE = f"not-{ME}"


def protocol_with_users(alice: str | None, lead: str | None) -> str:
    text = PROTOCOL
    if alice is not None:
        text = text.replace('name = "alice"\n', f'name = "alice"\nuser = "{alice}"\n')
    if lead is not None:
        text = text.replace(f'name = "{LEAD}"\n', f'name = "{LEAD}"\nuser = "{lead}"\n')
    return text


def run(review: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(review):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _no_ambient_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCOPING_REVIEWER", raising=False)


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = cached_review(tmp_path / "rv").root
    code, _, err = run(root, "assign", "--reviewer", LEAD)
    assert code == 0, err
    return root


def test_the_user_key_is_read_and_checked() -> None:
    protocol = parse_protocol(protocol_with_users("alice-os", None))
    assert protocol.reviewers[0].user == "alice-os"
    assert protocol.reviewers[1].user is None
    with pytest.raises(ConfigError, match=r"reviewer\[1\]\.user must be one operating-system user name"):
        parse_protocol(protocol_with_users("alice smith", None))
    with pytest.raises(ConfigError, match=r"reviewer\[1\]\.user is empty"):
        parse_protocol(protocol_with_users("", None))


def test_a_claimed_name_of_another_user_is_refused_by_the_library() -> None:
    protocol = parse_protocol(protocol_with_users(SOMEONE_ELSE, ME))
    with pytest.raises(UsageError, match=f"you are '{ME}'"):
        protocol.reviewer("alice")
    assert protocol.lead(LEAD).name == LEAD
    assert protocol.reviewer("bob").name == "bob"  # no user: not checked


@pytest.mark.parametrize(
    ("command", "who"),
    [
        (("conflicts",), LEAD),
        (("agreement",), LEAD),
        (("status",), LEAD),
        (("status",), "alice"),
        (("screen", "--plain"), "alice"),
        (("decisions",), "alice"),
        (("resolve",), LEAD),
    ],
)
def test_acting_as_someone_else_exits_1_with_one_line_and_shows_nothing(
    review: Path, command: tuple[str, ...], who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first decisions, made by their rightful users, so that there is something to show
    for name in ("alice", "bob"):
        code, _, err = run(review, "screen", "--reviewer", name, "--plain", input="i\ne\n1\nm\nq\n")
        assert code == 0, err
    (review / "screening" / "protocol.toml").write_text(
        protocol_with_users(SOMEONE_ELSE, SOMEONE_ELSE), encoding="utf-8"
    )
    # the name in the environment is no way round it (the password database is asked)
    monkeypatch.setenv("USER", SOMEONE_ELSE)
    monkeypatch.setenv("LOGNAME", SOMEONE_ELSE)
    code, out, err = run(review, *command, "--reviewer", who, input="i\nq\n")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(f"Error: '{who}' is the operating-system user '{SOMEONE_ELSE}'")
    assert f"log in as '{SOMEONE_ELSE}'" in err
    # the same person as the rightful user gets on with the work
    (review / "screening" / "protocol.toml").write_text(protocol_with_users(ME, ME), encoding="utf-8")
    code, out, err = run(review, *command, "--reviewer", who, input="q\n")
    assert (code, err) == (0, "")
    assert out


# -- who wrote each row ----------------------------------------------------------------------


def _old_decision(conn: sa.Connection, uid: str) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO screen_decisions (uid, stage, work_id, reviewer, decision, via, decided_at) "
            "VALUES (:uid, 'title-abstract', 1, 'alice', 'include', 'api', '2026-01-01T00:00:00Z')"
        ),
        {"uid": uid},
    )


def test_every_row_records_who_wrote_it_and_older_stores_are_migrated(store_url: str) -> None:
    # a store as schema 2 left it: decisions without written_by, one decision in it
    with Store.open(store_url) as store:
        postgres = not store.is_sqlite
        with store.engine.begin() as conn:
            for table in ("screen_decisions", "screen_resolutions"):
                conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN written_by"))
            conn.execute(sa.text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
            _old_decision(conn, "old-1")
    with Store.open(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        screen_tables.add_decision(
            store, uid="new-1", stage="title-abstract", work_id=1, reviewer="alice", decision="exclude"
        )
        screen_tables.add_decisions(
            store,
            [
                {
                    "uid": "new-2",
                    "stage": "title-abstract",
                    "work_id": 2,
                    "reviewer": "bob",
                    "decision": "maybe",
                }
            ],
            via="csv:x.csv",
        )
        screen_tables.add_resolution(
            store, uid="res-1", stage="title-abstract", work_id=1, lead=LEAD, decision="include"
        )
        rows = screen_tables.decision_history(store)
        (resolution,) = screen_tables.resolution_history(store)
    # the PostgreSQL test server's role is "scoping" (tests/conftest.py): the server names it
    writer = "scoping" if postgres else ME
    assert [(r.uid, r.decision, r.written_by) for r in rows] == [
        ("old-1", "include", None),  # kept as it was: who wrote it is not known
        ("new-1", "exclude", writer),
        ("new-2", "maybe", writer),
    ]
    assert resolution.written_by == writer
