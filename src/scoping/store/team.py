"""Team mode on PostgreSQL: database roles per reviewer and row-level security.

:func:`setup_team` is run by the owner of the review's database. It makes

- two group roles (``NOLOGIN``): ``<prefix>_reviewers`` and ``<prefix>_leads``;
- one login role per person of the protocol, ``<prefix>_<name>`` (the prefix defaults to the
  database's name), a member of the leads' group or the reviewers' group;
- ``scoping_team_roles`` (role -> reviewer name), readable by both groups;
- grants: both groups read every table (records, works, assignments, ...) and add rows to
  ``screen_decisions`` and ``screen_labels``; leads also add resolutions, allocation runs and
  the stopping rule's events (and fill in the counts of their own allocation run). Nobody else
  updates or deletes anything.
- ROW LEVEL SECURITY, enabled and forced, on ``screen_decisions``, ``screen_labels`` and
  ``screen_resolutions``. A reviewer's connection reads and adds only rows whose reviewer is
  the name its role maps to, with ``written_by`` its own role; it reads a resolution only of a
  work it has decided itself. A lead's connection reads every row, adds decisions and labels
  as itself and resolutions as itself.
- ``scoping_team_decided(stage)``, a ``SECURITY DEFINER`` function: which works someone other
  than the caller has a current decision on (and the id of the first such decision, the
  place of the work in the team's order) - *that* a colleague decided, never *what*;
- ``scoping_team_mark(stage)``, a ``SECURITY DEFINER`` function: a cheap mark of the other
  reviewers' decision rows at a stage (their count, highest id and sum of work ids), so that
  a reviewer's shared queue re-reads ``scoping_team_decided`` only when it changed;
- ``scoping_team_included()``, a ``SECURITY DEFINER`` function: which of the caller's
  full-text works are (still) included at title-abstract, for the full-text queue.

Running it again is harmless and adds roles for people added to the protocol since (and
the functions a newer version of scoping brings: they are not part of the versioned schema,
and a reviewer's role could not create them). Roles
get no password unless asked (``passwords=True``: a generated one per role made now,
returned once); the server's ``pg_hba.conf`` decides how they log in.

:func:`connection_reviewer` gives the name the connection's role maps to (``None``: not a
team role, or no team set up, or SQLite).
"""

from __future__ import annotations

import re
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scoping.errors import UsageError

if TYPE_CHECKING:
    from scoping.store.core import Store

__all__ = [
    "TeamMember",
    "TeamSetup",
    "connection_reviewer",
    "decided_by_others",
    "included_at_title_abstract",
    "others_decisions_mark",
    "privilege_message",
    "role_name",
    "setup_team",
    "team_prefix",
]

ROLES_TABLE = "scoping_team_roles"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_MAX_ROLE = 63  # PostgreSQL's identifier length

_PRIVATE = ("screen_decisions", "screen_labels")
"""Tables of rows one reviewer owns (the column ``reviewer`` names them)."""
_LEAD_WRITES = (
    "screen_resolutions",
    "screen_assign_runs",
    "screen_assignments",
    "screen_stop_events",
    "screen_stop_sample",
)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """One person of the protocol, as :func:`setup_team` is given them."""

    name: str
    is_lead: bool


@dataclass(slots=True)
class TeamSetup:
    """What :func:`setup_team` did."""

    prefix: str
    reviewers_group: str
    leads_group: str
    created: list[str] = field(default_factory=list)
    """Login roles made by this run (the others existed already)."""
    existing: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    """Role -> the password set now (only with ``passwords=True``, only for roles made now)."""


def _ident(name: str) -> str:
    """A role or table name quoted for SQL (only names checked by :data:`_NAME` get here)."""
    if not _NAME.match(name):
        raise UsageError(f"{name!r} cannot be a database role name; use lower-case letters, digits and _")
    return f'"{name}"'


def team_prefix(store: Store) -> str:
    """The default prefix of the team's roles: the database's name, made a plain identifier."""
    with store.engine.connect() as conn:
        database = str(conn.execute(sa.text("SELECT current_database()")).scalar_one())
    return re.sub(r"[^a-z0-9_]", "_", database.lower())


def role_name(prefix: str, person: str) -> str:
    """The login role of ``person``: ``<prefix>_<name>`` (the name lower-cased, other
    characters than letters, digits and ``_`` refused)."""
    name = person.lower()
    if not _NAME.match(name):
        raise UsageError(
            f"reviewer {person!r} cannot be a database role; team mode needs names of letters, "
            "digits and _ (rename the reviewer in protocol.toml)"
        )
    role = f"{prefix}_{name}"
    if len(role) > _MAX_ROLE:
        raise UsageError(f"the role {role!r} is longer than {_MAX_ROLE} characters; give a shorter --prefix")
    return role


def _require_postgresql(store: Store) -> None:
    if store.is_sqlite:
        raise UsageError(
            "team setup needs a PostgreSQL database (--db postgresql://... or SCOPING_DB); SQLite has "
            "no roles: it checks the operating-system user named in protocol.toml, but whoever can "
            "read the file can read every decision (protect it with the folder's permissions)"
        )


def _role_exists(conn: Connection, role: str) -> bool:
    found = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    return found is not None


def _create_group(conn: Connection, role: str) -> None:
    if not _role_exists(conn, role):
        conn.exec_driver_sql(f"CREATE ROLE {_ident(role)} NOLOGIN")


def _policies(conn: Connection, owner: str, reviewers: str, leads: str) -> None:
    me = "(SELECT t.reviewer FROM scoping_team_roles t WHERE t.role_name = current_user)"
    own = f"reviewer = {me}"
    for table in (*_PRIVATE, "screen_resolutions"):
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for old in conn.execute(
            sa.text(
                "SELECT policyname FROM pg_policies WHERE tablename = :t AND policyname LIKE 'scoping_%'"
            ),
            {"t": table},
        ).scalars():
            conn.exec_driver_sql(f'DROP POLICY "{old}" ON {table}')
        conn.exec_driver_sql(
            f"CREATE POLICY scoping_owner ON {table} TO {_ident(owner)} USING (true) WITH CHECK (true)"
        )
    written = "written_by = current_user::text"
    decisions_check = f"{own} AND {written}"
    for table in _PRIVATE:
        check = decisions_check if table == "screen_decisions" else own
        conn.exec_driver_sql(
            f"CREATE POLICY scoping_read_own ON {table} FOR SELECT TO {_ident(reviewers)} USING ({own})"
        )
        conn.exec_driver_sql(
            f"CREATE POLICY scoping_read_all ON {table} FOR SELECT TO {_ident(leads)} USING (true)"
        )
        conn.exec_driver_sql(
            f"CREATE POLICY scoping_add_own ON {table} FOR INSERT TO {_ident(reviewers)}, {_ident(leads)} "
            f"WITH CHECK ({check})"
        )
    decided = (
        "EXISTS (SELECT 1 FROM screen_decisions d WHERE d.stage = screen_resolutions.stage "
        "AND d.work_id = screen_resolutions.work_id)"  # the caller's own rows only (RLS)
    )
    conn.exec_driver_sql(
        f"CREATE POLICY scoping_read_decided ON screen_resolutions FOR SELECT TO {_ident(reviewers)} "
        f"USING ({decided})"
    )
    conn.exec_driver_sql(
        f"CREATE POLICY scoping_read_all ON screen_resolutions FOR SELECT TO {_ident(leads)} USING (true)"
    )
    conn.exec_driver_sql(
        f"CREATE POLICY scoping_add_own ON screen_resolutions FOR INSERT TO {_ident(leads)} "
        f"WITH CHECK (lead = {me} AND {written})"
    )


_DECIDED_FUNCTION = """
CREATE OR REPLACE FUNCTION scoping_team_decided(p_stage text)
RETURNS TABLE (work_id integer, first_id integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH latest AS (
        SELECT max(d.id) AS id FROM screen_decisions d
        WHERE d.stage = p_stage
          AND d.reviewer IS DISTINCT FROM
              (SELECT t.reviewer FROM scoping_team_roles t WHERE t.role_name = session_user)
        GROUP BY d.work_id, d.reviewer
    )
    SELECT d.work_id, min(d.id)::integer FROM screen_decisions d JOIN latest USING (id)
    WHERE d.decision <> 'undone' GROUP BY d.work_id
$$
"""


_MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION scoping_team_mark(p_stage text)
RETURNS TABLE (n_rows bigint, top_id bigint, work_sum bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*), coalesce(max(d.id), 0)::bigint, coalesce(sum(d.work_id), 0)::bigint
    FROM screen_decisions d
    WHERE d.stage = p_stage
      AND d.reviewer IS DISTINCT FROM
          (SELECT t.reviewer FROM scoping_team_roles t WHERE t.role_name = session_user)
$$
"""
"""The mark of :func:`others_decisions_mark`: the other reviewers' decision rows at a stage,
reduced to their count, highest id and sum of work ids - no decision, no reviewer, no note.

It tells a reviewer nothing that ``scoping_team_decided`` does not already tell them. Rows are
only appended (a changed or withdrawn decision is a new row), and with one colleague per work
(dual screening) each such row shows in ``scoping_team_decided`` as a change of that work's
entry: a new decision puts the work in with the row's id, a changed one gives it the new row's
id, an "undone" one takes it out, and works joined in de-duplication change its work ids; so
the count, highest id and sum of work ids follow from two successive answers of it. With three
or more reviewers on a work, a later colleague's changed decision can leave that entry as it
was, and the mark then still says only that some row about some work was added - activity,
which the gaps in the ids of one's own rows (one sequence for all reviewers) show too - never
what was decided or by whom."""


_INCLUDED_FUNCTION = """
CREATE OR REPLACE FUNCTION scoping_team_included()
RETURNS TABLE (work_id integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH mine AS (
        SELECT DISTINCT a.work_id FROM screen_assignments a
        JOIN scoping_team_roles t ON t.reviewer = a.reviewer AND t.role_name = session_user
        WHERE a.stage = 'full-text'
    ), res AS (
        SELECT DISTINCT ON (r.work_id) r.work_id, r.decision FROM screen_resolutions r
        WHERE r.stage = 'title-abstract' ORDER BY r.work_id, r.id DESC
    ), cur AS (
        SELECT DISTINCT ON (d.work_id, d.reviewer) d.work_id, d.reviewer, d.decision
        FROM screen_decisions d WHERE d.stage = 'title-abstract'
        ORDER BY d.work_id, d.reviewer, d.id DESC
    ), live AS (SELECT * FROM cur WHERE decision <> 'undone')
    SELECT m.work_id FROM mine m
    WHERE EXISTS (SELECT 1 FROM record_work w WHERE w.work_id = m.work_id)
      AND CASE
        WHEN EXISTS (SELECT 1 FROM res WHERE res.work_id = m.work_id AND res.decision <> 'undone')
        THEN EXISTS (SELECT 1 FROM res WHERE res.work_id = m.work_id AND res.decision = 'include')
        ELSE EXISTS (SELECT 1 FROM live l WHERE l.work_id = m.work_id)
         AND NOT EXISTS (SELECT 1 FROM live l WHERE l.work_id = m.work_id AND l.decision <> 'include')
         AND NOT EXISTS (
            SELECT 1 FROM screen_assignments a
            WHERE a.stage = 'title-abstract' AND a.work_id = m.work_id
              AND NOT EXISTS (SELECT 1 FROM live l WHERE l.work_id = m.work_id AND l.reviewer = a.reviewer)
         )
      END
$$
"""
"""The caller's full-text works whose title-abstract outcome is "include": the rule of
:func:`~scoping.screen.outcomes.derive_outcome` for that one outcome, in SQL, over rows the
caller cannot read, so it must be SQL here (row-level security hides the rows the Python rule
would need); ``tests/test_team_roles.py`` checks with hypothesis that both agree."""


def setup_team(
    store: Store, members: Sequence[TeamMember], *, prefix: str | None = None, passwords: bool = False
) -> TeamSetup:
    """Make (or bring up to date) the team's roles, grants and row-level security, in one
    transaction: all of it or none. Run as the owner of the database's tables."""
    _require_postgresql(store)
    prefix = prefix if prefix is not None else team_prefix(store)
    if not _NAME.match(prefix):
        raise UsageError(f"--prefix {prefix!r} must be lower-case letters, digits and _")
    roles = [(m, role_name(prefix, m.name)) for m in members]
    result = TeamSetup(prefix, f"{prefix}_reviewers", f"{prefix}_leads")
    with store.engine.begin() as conn:  # every table exists: Store.open made them
        owner = str(
            conn.execute(
                sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'screen_decisions'")
            ).scalar_one()
        )
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {ROLES_TABLE} (role_name text PRIMARY KEY, "
            "reviewer text NOT NULL, is_lead boolean NOT NULL)"
        )
        reviewers, leads = result.reviewers_group, result.leads_group
        _create_group(conn, reviewers)
        _create_group(conn, leads)
        for member, role in roles:
            if _role_exists(conn, role):
                result.existing.append(role)
            else:
                conn.exec_driver_sql(f"CREATE ROLE {_ident(role)} LOGIN")
                result.created.append(role)
                if passwords:
                    secret = secrets.token_urlsafe(18)  # letters, digits, - and _: safe in quotes
                    conn.exec_driver_sql(f"ALTER ROLE {_ident(role)} PASSWORD '{secret}'")
                    result.passwords[role] = secret
            group = leads if member.is_lead else reviewers
            other = reviewers if member.is_lead else leads
            conn.exec_driver_sql(f"GRANT {_ident(group)} TO {_ident(role)}")
            if conn.execute(
                sa.text("SELECT pg_has_role(:r, :g, 'MEMBER')"), {"r": role, "g": other}
            ).scalar_one():
                conn.exec_driver_sql(f"REVOKE {_ident(other)} FROM {_ident(role)}")
            conn.execute(
                sa.text(
                    f"INSERT INTO {ROLES_TABLE} VALUES (:r, :n, :l) ON CONFLICT (role_name) "
                    "DO UPDATE SET reviewer = excluded.reviewer, is_lead = excluded.is_lead"
                ),
                {"r": role, "n": member.name, "l": member.is_lead},
            )
        database = str(conn.execute(sa.text("SELECT current_database()")).scalar_one())
        for group in (reviewers, leads):
            conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {_ident(group)}')
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {_ident(group)}")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {_ident(group)}")
            conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {_ident(group)}")
            conn.exec_driver_sql(f"GRANT INSERT ON {', '.join(_PRIVATE)} TO {_ident(group)}")
        conn.exec_driver_sql(f"GRANT INSERT ON {', '.join(_LEAD_WRITES)} TO {_ident(leads)}")
        # 'scoping assign' fills in its own run's counts once the allocation is written
        conn.exec_driver_sql(f"GRANT UPDATE (n_works, n_dual) ON screen_assign_runs TO {_ident(leads)}")
        _policies(conn, owner, reviewers, leads)
        conn.exec_driver_sql(_DECIDED_FUNCTION)
        conn.exec_driver_sql(_MARK_FUNCTION)
        conn.exec_driver_sql(_INCLUDED_FUNCTION)
        for function in ("scoping_team_decided(text)", "scoping_team_mark(text)", "scoping_team_included()"):
            conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
            conn.exec_driver_sql(
                f"GRANT EXECUTE ON FUNCTION {function} TO {_ident(reviewers)}, {_ident(leads)}"
            )
    _members.pop(store, None)
    _has_mark.pop(store, None)
    return result


_members: weakref.WeakKeyDictionary[Store, str | None] = weakref.WeakKeyDictionary()
_has_mark: weakref.WeakKeyDictionary[Store, bool] = weakref.WeakKeyDictionary()


def connection_reviewer(store: Store) -> str | None:
    """The reviewer the connection's role is in team mode (``None``: SQLite, no team set up,
    or a role that is no team member, such as the database's owner). Asked once per store."""
    if store.is_sqlite:
        return None
    if store in _members:
        return _members[store]
    with store.engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": ROLES_TABLE}).scalar() is None:
            name = None
        else:
            name = conn.execute(
                sa.text(f"SELECT reviewer FROM {ROLES_TABLE} WHERE role_name = current_user")
            ).scalar()
    _members[store] = name
    return name


def decided_by_others(store: Store, stage: str) -> dict[int, int] | None:
    """In team mode, for a team member's connection: the works someone else has a current
    decision on at ``stage`` -> the id of the first such decision (by the ``SECURITY DEFINER``
    function; the rows themselves are out of reach). ``None`` when not in team mode."""
    if connection_reviewer(store) is None:
        return None
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT work_id, first_id FROM scoping_team_decided(:s)"), {"s": stage})
        return {int(w): int(i) for w, i in rows}


def others_decisions_mark(store: Store, stage: str) -> tuple[int, int, int] | None:
    """In team mode, for a team member's connection: a mark that changes whenever someone else
    adds a decision row at ``stage`` or one of their rows moves to another work - the rows'
    count, highest id and sum of work ids, by the ``SECURITY DEFINER`` function (see
    :data:`_MARK_FUNCTION` on why it gives away nothing new). ``None`` when not in team mode,
    or when the team was set up by a version of scoping without that function (until the
    owner runs ``scoping team setup`` again): the caller then reads the works themselves."""
    if connection_reviewer(store) is None:
        return None
    from scoping.store.screen_tables import _reader  # one round trip per query: asked after every decision

    with _reader(store).connect() as conn:
        if store not in _has_mark:
            found = conn.execute(sa.text("SELECT to_regprocedure('scoping_team_mark(text)')")).scalar()
            _has_mark[store] = found is not None
        if not _has_mark[store]:
            return None
        count, top, total = conn.execute(
            sa.text("SELECT n_rows, top_id, work_sum FROM scoping_team_mark(:s)"), {"s": stage}
        ).one()
    return int(count), int(top), int(total)


def included_at_title_abstract(store: Store) -> set[int] | None:
    """In team mode, for a team member's connection: which of the works allocated to them at
    full text are still included at title-abstract (what their full-text queue needs, read
    through the ``SECURITY DEFINER`` function). ``None`` when not in team mode."""
    if connection_reviewer(store) is None:
        return None
    with store.engine.connect() as conn:
        return {
            int(w) for w in conn.execute(sa.text("SELECT work_id FROM scoping_team_included()")).scalars()
        }


def privilege_message(error: BaseException) -> str | None:
    """A one-line message for a PostgreSQL refusal (a missing privilege, or a row the
    row-level security policies do not allow); ``None`` for any other error."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state != "42501":  # insufficient_privilege (also raised for a row-level security refusal)
        return None
    detail = str(orig).splitlines()[0] if orig is not None else str(error)
    return (
        f"the database refused: {detail}; your role lacks this privilege - ask the database's "
        "owner to run 'scoping team setup' (or to grant it), and check that --db connects as your own role"
    )
