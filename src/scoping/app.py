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
``scoping search plan``        :meth:`Review.search_plan`
``scoping search log``         :meth:`Review.search_log`, :meth:`Review.update_arms`
``scoping dedupe``             :meth:`Review.dedupe`; :meth:`Review.works` (DataFrame)
``scoping dedupe overlap``     :meth:`Review.overlap`
``scoping assign``             :meth:`Review.assign`
``scoping screen``             :meth:`Review.decide` (one decision); :meth:`Review.decisions`
``scoping conflicts``          :meth:`Review.conflicts`
``scoping resolve``            :meth:`Review.resolve`
``scoping agreement``          :meth:`Review.agreement`
``scoping status``             :meth:`Review.status`; :meth:`Review.outcomes` (DataFrame)
``scoping topics fit``         :meth:`Review.fit_topics`; :meth:`Review.topics` (DataFrame)
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

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from scoping import review as folder
from scoping.errors import ReviewFolderError, UsageError
from scoping.files import replace_into
from scoping.records import FIELDS

if TYPE_CHECKING:
    import pandas as pd

    from scoping.dedupe import DedupeResult, Overlap
    from scoping.ingest.importer import ImportResult
    from scoping.report.api import PrismaResult
    from scoping.report.prisma import PrismaCounts
    from scoping.screen import Conflict, PairAgreement, Protocol, StageAllocation, StageStatus
    from scoping.search import LogEntry, Query, UpdateArms
    from scoping.store.screen_tables import DecisionRow, ResolutionRow
    from scoping.topics.workflow import FitResult

__all__ = ["Review", "init_review", "open_review"]

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


def _write_whole(target: Path, write: Callable[[TextIO], int]) -> int:
    """Run ``write`` on a temporary file beside ``target``, then move it into place: the file
    is written whole or not at all. Returns what ``write`` returns."""
    if not target.parent.exists():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            n = write(stream)
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return n


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
    ) -> list[ImportResult]:
        """``scoping import FILES --source NAME``: every file is checked before any is stored,
        then each is imported whole or not at all."""
        from scoping.ingest.importer import import_files

        with self.open_store() as store:
            return import_files(store, files, source=source, fmt=fmt, encoding=encoding, again=again)

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
            return _write_whole(
                target, lambda stream: write_records(records, stream, fmt, extra_fields=extra)
            )

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

        return _write_whole(Path(out), write)

    # -- searches ------------------------------------------------------------------------

    def search_plan(self) -> list[Query]:
        """``scoping search plan``: the exact query for every database of the strategy."""
        from scoping.search import load_strategy, plan

        return plan(load_strategy(self.strategy_path))

    def search_log(self) -> list[LogEntry]:
        """``scoping search log``: every search run and import, in the strategy's order."""
        from scoping.search import load_strategy, search_log

        strategy = load_strategy(self.strategy_path)
        with self.open_store() as store:
            return search_log(store, strategy)

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

        if method not in ("rules", "model"):
            raise UsageError(f"unknown de-duplication method {method!r}: use 'rules' or 'model'")
        with self.open_store() as store:
            return run_dedupe(store, rebuild=rebuild, model="default" if method == "model" else None)

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
    ) -> FitResult:
        """``scoping topics fit --by NAME``: topics of the works included at ``stage``."""
        from scoping.topics import workflow

        with self.open_store() as store:
            works = workflow.works_from_screening(store, stage)
            return workflow.fit_topics(
                store,
                works,
                source=f"screening, included at {stage}",
                made_by=made_by,
                n_topics=n_topics,
                random_state=seed,
                threshold=threshold,
            )

    def topics(self) -> pd.DataFrame:
        """One row per topic of the latest fit, after the lead's edits (empty before a fit)."""
        from scoping.store import topics_tables
        from scoping.topics import evidence, workflow

        with self.open_store() as store:
            if topics_tables.latest_fit_id(store) is None:
                rows: list[dict[str, Any]] = []
            else:
                rows = evidence.topic_rows(workflow.load_fit(store).state)
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
