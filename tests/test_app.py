"""The front door: ``scoping.open_review`` and the README's notebook session, run as written."""

from __future__ import annotations

import re
import shutil
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import scoping
from scoping import app
from scoping.errors import ReviewFolderError, UsageError
from scoping.review import Review as Folder

DATA = Path(__file__).resolve().parent / "data"
README = Path(__file__).resolve().parents[1] / "README.md"
EXPORTS = {
    "psycinfo.ris": DATA / "asreview" / "ovid_psycinfo.ris",
    "embase.ris": DATA / "asreview" / "embase.ris",
}

PUBLIC = ["Record", "Review", "ScopingError", "__version__", "init_review", "make_record", "open_review"]


def test_the_public_names_are_these_and_all_resolve() -> None:
    assert sorted(scoping.__all__) == PUBLIC
    for name in scoping.__all__:
        assert getattr(scoping, name) is not None
    assert scoping.open_review is app.open_review and scoping.Review is app.Review
    stray = {
        name
        for name, value in vars(scoping).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert stray <= set(scoping.__all__), f"public but not in __all__: {sorted(stray - set(scoping.__all__))}"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = scoping.nothing  # the module __getattr__ raises for unknown names


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's Python blocks, run in order in one namespace, in a folder holding
    ``peer-review/`` (made by ``scoping.init_review``) and the two exports it names."""
    here = tmp_path_factory.mktemp("notebook")
    scoping.init_review(here / "peer-review")
    for name, source in EXPORTS.items():
        shutil.copyfile(source, here / name)
    blocks = _blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    namespace: dict[str, Any] = {"__name__": "readme"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    namespace["_folder"] = here / "peer-review"
    return namespace


def test_the_readme_session_runs_and_gives_dataframes(session: dict[str, Any]) -> None:
    records, works = session["records"], session["works"]
    assert isinstance(records, pd.DataFrame) and len(records) == 12
    assert records.groupby("source").size().to_dict() == {"Embase": 6, "PsycINFO": 6}
    assert list(records.columns[:4]) == ["id", "source", "import_id", "position"]
    assert isinstance(works, pd.DataFrame) and len(works) == 12 and works["records"].sum() == 12
    assert session["by_source"] == [("Embase", 6), ("PsycINFO", 6)]
    assert len(session["titles"]) == 6


def test_decisions_are_all_for_the_holder_and_only_ones_own_for_a_reviewer(session: dict[str, Any]) -> None:
    everything, mine = session["everything"], session["mine"]
    assert len(everything) == 24 and set(everything.reviewer) == {"reviewer1", "reviewer2"}
    assert len(mine) == 12 and set(mine.reviewer) == {"reviewer1"}
    assert set(mine.decision) == {"include"}
    review = scoping.open_review(session["_folder"])
    assert review.decisions(reviewer="lead").empty  # a lead's resolutions are not decisions
    with pytest.raises(UsageError, match="not a reviewer"):
        review.decisions(reviewer="mallory")


def test_outcomes_agreement_topics_prisma_and_report(session: dict[str, Any]) -> None:
    outcomes = session["outcomes"]
    assert len(outcomes) == 12 and set(outcomes.outcome) == {"include"}
    assert set(outcomes.resolved_by) == {"lead"}
    assert session["kappa"] == pytest.approx(0.0)
    assert session["topics"].empty and list(session["topics"].columns) == list(app.TOPIC_COLUMNS)
    assert session["counts"].screening.records_screened.n == 12
    page: Path = session["page"]
    assert page == session["_folder"].resolve() / "outputs" / "report.html" and page.is_file()


def test_blinding_holds_in_the_front_door(session: dict[str, Any]) -> None:
    review = scoping.open_review(session["_folder"])
    with pytest.raises(UsageError, match="only a lead"):
        review.conflicts("reviewer1")
    with pytest.raises(UsageError, match="only a lead"):
        review.agreement("reviewer2")
    (own,) = [s for s in review.status("reviewer1") if s.stage == "title-abstract"]
    assert [r.reviewer for r in own.reviewers] == ["reviewer1"]


def test_open_review_takes_a_folder_inside_it_its_sqlite_file_or_a_url(session: dict[str, Any]) -> None:
    folder: Path = session["_folder"]
    db = folder / "screening" / "review.db"
    for where in (folder, folder / "outputs", db, f"sqlite:///{db}"):
        review = scoping.open_review(where)
        assert isinstance(review, app.Review) and isinstance(review, Folder)
        assert review.root == folder.resolve(), where
        assert len(review.records()) == 12, where


def test_open_review_outside_a_review_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ReviewFolderError, match="scoping init"):
        scoping.open_review(tmp_path)


def test_a_store_without_its_folder_can_still_be_read(session: dict[str, Any], tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copyfile(session["_folder"] / "screening" / "review.db", db)
    review = scoping.open_review(db)
    assert review.root == tmp_path.resolve()
    assert len(review.records()) == 12 and len(review.decisions()) == 24
    with pytest.raises(scoping.ScopingError, match=r"protocol\.toml does not exist"):
        review.decisions(reviewer="reviewer1")


def test_export_writes_the_file_whole(session: dict[str, Any], tmp_path: Path) -> None:
    review = scoping.open_review(session["_folder"])
    assert review.export(tmp_path / "all.csv", "csv", source="Embase") == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.csv"]
    with pytest.raises(UsageError, match="does not exist"):
        review.export(tmp_path / "no" / "all.csv", "csv")


def test_the_other_commands_as_methods(session: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "peer-review"
    shutil.copytree(session["_folder"], folder)
    review = scoping.open_review(folder)
    imports = review.imports()
    assert list(imports.source) == ["PsycINFO", "Embase"] and list(imports.n_records) == [6, 6]
    overlap = review.overlap()
    assert overlap.total_records == 12 and overlap.total_works == 12
    assert [(e.database, e.method, e.retrieved) for e in review.search_log()] == [
        ("PsycINFO", "export", 6),
        ("Embase", "export", 6),
    ]
    assert review.search_plan()  # the template strategy's query for every platform
    since, arms = review.update_arms()  # no update search: every record in the previous arm
    assert since is None and [(a.database, a.previous, a.new) for a in arms] == [
        ("PsycINFO", 6, 0),
        ("Embase", 6, 0),
    ]
    fitted = review.fit_topics("lead", stage="title-abstract", n_topics=2, seed=1)
    topics = review.topics()
    assert len(topics) == 2 == len(fitted.loaded.state.topics)
    assert topics.works.sum() >= 12  # every included work is in at least one topic
    assert [t.n for t in review.prisma_counts(reviewer="lead").included.topics] == list(topics.works)
    assert review.prisma_counts().included.topics == []  # screening is under way: a lead's view
    result = review.prisma(fmt="json")
    assert [kind for kind, _ in result.files] == ["json"] and result.files[0][1].is_file()


def test_dedupe_by_the_model_or_the_rules_and_an_unknown_method_refused(tmp_path: Path) -> None:
    review = scoping.init_review(tmp_path / "rv")
    review.import_files([DATA / "dedupe" / "digital_work.csv"], source="DW")
    by_model = review.dedupe(method="model")
    assert by_model.pairs and all(p.rule.startswith("model P=") for p in by_model.pairs)
    by_rules = review.dedupe(rebuild=True)
    assert by_rules.pairs and not any(p.rule.startswith("model P=") for p in by_rules.pairs)
    with pytest.raises(UsageError, match="unknown de-duplication method 'tree'"):
        review.dedupe(method="tree")
