"""`scoping demo`: the main job, offline, on the bundled real data."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.demo import DemoResult, demo_files


@pytest.fixture
def built(demo_build: DemoResult) -> Path:
    return demo_build.review.root


def test_demo_builds_a_review_from_the_bundled_exports(built: Path) -> None:
    target = built
    for part in ("searches/strategy.toml", "screening/protocol.toml", "screening/review.db"):
        assert (target / part).exists(), part
    files = demo_files()
    assert {f.source for f in files} == {"MEDLINE", "PsycINFO", "Scopus"}
    for demo in files:  # the exports are kept in the review, unchanged
        assert (target / "searches" / "exports" / demo.path.name).read_bytes() == demo.path.read_bytes()
    count = CliRunner().invoke(cli, ["--review", str(target), "records", "--count"])
    with (files[0].path.parent / "truth.csv").open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    # every export holds a subset of the 725 works of the source review, some in several
    assert len(truth) == 725
    assert len(truth) < int(count.stdout) < 3 * len(truth)
    # the later stages ran on them: de-duplication, simulated screening, PRISMA
    for kind in ("json", "svg", "png", "pdf", "csv"):
        assert (target / "outputs" / f"prisma.{kind}").stat().st_size > 0
    prisma = json.loads((target / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    assert prisma["complete"] is True
    assert prisma["identification"]["records_identified"]["n"] == int(count.stdout)
    # the simulated lead settles every conflict by the published decision, so the review's
    # published includes that are in the exports are exactly the included studies
    assert prisma["included"]["studies"]["n"] == sum(r["label_included"] == "1" for r in truth)
    # the exports for the next step and the checklist, linked from the report
    import rispy

    with (target / "outputs" / "included.ris").open(encoding="utf-8") as stream:
        included = rispy.load(stream)
    assert len(included) == prisma["included"]["reports"]["n"]
    with (target / "outputs" / "labelled-asreview.csv").open(encoding="utf-8", newline="") as stream:
        labels = [row["label_included"] for row in csv.DictReader(stream)]
    assert labels.count("1") == len(included)
    for name in ("decisions.csv", "prisma-scr-checklist.html", "prisma-scr-checklist.md"):
        assert (target / "outputs" / name).stat().st_size > 0, name
    page = (target / "outputs" / "report.html").read_text(encoding="utf-8")
    assert '<a href="prisma-scr-checklist.html">' in page
    # the search log does not pass the demo's derived exports off as real database searches
    log = CliRunner().invoke(cli, ["--review", str(target), "search", "log"])
    assert log.stdout.count("demo data, not a real search of") == 3, log.stdout
    assert "searched by hand" not in log.stdout


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "mine"), "--replace"])
    assert result.exit_code == 1
    assert "not an earlier demo review" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_demo_replace_rebuilds_an_earlier_demo(tmp_path: Path, built: Path) -> None:
    target = tmp_path / "demo"
    shutil.copytree(built, target)
    again = CliRunner().invoke(cli, ["demo", str(target)])
    assert again.exit_code == 1
    assert "--replace" in again.stderr
    (target / "outputs" / "left-over.txt").write_text("from the earlier demo", encoding="utf-8")
    rebuilt = CliRunner().invoke(cli, ["demo", str(target), "--replace"])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert "simulated" in rebuilt.stdout.lower()
    assert not (target / "outputs" / "left-over.txt").exists()  # rebuilt, not added to
    before, after = (json.loads((f / "outputs" / "prisma.json").read_text()) for f in (built, target))
    assert after["identification"] == before["identification"]
