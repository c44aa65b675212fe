"""``scoping prisma`` as a user meets it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import scoping.cli.prisma_cmd  # noqa: F401  (registers the command until cli/__init__ imports it)
from scoping.cli import cli

DATA = Path(__file__).parent / "data"


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A review with two exports imported, made once for the module; tests get a copy."""
    root = tmp_path_factory.mktemp("prisma-cli") / "rv"
    assert run("init", str(root))[0] == 0
    assert (
        run("--review", str(root), "import", str(DATA / "asreview/embase.ris"), "--source", "Embase")[0] == 0
    )
    assert (
        run("--review", str(root), "import", str(DATA / "asreview/scopus.ris"), "--source", "Scopus")[0] == 0
    )
    return root


@pytest.fixture
def review(imported: Path, tmp_path: Path) -> Path:
    root = tmp_path / "rv"
    shutil.copytree(imported, root)
    return root


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_outputs_are_readable_by_the_team(review: Path) -> None:
    """Outputs get the user's normal mode (0644 under umask 022), not mkstemp's 0600."""
    code, _, err = run("prisma", cwd=review)
    assert code == 0, err
    code, _, err = run("report", cwd=review)
    assert code == 0, err
    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in (review / "outputs").iterdir()
        if p.is_file() and not p.name.startswith(".")
    }
    assert {"prisma.svg", "prisma.png", "prisma.pdf", "prisma.json", "prisma.csv", "report.html"} <= set(
        modes
    )
    assert modes == dict.fromkeys(modes, 0o644), modes
    # a file written over keeps the mode its owner gave it
    (review / "outputs" / "prisma.csv").chmod(0o600)
    assert run("prisma", "--format", "csv", "--out", "outputs/prisma.csv", cwd=review)[0] == 0
    assert stat.S_IMODE((review / "outputs" / "prisma.csv").stat().st_mode) == 0o600


def test_help_has_an_example() -> None:
    code, out, _ = run("prisma", "--help")
    assert code == 0
    assert "Usage: " in out and "Example" in out
    assert "--format [svg|png|pdf|json|csv]" in out and "--dpi" in out


def test_writes_every_format_into_outputs(review: Path) -> None:
    code, out, err = run("prisma", cwd=review)
    assert code == 0, err
    assert out.splitlines() == [
        "Records identified: 12",
        "Records screened: not known",
        "Studies included: not known (reports: not known)",
        "Wrote outputs/prisma.svg",
        "Wrote outputs/prisma.png (300 dpi)",
        "Wrote outputs/prisma.pdf",
        "Wrote outputs/prisma.json",
        "Wrote outputs/prisma.csv",
    ]
    assert err.splitlines() == [
        "Note: De-duplication has not run ('scoping dedupe'), so duplicates are not known",
        "Note: No screening decisions in the store yet ('scoping screen')",
    ]
    outputs = review / "outputs"
    data = json.loads((outputs / "prisma.json").read_text(encoding="utf-8"))
    assert data["title"] == "Untitled scoping review"
    assert {d["name"]: d["n"] for d in data["identification"]["databases"]} == {"Embase": 6, "Scopus": 6}
    assert (outputs / "prisma.png").read_bytes().startswith(b"\x89PNG")
    assert (outputs / "prisma.pdf").read_bytes().startswith(b"%PDF-")
    assert b"<svg" in (outputs / "prisma.svg").read_bytes()
    assert (
        (outputs / "prisma.csv")
        .read_text(encoding="utf-8")
        .startswith("data,node,box,description,boxtext,tooltips,url,n\n")
    )
    assert not list(outputs.glob(".prisma*"))  # no temporary files left


def test_one_format_to_a_file_or_the_terminal(review: Path, tmp_path: Path) -> None:
    code, out, err = run("--review", str(review), "prisma", "--format", "png", "--dpi", "150")
    assert code == 0, err
    assert out.splitlines()[-1].endswith("outputs/prisma.png (150 dpi)")
    assert not (review / "outputs" / "prisma.svg").exists()

    target = tmp_path / "figure-1.pdf"
    code, out, _ = run("--review", str(review), "prisma", "--out", str(target))
    assert code == 0 and target.read_bytes().startswith(b"%PDF-")
    assert out.splitlines()[-1] == f"Wrote {target}"

    code, out, err = run("--review", str(review), "prisma", "--format", "json", "--out", "-")
    assert code == 0 and err == ""
    assert json.loads(out)["identification"]["records_identified"]["n"] == 12
    code, out, _ = run("--review", str(review), "prisma", "--format", "csv", "--out", "-")
    assert code == 0 and out.startswith("data,node,box,description,boxtext,tooltips,url,n\n")


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_user_mistakes_are_one_line_errors(review: Path, tmp_path: Path) -> None:
    code, _, err = run("--review", str(review), "prisma", "--out", str(tmp_path / "flow.gif"))
    assert_one_line_error(code, err, "cannot tell the format of", "flow.gif", "--format")
    code, _, err = run(
        "--review", str(review), "prisma", "--format", "svg", "--out", str(tmp_path / "flow.png")
    )
    assert_one_line_error(code, err, "ends in .png but --format is svg", "flow.svg")
    assert not (tmp_path / "flow.png").exists()
    # a folder that does not exist yet is made (as in the help's example)
    code, _, err = run("--review", str(review), "prisma", "--out", str(tmp_path / "no" / "flow.svg"))
    assert code == 0, err
    assert (tmp_path / "no" / "flow.svg").read_text(encoding="utf-8").startswith("<?xml")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, _, err = run("--review", str(review), "prisma", "--out", str(tmp_path / "file" / "flow.svg"))
    assert_one_line_error(code, err, "cannot write", "flow.svg")
    code, _, err = run("--review", str(review), "prisma", "--format", "png", "--out", "-")
    assert_one_line_error(code, err, "--out - writes text")
    code, _, err = run("--review", str(review), "prisma", "--dpi", "5")
    assert code == 2 and "--dpi" in err

    manual = review / "screening" / "prisma-manual.toml"
    manual.write_text("[identification.databases]\nEmbase = 7\n", encoding="utf-8")
    code, _, err = run("--review", str(review), "prisma", "--format", "json")
    assert_one_line_error(code, err, "prisma-manual.toml", "'Embase' is known from the store (6 records)")
    manual.write_text("[screening\n", encoding="utf-8")
    code, _, err = run("--review", str(review), "prisma")
    assert_one_line_error(code, err, "is not valid TOML")


def test_hand_entered_counts_are_named(review: Path) -> None:
    (review / "screening" / "prisma-manual.toml").write_text(
        '[sources]\nregisters = ["Scopus"]\n[other_methods.sources]\n"Websites" = 9\n', encoding="utf-8"
    )
    code, out, err = run("--review", str(review), "prisma", "--format", "json")
    assert code == 0, err
    assert "Records identified: 12 (+ 9 from other methods)" in out
    assert "Hand-entered (screening/prisma-manual.toml): other_methods.sources" in out
    data = json.loads((review / "outputs" / "prisma.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in data["identification"]["registers"]] == ["Scopus"]
    assert data["other_methods"]["sources"] == [
        {"name": "Websites", "n": 9, "source": "manual", "complete": True}
    ]


def test_outside_a_review(tmp_path: Path) -> None:
    code, _, err = run("prisma", cwd=tmp_path)
    assert_one_line_error(code, err, "not inside a review folder")
