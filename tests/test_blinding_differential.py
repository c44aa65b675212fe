"""Nothing a reviewer can run lets them infer another reviewer's decisions: every command
alice can run gives the same output on two stores that differ only in what bob decided."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import scoping.cli.dedupe_cmd
import scoping.cli.prisma_cmd
import scoping.cli.records_cmd
import scoping.cli.report_cmd
import scoping.cli.screen_cmd  # noqa: F401  (register the commands)
from scoping.cli import cli
from scoping.review import Review
from scoping.screen import ScreeningSession, load_protocol
from test_screen_support import LEAD, cached_review

BOB_A = ["include"] * 4 + ["exclude"] * 4
"""bob's decisions on his first eight works in one store ..."""
BOB_B = ["exclude", "maybe", "include", "exclude", "include", "include", "maybe", "exclude"]
"""... and in the other: the same works, other decisions."""


def run(root: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _no_ambient_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCOPING_REVIEWER", raising=False)


def make_store(root: Path, template: Path, bob: list[str]) -> Path:
    shutil.copytree(template, root)
    protocol = load_protocol(root / "screening" / "protocol.toml")
    with Review(root=root).open_store() as store:
        session = ScreeningSession(store, protocol, "bob")
        for value in bob:
            session.decide(value)
    # alice screens three works (bob's first three: works a colleague decided come first)
    code, _, err = run(root, "screen", "--reviewer", "alice", "--plain", input="i\ne\n1\nm\nq\n")
    assert code == 0, err
    return root


# every command alice can run, with its input
COMMANDS: list[tuple[tuple[str, ...], str | None]] = [
    (("screen", "--reviewer", "alice", "--plain"), "?\nc\no\nq\n"),
    (("screen", "--reviewer", "alice", "--plain", "--work", "0"), "q\n"),
    (("screen", "--reviewer", "alice", "--to-csv", "sheet.csv"), None),
    (("status", "--reviewer", "alice"), None),
    (("status", "--reviewer", "alice", "--stage", "full-text"), None),
    (("decisions", "--reviewer", "alice"), None),
    (("conflicts", "--reviewer", "alice"), None),
    (("agreement", "--reviewer", "alice"), None),
    (("resolve", "--reviewer", "alice"), "i\n"),
    (("stop", "--reviewer", "alice"), None),
    (("prisma", "--format", "json", "--out", "-"), None),
    (("prisma", "--format", "csv", "--out", "-"), None),
    (("prisma", "--format", "json"), None),
    (("prisma", "--reviewer", "alice"), None),
    (("report",), None),
    (("report", "--reviewer", "alice"), None),
    (("records",), None),
    (("export", "--format", "csv", "--out", "records.csv"), None),
    (("export", "--included", "--format", "csv", "--out", "included.csv"), None),
    (("export", "--format", "asreview", "--out", "labelled.csv"), None),
    (("decisions", "export", "--reviewer", "alice", "--out", "decisions.csv"), None),
    (("decisions", "--reviewer", "alice", "--label", "x"), None),
    (("checklist",), None),
    (("checklist", "--reviewer", "alice"), None),
    (("dedupe", "review", "--reviewer", "alice"), "q\n"),
]
FILES = (
    "sheet.csv",
    "outputs/prisma.json",
    "outputs/report.html",
    "records.csv",
    "included.csv",
    "labelled.csv",
    "decisions.csv",
    "outputs/prisma-scr-checklist.md",
)


def outputs(root: Path) -> list[str]:
    found = []
    for args, stdin in COMMANDS:
        code, out, err = run(root, *args, input=stdin)
        found.append(f"$ {' '.join(args)}\nexit {code}\n{out}\n{err}")
    for name in FILES:
        path = root / name
        found.append(f"{name}:\n" + (path.read_text(encoding="utf-8") if path.exists() else "(none)"))
    text = "\n".join(found).replace(str(root), "ROOT")
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|Z)?", "TIME", text).split("\n")


def test_every_command_alice_can_run_is_blind_to_bobs_decisions(tmp_path: Path) -> None:
    template = cached_review(tmp_path / "template").root
    code, _, err = run(template, "assign", "--reviewer", LEAD)
    assert code == 0, err
    one = outputs(make_store(tmp_path / "a", template, BOB_A))
    other = outputs(make_store(tmp_path / "b", template, BOB_B))
    assert one == other
    text = "\n".join(one)
    # the commands did run and show something: alice's own counts, the records, the page
    assert "Screening title-abstract as alice." in text
    assert re.search(r"alice\s*│\s*135\s*│\s*3\s*│\s*132", text)
    assert "screening is under way, so its counts" in text
    assert "<html" in text and "outputs/prisma.json:\n{" in text
    # while a lead sees how bob's decisions differ between the stores
    lead_one = run(tmp_path / "a", "prisma", "--format", "json", "--out", "-", "--reviewer", LEAD)
    lead_other = run(tmp_path / "b", "prisma", "--format", "json", "--out", "-", "--reviewer", LEAD)
    assert lead_one[0] == lead_other[0] == 0
    assert lead_one[1] != lead_other[1]
