"""The front door: a review, and one method per command.

::

    import scoping

    review = scoping.open_review("peer-review")
    review.import_files(["psycinfo.ris"], source="PsycINFO")
    review.dedupe()
    review.records()          # a pandas DataFrame, one row per stored record

:func:`open_review` returns a :class:`Review`: the review folder (a
:class:`scoping.review.Review`, so it is accepted wherever a folder is) with the commands as
methods. Each method opens the store, makes one call into the stage that does the work, and
returns what that call returns; nothing here decides anything a stage decides.

=============================  ==================================================================
command                        method
=============================  ==================================================================
``scoping init DIR``           :func:`init_review`
``scoping import``             :meth:`Review.import_files`
``scoping records``            :meth:`Review.records`, :meth:`Review.imports` (DataFrames)
``scoping export``             :meth:`Review.export` (``included=True``: the included works)
``scoping decisions export``   :meth:`Review.export_decisions`
``scoping import`` (all)       :meth:`Review.import_exports` (and the search behind the files)
``scoping search plan``        :meth:`Review.search_plan`
``scoping search run``         :meth:`Review.search_targets`, :meth:`Review.search_run`
``scoping search log``         :meth:`Review.search_log`, :meth:`Review.update_arms`
``scoping search counts``      :meth:`Review.count_targets`, :meth:`Review.term_counts`
``scoping search check``       :meth:`Review.check_searches`
``scoping dedupe``             :meth:`Review.dedupe`, :meth:`Review.dedupe_run`; :meth:`Review.works`
``scoping dedupe review``      :meth:`Review.pair_review` (a :class:`PairReview`)
``scoping dedupe undo W``      :meth:`Review.split_impact`, :meth:`Review.undo_work`
``scoping dedupe overlap``     :meth:`Review.overlap`
``scoping assign``             :meth:`Review.assign`
``scoping screen``             :meth:`Review.screening` (a session); :meth:`Review.decide` (one
                               decision); :meth:`Review.write_worksheet`,
                               :meth:`Review.load_decisions`; :meth:`Review.decisions`
``scoping conflicts``          :meth:`Review.conflicts`
``scoping resolve``            :meth:`Review.to_resolve`, :meth:`Review.resolve`
``scoping agreement``          :meth:`Review.agreement`
``scoping status``             :meth:`Review.status`; :meth:`Review.outcomes` (DataFrame)
``scoping stop``               :meth:`Review.stopping`
``scoping simulate``           :func:`simulation_input`, :func:`simulate` (no review needed)
``scoping topics fit``         :meth:`Review.fit_topics`; :meth:`Review.topics` (DataFrame)
``scoping topics show``        :meth:`Review.topic_fit`, :meth:`Review.topic_fits`
``scoping prisma``             :meth:`Review.prisma`
``scoping report``             :meth:`Review.report`
``scoping checklist``          :meth:`Review.checklist`
=============================  ==================================================================

Blinding holds here as in the commands: the methods that show more than a reviewer's own work
take the name of the person asking and refuse anyone but a lead, and
``decisions(reviewer=NAME)`` gives only NAME's own decisions. Called without a reviewer,
:meth:`Review.decisions` returns every decision: it is the view of whoever holds the store.

pandas is imported by the methods that return DataFrames, not by ``import scoping``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from scoping import review as folder
from scoping.errors import ConfigError, ReviewFolderError, UsageError
from scoping.files import write_whole
from scoping.records import FIELDS

if TYPE_CHECKING:
    import pandas as pd

    from scoping.dedupe import DedupeResult, Overlap
    from scoping.dedupe.api import QueueItem
    from scoping.ingest.api import ImportResult
    from scoping.report.api import PrismaResult
    from scoping.report.prisma import PrismaCounts
    from scoping.screen import (
        Card,
        Conflict,
        CsvReport,
        PairAgreement,
        Protocol,
        QueueOrder,
        ScreeningSession,
        StageAllocation,
        StageStatus,
        StoppingStatus,
    )
    from scoping.screen.carry import Impact
    from scoping.screen.simulate import LabelledSet, SimulationResult
    from scoping.screen.stop_methods import StoppingMethod
    from scoping.screen.stop_rule import StoppingRule
    from scoping.search import (
        Database,
        ExportInfo,
        LogEntry,
        ProgressEvent,
        Query,
        RunResult,
        Strategy,
        TermCount,
        UpdateArms,
    )
    from scoping.search.check import FormGap, SeedResult
    from scoping.store import Store
    from scoping.store.dedupe_tables import Applied
    from scoping.store.screen_tables import DecisionRow, ResolutionRow
    from scoping.store.topics_tables import FitRow
    from scoping.topics.api import FitResult, LoadedFit

__all__ = ["Review", "SimulationInput", "init_review", "open_review", "simulate", "simulation_input"]

RECORD_COLUMNS = ("id", "source", "import_id", "position", *FIELDS)
"""Columns of :meth:`Review.records`."""
WORK_COLUMNS = ("work_id", "records", "sources", "record_ids", *(f for f in FIELDS if f != "source_id"))
"""Columns of :meth:`Review.works`: the merged view of each work (the fullest value of each
field among its records, by :func:`scoping.dedupe.merge_records`)."""
DECISION_COLUMNS = (
    "id",
    "stage",
    "work_id",
    "reviewer",
    "decision",
    "reason",
    "note",
    "fulltext",
    "via",
    "decided_at",
    "written_by",
    "uid",
)
"""Columns of :meth:`Review.decisions`."""
OUTCOME_COLUMNS = ("work_id", "stage", "outcome", "reason", "resolved_by")
"""Columns of :meth:`Review.outcomes`."""
ASREVIEW = "asreview"
"""The export format of ASReview's labelled CSV (``label_included``)."""
TOPIC_COLUMNS = ("topic", "label", "named", "works", "main_topic_of", "top_terms")
"""Columns of :meth:`Review.topics`."""


def _frame(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame.from_records(list(rows), columns=list(columns))


@dataclass(frozen=True, slots=True)
class DedupeRun:
    """What :meth:`Review.dedupe_run` did: the run, the joins of works already in screening
    (``(kept work, joined work, impact)``), and the doubtful pairs waiting for a person."""

    result: DedupeResult
    joins: list[tuple[int, int, Impact]]
    pending: int


@dataclass(frozen=True, slots=True)
class Imported:
    """What :meth:`Review.import_exports` did: each file imported, and the search log's warnings
    (fewer records in the files than the hits the database reported)."""

    files: list[ImportResult]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class SeedCheck:
    """What :meth:`Review.check_searches` found: each seed study, and the plurals no term finds."""

    strategy: Strategy
    seeds: list[SeedResult]
    plurals: list[FormGap]


@dataclass(frozen=True, slots=True)
class Review(folder.Review):
    """A review folder and its store, with one method per command.

    Make one with :func:`open_review` (an existing review) or :func:`init_review` (a new one).
    """

    @classmethod
    def of(cls, found: folder.Review) -> Review:
        """The review of a folder found by :func:`scoping.review.find_review`."""
        return cls(root=found.root, db=found.db)

    def protocol(self) -> Protocol:
        """The screening protocol (``screening/protocol.toml``), read and checked."""
        from scoping.screen import load_protocol

        return load_protocol(self.protocol_path)

    # -- records -------------------------------------------------------------------------

    def import_files(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        source: str,
        fmt: str | None = None,
        encoding: str | None = None,
        again: bool = False,
        workers: int = 0,
    ) -> list[ImportResult]:
        """``scoping import FILES --source NAME``: every file is checked before any is stored,
        then each is imported whole or not at all. (:meth:`import_exports` also freezes the
        search behind the files for the search log, as the command does.) ``workers``: child
        processes that may parse a large file (by default none; a script that gives some must
        keep its work under ``if __name__ == "__main__":``, see :mod:`scoping.spawn`)."""
        from scoping.ingest.api import import_files

        with self.open_store() as store:
            return import_files(
                store, files, source=source, fmt=fmt, encoding=encoding, again=again, workers=workers
            )

    def import_exports(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        source: str,
        fmt: str | None = None,
        encoding: str | None = None,
        again: bool = False,
        skip_incomplete: bool = False,
        search: ExportInfo | None = None,
        progress: Callable[[str, int], None] | None = None,
        workers: int = 0,
    ) -> Imported:
        """``scoping import``, all of it: the files are inspected, then imported in one
        transaction (all or none), then the search behind them (``search``: the query, day, hits
        and platform as given) is frozen for the search log. ``progress(file name, records)``
        is told as records are read; ``workers`` as for :meth:`import_files`."""
        from scoping.ingest.api import import_file, inspect_files
        from scoping.search import ExportInfo, load_strategy, record_export

        search = search or ExportInfo()
        search.check()
        try:
            strategy: Strategy | None = load_strategy(self.strategy_path)
        except ConfigError:  # importing does not depend on the strategy
            strategy = None
        infos = inspect_files(files, fmt=fmt, encoding=encoding, workers=workers)
        results: list[ImportResult] = []
        with self.open_store() as store:
            with store.together():  # all the files, or none
                for info in infos:
                    name = info.path.name
                    tell = None if progress is None else functools.partial(progress, name)
                    results.append(
                        import_file(
                            store,
                            info,
                            source=source,
                            again=again,
                            progress=tell,
                            skip_incomplete=skip_incomplete,
                            workers=workers,
                        )
                    )
            warnings = record_export(store, strategy, [r.row for r in results], search)
        return Imported(results, warnings)

    def records(self, *, source: str | None = None) -> pd.DataFrame:
        """One row per stored record (optionally of one ``source``), in import order."""
        with self.open_store() as store:
            rows = [
                {
                    "id": s.id,
                    "source": s.source,
                    "import_id": s.import_id,
                    "position": s.position,
                    **{name: getattr(s.record, name) for name in FIELDS},
                }
                for s in store.iter_records(source=source)
            ]
        return _frame(rows, RECORD_COLUMNS)

    def imports(self) -> pd.DataFrame:
        """``scoping records --imports``: one row per imported file."""
        from scoping.store import ImportRow

        with self.open_store() as store:
            rows = [asdict(row) for row in store.list_imports()]
        return _frame(rows, [f.name for f in fields(ImportRow)])

    def export(
        self,
        out: str | os.PathLike[str],
        fmt: str,
        *,
        source: str | None = None,
        included: bool = False,
        stage: str | None = None,
        reviewer: str | None = None,
    ) -> int:
        """``scoping export``: write records to a RIS, CSV or BibTeX file, whole or not at all;
        returns the number of records written.

        While screening is under way, the included works and the labelled file tell how the
        reviewers decided: only a lead (``reviewer``) gets them then.

        By default every stored record (optionally of one ``source``). With ``included``: one
        record per work included at ``stage`` (default: the last stage with final decisions),
        its merged view, with its work id, stage, decision, reason and resolver. ``fmt``
        "asreview" writes ASReview's labelled CSV: every screened work with ``label_included``
        (1, 0, or empty while not final).
        """
        from scoping.ingest import EXPORT_FORMATS, write_records

        if fmt != ASREVIEW and fmt not in EXPORT_FORMATS:
            choices = ", ".join([*EXPORT_FORMATS, ASREVIEW])
            raise UsageError(f"unknown export format {fmt!r}; choose one of: {choices}")
        if included and fmt == ASREVIEW:
            raise UsageError(
                "--format asreview labels every screened work (1 included, 0 excluded); drop --included"
            )
        if (included or fmt == ASREVIEW) and source is not None:
            raise UsageError(
                "--source selects stored records; it cannot be combined with --included or asreview"
            )
        if stage is not None and not (included or fmt == ASREVIEW):
            raise UsageError("--stage goes with --included or --format asreview")
        if included or fmt == ASREVIEW:
            self._refuse_while_blinded(reviewer, "the included works and the screening labels")
        target = Path(out)
        extra: tuple[str, ...]
        with self.open_store() as store:
            if fmt == ASREVIEW:
                from scoping.report.exports import LABEL_COLUMN, labelled_works

                records: Iterable[Any] = [w.record for w in labelled_works(store, stage)]
                fmt, extra = "csv", ("work_id", LABEL_COLUMN)
            elif included:
                from scoping.report.exports import INCLUDED_FIELDS, included_works

                records, extra = [w.record for w in included_works(store, stage)], INCLUDED_FIELDS
            else:
                records, extra = (s.record for s in store.iter_records(source=source)), ()
            return write_whole(target, lambda stream: write_records(records, stream, fmt, extra_fields=extra))

    def export_decisions(self, lead: str, out: str | os.PathLike[str]) -> int:
        """``scoping decisions export --reviewer LEAD``: every decision, with its work's
        resolution and outcome, to a CSV file (leads only); returns the number of rows."""
        import csv

        from scoping.report.exports import DECISION_EXPORT_COLUMNS, decision_rows

        protocol = self.protocol()
        with self.open_store() as store:
            rows = decision_rows(store, protocol, lead)

        def write(stream: TextIO) -> int:
            writer = csv.DictWriter(stream, fieldnames=DECISION_EXPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            return len(rows)

        return write_whole(Path(out), write)

    # -- searches ------------------------------------------------------------------------

    def search_plan(self) -> list[Query]:
        """``scoping search plan``: the exact query for every database of the strategy."""
        from scoping.search import load_strategy, plan

        return plan(load_strategy(self.strategy_path))

    def search_log(self, *, database: str | None = None) -> list[LogEntry]:
        """``scoping search log``: every search run and import, in the strategy's order (or
        only those of ``database``)."""
        from scoping.search import load_strategy, search_log

        strategy = load_strategy(self.strategy_path)
        with self.open_store() as store:
            return search_log(store, strategy, database=database)

    def strategy(self) -> Strategy:
        """The search strategy (``searches/strategy.toml``), read and checked."""
        from scoping.search import load_strategy

        return load_strategy(self.strategy_path)

    def search_targets(
        self, database: str | None = None, *, resume: str | None = None
    ) -> list[Database | str]:
        """What ``scoping search run`` searches: the database of run ``resume``, or the database
        ``database``, or else every database of the strategy with an open API."""
        from scoping.search import PLATFORMS
        from scoping.store.search_tables import get_run

        strategy = self.strategy()
        if resume is not None:
            with self.open_store() as store:
                earlier = get_run(store, resume)
            if earlier is None:
                raise UsageError(f"there is no search run {resume!r}; 'scoping search log' lists the runs")
            return [strategy.find_database(earlier.database) or earlier.database]
        if database is not None:
            return [strategy.database(database)]
        targets: list[Database | str] = [db for db in strategy.databases if PLATFORMS[db.platform].api]
        if not targets:
            raise UsageError(
                "the strategy lists no database with an open API; name one with "
                "--database (pubmed, europepmc, openalex, crossref)"
            )
        return targets

    def search_run(
        self,
        database: Database | str,
        *,
        new: bool = False,
        resume: str | None = None,
        update: bool = False,
        progress: Callable[[ProgressEvent], None] | None = None,
        workers: int = 0,
    ) -> RunResult:
        """``scoping search run``: search one API database and store its records (one of
        :meth:`search_targets`; a name is looked up in the strategy). ``workers``: child
        processes that may parse PubMed pages of a long run (as for :meth:`import_files`)."""
        from scoping.search import SearchConfig, run_search

        strategy = self.strategy()
        with self.open_store() as store:
            return run_search(
                self,
                strategy,
                database,
                store=store,
                config=dataclasses.replace(SearchConfig.load(strategy), parse_workers=workers),
                new=new,
                resume=resume,
                update=update,
                progress=progress,
            )

    def count_targets(self, database: str | None = None) -> list[Database]:
        """What ``scoping search counts`` counts in: the database ``database``, or else the
        strategy's databases whose API can count terms."""
        from scoping.search.counts import COUNTABLE

        strategy = self.strategy()
        if database is not None:
            return [strategy.database(database)]
        targets = [db for db in strategy.databases if db.platform in COUNTABLE]
        if not targets:
            raise UsageError(
                "the strategy lists no database that can count terms; name one with "
                "--database (pubmed, europepmc or openalex)"
            )
        return targets

    def term_counts(
        self, database: Database, *, progress: Callable[[int, int], None] | None = None
    ) -> list[TermCount]:
        """``scoping search counts``: hits of every term and block in one database (live)."""
        from scoping.search import SearchConfig, term_counts

        strategy = self.strategy()
        return term_counts(strategy, database, config=SearchConfig.load(strategy), progress=progress)

    def check_searches(self) -> SeedCheck:
        """``scoping search check``: the seed studies each database found and missed, and the
        plurals no term finds."""
        from scoping.search.check import check_seeds, missing_plurals

        strategy = self.strategy()
        if not strategy.seeds:
            raise UsageError(
                "searches/strategy.toml has no [seeds]: list the DOIs and PMIDs of studies the searches "
                'must find (dois = ["10.1000/xyz"], pmids = ["12345678"])'
            )
        with self.open_store() as store:
            return SeedCheck(strategy, check_seeds(store, strategy), missing_plurals(store, strategy))

    def update_arms(self) -> tuple[str | None, list[UpdateArms]]:
        """The end of ``scoping search log``: each database's records in PRISMA 2020's previous
        and new arms (the start of the first update search, or ``None`` before one)."""
        from scoping.search import update_arms

        with self.open_store() as store:
            return update_arms(store)

    # -- de-duplication ------------------------------------------------------------------

    def dedupe(self, *, rebuild: bool = False, method: str = "rules") -> DedupeResult:
        """``scoping dedupe``: link the records of each publication into one work.

        ``method`` is what decides a compared pair: ``"rules"`` (the default) or ``"model"``
        (the calibrated pair model shipped with the package).
        """
        from scoping.dedupe.api import run_dedupe
        from scoping.screen.carry import relinking

        if method not in ("rules", "model"):
            raise UsageError(f"unknown de-duplication method {method!r}: use 'rules' or 'model'")
        with self.open_store() as store, relinking(store):
            return run_dedupe(store, rebuild=rebuild, model="default" if method == "model" else None)

    def dedupe_run(
        self,
        *,
        rebuild: bool = False,
        method: str = "rules",
        viewer: str = "",
        sees_all: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> DedupeRun:
        """``scoping dedupe``, all of it: :meth:`dedupe`, with ``progress(phase, done, total)``,
        what each join of works already in screening means for it (as ``viewer`` may see it;
        ``sees_all``: a lead), and how many doubtful pairs wait for a person."""
        from scoping.dedupe import api
        from scoping.screen import carry

        if method not in ("rules", "model"):
            raise UsageError(f"unknown de-duplication method {method!r}: use 'rules' or 'model'")
        joins: list[tuple[int, int, Impact]] = []
        with self.open_store() as store:

            def before_save(result: DedupeResult) -> None:
                for keep, olds in carry.run_joins(store, result):
                    for old in olds:
                        joins.append(
                            (keep, old, carry.join_impact(store, keep, old, viewer=viewer, sees_all=sees_all))
                        )

            with carry.relinking(store):  # the new links and screening's carry: together or neither
                result = api.run_dedupe(
                    store,
                    rebuild=rebuild,
                    progress=progress,
                    before_save=before_save,
                    model="default" if method == "model" else None,
                )
            return DedupeRun(result, joins, api.pending_count(store))

    @contextmanager
    def pair_review(
        self, reviewer: str, *, sees_all: bool = False, limit: int | None = None
    ) -> Iterator[PairReview]:
        """``scoping dedupe review``: ``reviewer`` deciding the doubtful pairs (at most ``limit``);
        ``sees_all``: a lead, who may see everyone's screening decisions in a join's impact. The
        store stays open until the block ends."""
        from scoping.dedupe import api

        with self.open_store() as store:
            yield PairReview(store, api.review_queue(store, limit=limit), reviewer, sees_all)

    def split_impact(self, work: int, *, viewer: str, sees_all: bool = False) -> tuple[Impact, list[int]]:
        """What ``scoping dedupe undo WORK`` would mean for screening (as ``viewer`` may see it;
        ``sees_all``: a lead), and the work's records."""
        from scoping.dedupe import api
        from scoping.screen.carry import split_impact

        with self.open_store() as store:
            return split_impact(store, work, viewer=viewer, sees_all=sees_all), api.work_records(store, work)

    def undo_work(self, work: int, *, by: str) -> list[int]:
        """``scoping dedupe undo WORK``: split a work back into its records (later runs keep them
        apart); its screening decisions follow the records, in the same transaction."""
        from scoping.dedupe import api
        from scoping.screen.carry import relinking

        with self.open_store() as store, relinking(store):
            return api.undo_work(store, work, by=by)

    def overlap(self) -> Overlap:
        """``scoping dedupe overlap``: works per database, and those found only there."""
        from scoping.dedupe.api import overlap

        with self.open_store() as store:
            return overlap(store)

    def works(self) -> pd.DataFrame:
        """One row per work (after :meth:`dedupe`): its records, sources and merged fields."""
        from scoping.dedupe import merge_records
        from scoping.store.dedupe_tables import load_assignment

        grouped: dict[int, list[tuple[int, str, Any]]] = {}
        with self.open_store() as store:
            work_of = load_assignment(store)
            for s in store.iter_records():
                work = work_of.get(s.id)
                if work is not None:
                    grouped.setdefault(work, []).append((s.id, s.source, s.record))
        rows = []
        for work_id in sorted(grouped):
            merged = merge_records(work_id, grouped[work_id])
            rows.append(
                {
                    "work_id": work_id,
                    "records": len(merged.record_ids),
                    "sources": merged.sources,
                    "record_ids": merged.record_ids,
                    **{name: merged.value(name) for name in WORK_COLUMNS[4:]},
                }
            )
        return _frame(rows, WORK_COLUMNS)

    # -- screening -----------------------------------------------------------------------

    def assign(self, lead: str, *, stage: str | None = None) -> list[StageAllocation]:
        """``scoping assign --reviewer LEAD``: allocate the works nobody screens yet."""
        from scoping.screen import assign_works

        protocol = self.protocol()
        with self.open_store() as store:
            return assign_works(store, protocol, lead, [stage] if stage else None)

    def decide(
        self,
        reviewer: str,
        work_id: int,
        decision: str,
        *,
        stage: str = "title-abstract",
        reason: str | None = None,
        note: str | None = None,
        fulltext: str | None = None,
    ) -> DecisionRow:
        """One screening decision (what ``scoping screen`` stores for each work): checked
        against the protocol and appended; committed when this returns."""
        from scoping.screen import record_decision

        protocol = self.protocol()
        with self.open_store() as store:
            return record_decision(
                store,
                protocol,
                reviewer,
                stage,
                work_id,
                decision,
                reason=reason,
                note=note,
                fulltext=fulltext,
            )

    def decisions(self, reviewer: str | None = None, *, stage: str | None = None) -> pd.DataFrame:
        """One row per stored decision, oldest first (the history: a changed decision is a
        later row, a withdrawn one a row "undone").

        Without ``reviewer``: every decision, as whoever holds the store sees it. With
        ``reviewer=NAME`` (a reviewer of the protocol): only NAME's own decisions, which is all
        that blinding lets a reviewer see.
        """
        from scoping.store.screen_tables import decision_history

        name = self.protocol().reviewer(reviewer).name if reviewer is not None else None
        with self.open_store() as store:
            rows = [asdict(row) for row in decision_history(store, stage, reviewer=name)]
        return _frame(rows, DECISION_COLUMNS)

    def conflicts(self, lead: str, *, stage: str = "title-abstract") -> list[Conflict]:
        """``scoping conflicts``: the works waiting for a lead (leads only)."""
        from scoping.screen import conflicts

        protocol = self.protocol()
        with self.open_store() as store:
            return conflicts(store, protocol, lead, stage)

    def doubtful_pairs(self) -> int:
        """How many doubtful duplicate pairs still wait for a person ('scoping dedupe review')."""
        from scoping.screen import doubtful_pairs

        with self.open_store() as store:
            return doubtful_pairs(store)

    @contextmanager
    def screening(
        self, reviewer: str, *, stage: str = "title-abstract", via: str = "api", workers: int = 0
    ) -> Iterator[tuple[ScreeningSession, QueueOrder]]:
        """``scoping screen``: ``reviewer``'s screening session at ``stage``, in the queue's order
        (ranked by the model, or the team's seeded order), with that order; the store stays open
        until the block ends. With ``workers`` (at least 1) the ranking model's features are
        built in a child process (as for :meth:`import_files`), else in a thread of this one."""
        from scoping.screen import ScreeningSession, queue_order

        protocol = self.protocol()
        name = protocol.reviewer(reviewer).name
        with (
            self.open_store() as store,
            queue_order(store, protocol, stage, reviewer=name, workers=workers) as order,
        ):
            session = ScreeningSession(
                store, protocol, reviewer, stage, via=via, rank=order.rank, rerank_every=order.rerank_every
            )
            yield session, order

    def write_worksheet(
        self, reviewer: str, out: str | os.PathLike[str], *, stage: str = "title-abstract"
    ) -> int:
        """``scoping screen --to-csv FILE``: ``reviewer``'s works still to screen at ``stage``, as a
        worksheet to fill in elsewhere; written whole or not at all. Returns the number of works."""
        from scoping.screen import WORKSHEET_COLUMNS, worksheet

        protocol = self.protocol()
        columns = [*WORKSHEET_COLUMNS, *(("fulltext",) if stage == "full-text" else ())]

        def write(stream: TextIO) -> int:
            writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            n = 0
            with self.open_store() as store:
                for row in worksheet(store, protocol, reviewer, stage):
                    writer.writerow(row)
                    n += 1
            return n

        return write_whole(Path(out), write)

    def load_decisions(
        self, reviewer: str, path: str | os.PathLike[str], *, stage: str = "title-abstract"
    ) -> CsvReport:
        """``scoping screen --from-csv FILE``: decisions made elsewhere, checked row by row and
        stored all or none (the report's ``errors`` say why none were)."""
        from scoping.screen import load_decisions_csv

        protocol = self.protocol()
        with self.open_store() as store:
            return load_decisions_csv(store, protocol, reviewer, stage, Path(path))

    def stopping(self, lead: str, action: str | None = None) -> StoppingStatus:
        """``scoping stop``: where the statistical stopping rule of title-abstract screening
        stands (leads only), after ``action``: ``"start"`` (the random sample), ``"apply"`` (the
        stop), ``"resume"`` (take the stop back) or ``"cancel"`` (the sample), or none."""
        from scoping import screen

        actions: dict[str | None, Callable[[Store, Protocol, str], StoppingStatus]] = {
            None: screen.stopping_status,
            "start": screen.start_sampling,
            "apply": screen.apply_stop,
            "resume": screen.resume_screening,
            "cancel": screen.cancel_sampling,
        }
        if action not in actions:
            raise UsageError(f"unknown stopping action {action!r}: use start, apply, resume or cancel")
        protocol = self.protocol()
        with self.open_store() as store:
            return actions[action](store, protocol, lead)

    def to_resolve(
        self, lead: str, *, stage: str = "title-abstract", work_id: int | None = None
    ) -> list[tuple[Conflict, Card | None]]:
        """What ``scoping resolve`` shows a lead (leads only): each conflict at ``stage`` with the
        card of its work; with ``work_id``, only that work, and a work without a conflict comes
        "by request" with the decisions on it."""
        from scoping.screen import Conflict, conflicts, load_card, work_decisions

        protocol = self.protocol()
        name = protocol.lead(lead).name
        with self.open_store() as store:
            items = conflicts(store, protocol, name, stage)
            if work_id is not None:
                items = [c for c in items if c.work_id == work_id]
                if not items:
                    rows = work_decisions(store, protocol, name, stage, work_id)
                    items = [Conflict(work_id, stage, "by request", tuple(rows))]
            return [(item, load_card(store, item.work_id)) for item in items]

    def resolve(
        self,
        lead: str,
        work_id: int,
        decision: str,
        *,
        stage: str = "title-abstract",
        reason: str | None = None,
        note: str | None = None,
    ) -> ResolutionRow:
        """What ``scoping resolve`` stores for one work: a lead settles it (leads only)."""
        from scoping.screen import resolve

        protocol = self.protocol()
        with self.open_store() as store:
            return resolve(store, protocol, lead, stage, work_id, decision, reason=reason, note=note)

    def agreement(self, lead: str, *, stage: str = "title-abstract") -> list[PairAgreement]:
        """``scoping agreement``: kappa, PABAK and AC1 for each pair of reviewers (leads only)."""
        from scoping.screen import team_agreement

        protocol = self.protocol()
        with self.open_store() as store:
            return team_agreement(store, protocol, lead, stage)

    def status(self, reviewer: str, *, stage: str | None = None) -> list[StageStatus]:
        """``scoping status``: progress by stage (a reviewer sees only their own counts)."""
        from scoping.screen import status

        protocol = self.protocol()
        with self.open_store() as store:
            return status(store, protocol, reviewer, [stage] if stage else None)

    def outcomes(self) -> pd.DataFrame:
        """One row per work and stage that has an outcome: "include", "exclude",
        "not-retrieved" (final), or "pending"/"conflict", derived from the decisions."""
        from scoping.screen import STAGES, final_outcomes

        rows: list[dict[str, Any]] = []
        with self.open_store() as store:
            for stage in STAGES:
                found = final_outcomes(store, stage)
                rows.extend(asdict(found[work]) for work in sorted(found))
        return _frame(rows, OUTCOME_COLUMNS)

    # -- topics --------------------------------------------------------------------------

    def fit_topics(
        self,
        made_by: str,
        *,
        stage: str = "full-text",
        n_topics: int | str = "auto",
        seed: int = 0,
        threshold: float = 0.2,
        works_file: str | os.PathLike[str] | None = None,
        fmt: str | None = None,
        encoding: str | None = None,
    ) -> FitResult:
        """``scoping topics fit --by NAME``: topics of the works included at ``stage``, or of
        the records of ``works_file`` (a file 'scoping import' reads; records of one work,
        by DOI, PMID or title, count once: ``duplicates`` of the result)."""
        from scoping.ingest import inspect_file, iter_records
        from scoping.topics import api as topics_api

        with self.open_store() as store:
            duplicates = 0
            if works_file is not None:
                info = inspect_file(works_file, encoding=encoding, fmt=fmt)
                source = f"works file {info.path.name} (sha256 {info.sha256[:12]})"
                loaded = topics_api.works_from_records(iter_records(info), source=source)
                works, duplicates = loaded.works, loaded.duplicates
            else:
                works = topics_api.works_from_screening(store, stage)
                source = f"screening, included at {stage}"
            result = topics_api.fit_topics(
                store,
                works,
                source=source,
                made_by=made_by,
                n_topics=n_topics,
                random_state=seed,
                threshold=threshold,
            )
        return dataclasses.replace(result, duplicates=duplicates)

    def topic_fit(self) -> LoadedFit:
        """``scoping topics show``: the latest topic fit, after the lead's edits."""
        from scoping.topics import api as topics_api

        with self.open_store() as store:
            return topics_api.load_fit(store)

    def topic_fits(self) -> list[FitRow]:
        """``scoping topics show --fits``: every topic fit, oldest first."""
        from scoping.store import topics_tables

        with self.open_store() as store:
            return topics_tables.list_fits(store)

    def topics(self) -> pd.DataFrame:
        """One row per topic of the latest fit, after the lead's edits (empty before a fit)."""
        from scoping.store import topics_tables
        from scoping.topics import api as topics_api
        from scoping.topics import evidence

        with self.open_store() as store:
            if topics_tables.latest_fit_id(store) is None:
                rows: list[dict[str, Any]] = []
            else:
                rows = evidence.topic_rows(topics_api.load_fit(store).state)
        return _frame(rows, TOPIC_COLUMNS)

    # -- reporting -----------------------------------------------------------------------

    def prisma_counts(self, *, topics: bool = True, reviewer: str | None = None) -> PrismaCounts:
        """The PRISMA 2020 counts, derived from the store (and ``screening/prisma-manual.toml``).

        While screening is under way its counts are left out unless ``reviewer`` is a lead;
        ``topics=False`` leaves out the included sources by topic.
        """
        from scoping.report.api import no_topics, prisma_counts, screening_blinded

        return prisma_counts(
            self, topics=None if topics else no_topics, blinded=screening_blinded(self, reviewer)
        )

    def prisma(
        self,
        *,
        fmt: str | None = None,
        out: str | os.PathLike[str] | None = None,
        dpi: int = 300,
        screening_reasons: bool = False,
        topics: bool = True,
        reviewer: str | None = None,
    ) -> PrismaResult:
        """``scoping prisma``: the flow diagram and counts into ``outputs/`` (or one file);
        ``topics=False`` leaves out the box of included sources by topic. While screening is
        under way its counts are left out unless ``reviewer`` is a lead."""
        from scoping.report.api import make_prisma, no_topics

        return make_prisma(
            self,
            fmt=fmt,
            out=out,
            dpi=dpi,
            screening_reasons=screening_reasons,
            topics=None if topics else no_topics,
            reviewer=reviewer,
        )

    def report(
        self, out: str | os.PathLike[str] | None = None, *, reviewer: str | None = None, topics: bool = True
    ) -> Path:
        """``scoping report``: the report page (``outputs/report.html``); returns its path.
        ``topics=False``: its PRISMA diagram without the topic box."""
        from scoping.report.page import build_report

        return build_report(self, out, reviewer=reviewer, topics=topics)

    def checklist(self, *, reviewer: str | None = None) -> list[Path]:
        """``scoping checklist``: the PRISMA-ScR checklist and the automation statement, filled
        from the data, as ``outputs/prisma-scr-checklist.html`` and ``.md``; returns the paths.
        While screening is under way only a lead (``reviewer``) may write it (it has screening's
        counts)."""
        from scoping.report.checklist import write_checklist

        self._refuse_while_blinded(reviewer, "the checklist (it has screening's counts)")
        return write_checklist(self)[1]

    def _refuse_while_blinded(self, reviewer: str | None, what: str) -> None:
        """Blinding: while screening is under way, ``what`` would tell a reviewer how the
        others decided, so only a lead of the protocol gets it."""
        from scoping.report.api import screening_blinded

        if screening_blinded(self, reviewer):
            raise UsageError(
                f"screening is under way, so {what} would tell a reviewer how the others "
                "decided; a lead gets them with --reviewer LEAD"
            )


@dataclass(slots=True)
class SimulationInput:
    """A labelled dataset read for ``scoping simulate``, with the prior it starts from."""

    path: Path
    labelled: LabelledSet
    criteria: str
    """The inclusion criteria, and the titles of seed studies not found in the dataset."""
    seed_rows: list[int]
    """The rows of the seed studies found in the dataset (screened first)."""
    seeds_named: int
    """How many seed studies were named (found or not)."""


def simulation_input(
    dataset: str | os.PathLike[str],
    *,
    label_column: str,
    fmt: str | None = None,
    encoding: str | None = None,
    criteria: str = "",
    seed_studies: Sequence[str] = (),
) -> SimulationInput:
    """``scoping simulate``'s input: the dataset's records and labels (from ``label_column``),
    and ``seed_studies`` (a DOI or a title each) matched against them; no review is needed."""
    from scoping.ingest import inspect_file, iter_records
    from scoping.screen.prior import match_seed_studies
    from scoping.screen.simulate import labelled_from_records

    info = inspect_file(dataset, encoding=encoding, fmt=fmt)
    labelled = labelled_from_records(iter_records(info), label_column, source=info.path.name)
    if not seed_studies:
        return SimulationInput(info.path, labelled, criteria, [], 0)
    found = match_seed_studies(seed_studies, labelled.dois, labelled.titles)
    labelled.notes.append(
        f"seed studies: {len(found.rows)} found in the dataset (screened first), "
        f"{len(found.unmatched)} not found (their titles join the criteria text)"
    )
    criteria = "\n".join([criteria, *found.unmatched]).strip()
    return SimulationInput(info.path, labelled, criteria, found.rows, len(found.rows) + len(found.unmatched))


class PairReview:
    """A person deciding doubtful pairs (:meth:`Review.pair_review`): the queue, and a method
    for each answer. Every answer is stored at once."""

    def __init__(self, store: Store, queue: list[QueueItem], reviewer: str, sees_all: bool) -> None:
        self.store = store
        self.queue = queue
        self.reviewer = reviewer
        self.sees_all = sees_all

    def pending(self, item: QueueItem) -> bool:
        """Whether the pair's records are still in two works (not joined meanwhile)."""
        from scoping.dedupe import api

        return api.still_pending(self.store, item)

    def join_impact(self, item: QueueItem) -> tuple[int, int, Impact] | None:
        """What answering "same" would mean for screening: ``(kept work, joined work, impact)``,
        or ``None`` when the records are in one work already."""
        from scoping.dedupe import api
        from scoping.screen.carry import join_impact

        works = api.works_of_pair(self.store, item.pair.record_a, item.pair.record_b)
        if len(works) != 2:
            return None
        impact = join_impact(self.store, works[0], works[1], viewer=self.reviewer, sees_all=self.sees_all)
        return min(works), max(works), impact

    def decide(self, item: QueueItem, action: str) -> Applied:
        """Store the answer ``action`` ("same", "different" or "skip") on the pair."""
        from scoping.dedupe import api
        from scoping.screen.carry import relinking

        with relinking(self.store):
            return api.decide_pair(
                self.store, item.pair.record_a, item.pair.record_b, action, reviewer=self.reviewer
            )

    def undo(self, last: Applied) -> tuple[int, int, Impact] | None:
        """Take back an answer; for a join, what splitting the work again means for screening:
        ``(work, parts, impact)`` (worked out before the split)."""
        from scoping.dedupe import api
        from scoping.screen.carry import relinking, split_impact

        split = None
        if last.before:
            keep = min(last.after.values())
            impact = split_impact(self.store, keep, viewer=self.reviewer, sees_all=self.sees_all)
            split = (keep, 1 + len(set(last.before.values())), impact)
        with relinking(self.store):
            api.undo_decision(self.store, last, reviewer=self.reviewer)
        return split


def simulate(
    data: SimulationInput,
    *,
    seeds: int,
    rule: StoppingRule,
    stopping: StoppingMethod,
    progress: Callable[[int], None] | None = None,
    ranker: str = "default",
) -> SimulationResult:
    """``scoping simulate``: replay the labelled dataset once per seed (``0 .. seeds-1``) in
    the prioritisation model's order, with the ``stopping`` method (a method of
    :mod:`scoping.screen.stop_methods`) tested as the decisions come; ``progress(runs done)``;
    ``ranker`` one of :data:`scoping.screen.simulate.RANKERS`."""
    from scoping.screen.simulate import simulate as replay

    labelled = data.labelled
    return replay(
        labelled.texts,
        labelled.labels,
        seeds=range(seeds),
        rule=rule,
        stopping=stopping,
        notes=labelled.notes,
        progress=None if progress is None else (lambda done, _run: progress(done)),
        criteria=data.criteria or None,
        seed_rows=data.seed_rows,
        ranker_kind=ranker,
    )


def open_review(path_or_url: str | os.PathLike[str] | None = None, *, db: str | None = None) -> Review:
    """The review at ``path_or_url``.

    ``path_or_url`` is a review folder (or a folder inside one; default: the current folder),
    the review's SQLite file, or a database URL (``postgresql://user@host/db`` for a team's
    shared store: the folder, for the protocol and the outputs, is then the one around the
    current folder). The folder of an SQLite file is the review folder around it, or else the
    file's own folder. ``db`` names the database of a folder, like ``--db``.
    """
    target = os.fspath(path_or_url) if path_or_url is not None else None
    start: str | None = target
    if target is not None and "://" in target:
        db, start = target, None
        if target.startswith("sqlite:///") and Path(target[len("sqlite:///") :]).is_file():
            start = str(Path(target[len("sqlite:///") :]).resolve().parent)
    elif target is not None and Path(target).is_file():
        db = str(Path(target).resolve())
        start = str(Path(target).resolve().parent)
    try:
        return Review.of(folder.find_review(start, db=db))
    except ReviewFolderError:
        if db is None or (start is not None and not Path(start).is_dir()):
            raise
        # a store without a review folder around it: its records, works and decisions can
        # still be read; what needs the protocol says that it is missing
        return Review(root=Path(start or Path.cwd()).resolve(), db=db)


def init_review(directory: str | os.PathLike[str], *, db: str | None = None) -> Review:
    """``scoping init DIR``: a new review folder with commented templates and an empty store."""
    return Review.of(folder.init_review(directory, db=db))
