"""What the commands print is the data as it is: no emoji codes, markup or highlighting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from scoping.cli import cli
from scoping.review import init_review

TITLES = (":thumbs_up: peers [b]x[/b]", "Peers :smile: (n=12)")


def _imported(tmp_path: Path) -> tuple[CliRunner, Path]:
    review = tmp_path / "review"
    init_review(review)
    export = tmp_path / "titles.csv"
    export.write_text("Title,Year\n" + "".join(f'"{t}",2020\n' for t in TITLES), encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(cli, ["--review", str(review), "import", str(export), "--source", "X"])
    assert imported.exit_code == 0, imported.output
    return runner, review


def _shown_exactly(stdout: str) -> None:
    assert "👍" not in stdout and "😄" not in stdout, stdout
    for title in TITLES:
        assert title in stdout, stdout


def test_records_list_prints_titles_exactly(tmp_path: Path) -> None:
    runner, review = _imported(tmp_path)
    listed = runner.invoke(cli, ["--review", str(review), "records", "--list", "5"])
    assert listed.exit_code == 0, listed.output
    _shown_exactly(listed.stdout)


def test_dedupe_show_prints_titles_exactly(tmp_path: Path) -> None:
    runner, review = _imported(tmp_path)
    assert runner.invoke(cli, ["--review", str(review), "dedupe"]).exit_code == 0
    shown = "".join(
        runner.invoke(cli, ["--review", str(review), "dedupe", "show", str(work)]).stdout for work in (1, 2)
    )
    _shown_exactly(shown)


CLI = Path(__file__).resolve().parents[1] / "src" / "scoping" / "cli"


def test_commands_make_their_consoles_with_the_factory() -> None:
    direct = {p.name for p in CLI.glob("*.py") if "Console(" in p.read_text(encoding="utf-8")}
    assert direct == {"console.py"}, sorted(direct - {"console.py"})
