"""The demo review: a review folder built offline from bundled real public data.

``build_demo(DIR)`` makes a review folder and runs the stages that exist on the bundled files
(``scoping/data/demo/manifest.toml`` lists each file, the database it stands for, and its
origin and licence). It grows as stages land. The demo's simulated reviewers are in
:mod:`scoping.demo.reviewers`. Nothing in the stages imports this package (the ``layers``
contract puts it above them), so demo code stays out of the production paths.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from scoping.app import Review as FrontDoor
from scoping.app import init_review
from scoping.dedupe.api import decide_pair, review_queue, run_dedupe
from scoping.demo.reviewers import ScreeningSummary, load_truth, simulate_screening, work_truth
from scoping.errors import ReviewFolderError
from scoping.files import parse_toml
from scoping.ingest import inspect_file
from scoping.ingest.api import import_file
from scoping.review import Review
from scoping.screen import FULL_TEXT, load_protocol
from scoping.store import Store, dedupe_tables
from scoping.topics import api as topics_api

__all__ = ["DemoResult", "build_demo", "demo_files"]


@dataclass(frozen=True, slots=True)
class DemoFile:
    path: Path
    source: str
    origin: str
    licence: str


@dataclass(slots=True)
class DemoResult:
    review: Review
    imported: list[tuple[DemoFile, int]] = field(default_factory=list)
    total_records: int = 0
    by_source: list[tuple[str, int]] = field(default_factory=list)
    works: int = 0
    screening: ScreeningSummary | None = None
    topics: list[tuple[str, str, int]] = field(default_factory=list)
    prisma: Any = None
    exports: list[Path] = field(default_factory=list)
    """The included works (RIS), every decision (CSV) and ASReview's labelled file, in outputs/."""
    checklist: list[Path] = field(default_factory=list)
    report: Path | None = None


def demo_files() -> list[DemoFile]:
    """The bundled demo files, as listed in the manifest."""
    base = resources.files("scoping").joinpath("data", "demo")
    text = base.joinpath("manifest.toml").read_text(encoding="utf-8")
    manifest = parse_toml(text, what="the demo's manifest", source="manifest.toml")
    files = []
    for entry in manifest["file"]:
        path = Path(str(base.joinpath(entry["path"])))
        files.append(
            DemoFile(path=path, source=entry["source"], origin=entry["origin"], licence=entry["licence"])
        )
    return files


MARKER = ".scoping-demo"
"""A file that marks a folder as a demo review, which ``replace=True`` may delete."""


DEMO_DEDUPE = "simulated lead (demo)"
"""Who decides the demo's doubtful duplicate pairs."""


def _decide_doubtful(store: Store) -> int:
    """The simulated lead decides every doubtful pair: the same work when the two records share
    a PMID or DOI, different otherwise. Returns how many pairs were joined."""
    same = 0
    for item in review_queue(store):
        keys = [{k for k in (rec.pmid, (rec.doi or "").lower()) if k} for _, _, rec in (item.a, item.b)]
        decision = "same" if keys[0] & keys[1] else "different"
        decide_pair(
            store, item.pair.record_a, item.pair.record_b, decision, reviewer=DEMO_DEDUPE, note="demo"
        )
        same += decision == "same"
    return same


def _hand_on(review: FrontDoor, say: Callable[[str], None]) -> tuple[list[Path], list[Path]]:
    """What a team hands on: the included works (RIS), every decision, the labelled file; and
    the filled checklist. Returns the exports' paths and the checklist's."""
    say("Exporting the included works, the decisions and ASReview's labelled file")
    outputs = review.outputs_dir
    review.export(outputs / "included.ris", "ris", included=True)
    review.export_decisions("lead", outputs / "decisions.csv")
    review.export(outputs / "labelled-asreview.csv", "asreview")
    exports = [outputs / "included.ris", outputs / "decisions.csv", outputs / "labelled-asreview.csv"]
    say("Filling the PRISMA-ScR checklist and the automation statement")
    return exports, review.checklist()


def build_demo(
    directory: str | os.PathLike[str],
    *,
    replace: bool = False,
    step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Build the demo review in ``directory``.

    The folder must be new or empty; with ``replace``, an earlier demo review there (a folder
    holding the demo marker file) is deleted first. Any other folder is left alone.
    """
    root = Path(directory)
    say = step or (lambda _msg: None)
    if root.exists() and not root.is_dir():
        raise ReviewFolderError(f"{root} is a file; choose a new folder for the demo")
    if root.exists() and any(root.iterdir()):
        if replace and (root / MARKER).is_file():
            say(f"Removing the earlier demo review in {root}")
            shutil.rmtree(root)
        else:
            hint = (
                "it is not an earlier demo review, so --replace leaves it alone"
                if replace
                else "choose a new folder, or pass --replace to rebuild a demo"
            )
            raise ReviewFolderError(f"{root} is not empty; {hint}")
    say(f"Creating the review folder {root}")
    review = init_review(root)
    (review.root / MARKER).write_text("made by 'scoping demo'; safe to delete\n", encoding="utf-8")
    base = resources.files("scoping").joinpath("data", "demo")
    for name, target in (("strategy.toml", review.strategy_path), ("protocol.toml", review.protocol_path)):
        target.write_text(base.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    result = DemoResult(review=review)
    exports = review.exports_dir
    with review.open_store() as store:
        for demo in demo_files():
            # exports are kept in the review, as a real review keeps them, never modified
            copy = exports / demo.path.name
            copy.write_bytes(demo.path.read_bytes())
            info = inspect_file(copy)
            say(f"Importing {copy.name} as {demo.source} ({info.format})")
            imported = import_file(
                store,
                info,
                source=demo.source,
                note=f"demo data, not a real search of {demo.source}: {demo.origin}",
            )
            result.imported.append((demo, imported.row.n_records))
        result.total_records = store.count_records()
        result.by_source = store.count_by_source()
        say("De-duplicating: linking the records of each publication into one work")
        run_dedupe(store)
        same = _decide_doubtful(store)
        if same:
            say(f"A SIMULATED lead joined {same:,} doubtful pairs that share a PMID or DOI")
        result.works = len(set(dedupe_tables.load_assignment(store).values()))
        say("Screening with SIMULATED reviewers (ana, ben) and a SIMULATED lead")
        protocol = load_protocol(review.protocol_path)
        truth = work_truth(store, load_truth(Path(str(base.joinpath("truth.csv")))))
        result.screening = simulate_screening(store, protocol, truth, say=say)
        say("Fitting topics to the included works and writing the evidence map")
        works = topics_api.works_from_screening(store, FULL_TEXT)
        fitted = topics_api.fit_topics(
            store, works, source="screening, included at full-text", made_by="demo", random_state=2021
        )
        result.topics = [(t.ref, t.label, len(t.members)) for t in fitted.loaded.state.topics.values()]
        topics_api.write_evidence_map(store, review.outputs_dir / "topics")
    say("Drawing the PRISMA 2020 flow diagram from the store")
    result.prisma = review.prisma()
    result.exports, result.checklist = _hand_on(review, say)
    say("Writing the report page")
    result.report = review.report()
    return result
