"""The ``scoping`` command: click groups over the library, and the only place that prints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from scoping import __version__
from scoping.app import Review
from scoping.errors import ScopingError, UsageError
from scoping.review import Review as ReviewFolder
from scoping.review import find_review
from scoping.store import refusal

F = TypeVar("F", bound=Callable[..., Any])


class ScopingGroup(click.Group):
    """A group that turns library errors into one-line messages and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScopingError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted: nothing of the unfinished step was stored.", err=True)
            ctx.exit(130)
        except Exception as exc:  # a refusal of the database: one line, never a traceback
            from scoping.store.team import privilege_message

            message = privilege_message(exc)  # team mode: what to ask the owner
            if message is None:
                refused = refusal(exc)  # a missing grant or a read-only file, met by any command
                if refused is None:
                    raise
                message = str(refused)
            click.echo(f"Error: {message}", err=True)
            ctx.exit(1)


class State:
    """Options given before the subcommand (``scoping --review DIR COMMAND``)."""

    def __init__(self) -> None:
        self.review_dir: str | None = None
        self.db: str | None = None


def review_options(func: F) -> F:
    """Add ``--review`` and ``--db`` to a command (they may also come before the command)."""

    @click.option(
        "--review",
        "review_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="The review folder (default: the current folder or its nearest parent).",
    )
    @click.option(
        "--db",
        default=None,
        metavar="URL",
        help="Database: a PostgreSQL URL for teams, or an SQLite file "
        "[env SCOPING_DB; default screening/review.db].",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, review_dir: str | None, db: str | None, **kwargs: Any) -> Any:
        state = click.get_current_context().find_object(State)
        if state is not None:
            review_dir = review_dir or state.review_dir
            db = db or state.db
        return func(*args, review=_locate(review_dir, db), **kwargs)

    return wrapper  # type: ignore[return-value]


def team_identity(target: ReviewFolder, reviewer: str | None) -> str | None:
    """Who is asking. In team mode (PostgreSQL roles made by 'scoping team setup') the
    connection's role says who you are: ``reviewer`` may be left out and must match it (a
    :class:`UsageError` otherwise). Elsewhere ``reviewer`` as given."""
    if "://" not in str(target.database):
        return reviewer
    from scoping.store.team import connection_reviewer

    with target.open_store() as store:
        connected = connection_reviewer(store)
    if connected is None:
        return reviewer
    claimed = (reviewer or "").strip()
    if claimed and claimed != connected:
        raise UsageError(
            f"you are connected as the team role of {connected!r}, not {claimed!r}; "
            f"leave out --reviewer or connect with {claimed!r}'s own role"
        )
    return connected


def _locate(review_dir: str | None, db: str | None) -> Callable[[], Review]:
    """Find the review lazily, so ``--help`` works anywhere; the commands get the front door
    (:class:`scoping.app.Review`, which is also the folder)."""
    return lambda: Review.of(find_review(review_dir, db=db))


@click.group(
    cls=ScopingGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="scoping")
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The review folder (default: the current folder or its nearest parent).",
)
@click.option(
    "--db",
    default=None,
    metavar="URL",
    help="Database URL or SQLite file [env SCOPING_DB; default screening/review.db].",
)
@click.pass_context
def cli(ctx: click.Context, review_dir: str | None, db: str | None) -> None:
    """Scoping reviews and evidence maps, from search to PRISMA, in one auditable workflow.

    A review is a folder (make one with 'scoping init DIR'): searches/ holds the strategy and
    the exports, screening/ the protocol and the store, outputs/ what scoping generates.
    Commands run in the review folder you are in, or the one given with --review.

    \b
    Examples:
      scoping demo                      # the whole workflow on bundled real data, offline
      scoping init my-review && cd my-review
      scoping import exports/psycinfo.ris --source PsycINFO
      scoping records
      scoping export --format csv --out all-records.csv
    """
    state = ctx.ensure_object(State)
    state.review_dir = review_dir
    state.db = db


def main() -> None:
    """Entry point of the ``scoping`` command."""
    cli(prog_name="scoping")
