"""``scoping team``: team mode on PostgreSQL (roles per reviewer, row-level security)."""

from __future__ import annotations

from collections.abc import Callable

import click

from scoping.app import Review
from scoping.cli._lazy import LazyModule
from scoping.cli.main import cli, review_options

screen = LazyModule("scoping.screen")
team = LazyModule("scoping.store.team")


@cli.group("team")
def team_group() -> None:
    """Team mode on PostgreSQL: a database role per reviewer and lead, and row-level security,
    so that who you are is the role you connect with and no reviewer's role can read another
    reviewer's decisions or notes.

    \b
    Example:
      scoping team setup --db postgresql://owner@db.example.org/review
    """


@team_group.command("setup")
@click.option(
    "--prefix",
    default=None,
    metavar="NAME",
    help="Start of every role's name [default: the database's name]; roles are PREFIX_<reviewer>, "
    "PREFIX_reviewers and PREFIX_leads.",
)
@click.option(
    "--passwords",
    is_flag=True,
    help="Give each role made now a generated password, printed once (default: no password; "
    "the server's pg_hba.conf decides how roles log in).",
)
@review_options
def setup_cmd(prefix: str | None, passwords: bool, review: Callable[[], Review]) -> None:
    """Make a database role per reviewer and lead of screening/protocol.toml (PostgreSQL only).

    Run it as the owner of the review's database. Each person gets a login role PREFIX_<name>
    (names lower-cased), in the group PREFIX_reviewers or PREFIX_leads. Row-level security
    (enabled and forced) on decisions, labels and resolutions lets a reviewer's connection read
    and add only their own decisions and notes, with any SQL at all; leads read every decision
    and add resolutions. Everyone reads the records, works and allocation. A reviewer learns
    which works a colleague has decided (the shared screening order), never what.

    Running it again is harmless and adds roles for reviewers added to the protocol since,
    and the database functions a newer version of scoping uses (run it after upgrading).
    Reviewers then connect as their own role; --reviewer may be left out and must match it.

    \b
    Examples:
      scoping team setup --db postgresql://owner@db.example.org/review
      scoping team setup --passwords          # SCOPING_DB set; prints new roles' passwords once
      scoping screen --db postgresql://review_alice@db.example.org/review
    """
    target = review()
    protocol = screen.load_protocol(target.protocol_path)
    members = [team.TeamMember(person.name, person.is_lead) for person in protocol.reviewers]
    with target.open_store() as store:
        done = team.setup_team(store, members, prefix=prefix, passwords=passwords)
    for person in protocol.reviewers:
        role = team.role_name(done.prefix, person.name)
        state = "made now" if role in done.created else "already there"
        kind = "lead" if person.is_lead else "reviewer"
        click.echo(f"{person.name}: role {role} ({kind}, {state})")
        if role in done.passwords:
            click.echo(f"  password (shown once): {done.passwords[role]}")
    click.echo(
        f"groups {done.reviewers_group} and {done.leads_group}; row-level security on decisions, labels "
        "and resolutions. Each person connects with their own role in --db or SCOPING_DB."
    )
