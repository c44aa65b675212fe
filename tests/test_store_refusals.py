"""Issue 20 (9): a database role without a grant meets a one-line error in any command (the
command line translates the database's permission errors), never a traceback. Run against a
real PostgreSQL server: the owner sets the review up, then a role that may only read works."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import PgServer
from scoping.cli import cli

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.postgres


def run(root: Path, db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(cli, ["--db", db, *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_refused(code: int, err: str) -> None:
    assert code == 1, err
    assert err.startswith("Error: the database refused: permission denied for table"), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_role_without_grants_gets_one_line_errors(tmp_path: Path, pg_server: PgServer) -> None:
    import psycopg

    owner = pg_server.create_database()
    root = tmp_path / "rv"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    shutil.copy(REPO / "screening" / "protocol.toml", root / "screening" / "protocol.toml")
    assert run(root, owner, "import", str(DATA / "asreview/embase.ris"), "--source", "Embase")[0] == 0
    assert run(root, owner, "dedupe")[0] == 0
    assert run(root, owner, "assign", "--reviewer", "lead")[0] == 0
    assert run(root, owner, "import", str(DATA / "asreview/proquest.ris"), "--source", "ProQuest")[0] == 0
    assert run(root, owner, "dedupe")[0] == 0  # new works, not yet allocated
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    reader = owner.replace("//scoping@", "//reader@")

    assert run(root, reader, "records", "--count")[0] == 0  # reading is granted
    code, _, err = run(root, reader, "assign", "--reviewer", "lead")
    assert_refused(code, err)
    code, _, err = run(root, reader, "resolve", "--reviewer", "lead", "--work", "1", stdin="i\n")
    assert_refused(code, err)
    code, _, err = run(root, reader, "import", str(DATA / "rispy/example_full.ris"), "--source", "X")
    assert_refused(code, err)
    # and nothing of it was stored: the owner finds the review as it was
    assert run(root, owner, "records", "--count")[1].strip() == str(6 + 6)
