"""What the commands print is the data as it is: no emoji codes, markup or highlighting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from scoping.cli import cli
from scoping.review import init_review

TITLES = (":thumbs_up: peers [b]x[/b]", "Peers :smile: (n=12)")


def test_records_list_prints_titles_exactly(tmp_path: Path) -> None:
    review = tmp_path / "review"
    init_review(review)
    export = tmp_path / "titles.csv"
    export.write_text("Title,Year\n" + "".join(f'"{t}",2020\n' for t in TITLES), encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(cli, ["--review", str(review), "import", str(export), "--source", "X"])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(cli, ["--review", str(review), "records", "--list", "5"])
    assert listed.exit_code == 0, listed.output
    for title in TITLES:
        assert title in listed.stdout, listed.stdout
    assert "👍" not in listed.stdout and "😄" not in listed.stdout


CLI = Path(__file__).resolve().parents[1] / "src" / "scoping" / "cli"
# these three still make their own Console (to be moved to cli/console.py when their owners are
# done with them); each already has markup, emoji and highlighting off
OWN_CONSOLE = {"dedupe_cmd.py", "search_cmd.py", "screen_cmd.py"}


def test_commands_make_their_consoles_with_the_factory() -> None:
    direct = {p.name for p in CLI.glob("*.py") if "Console(" in p.read_text(encoding="utf-8")}
    assert direct - {"console.py"} <= OWN_CONSOLE, sorted(direct - {"console.py"} - OWN_CONSOLE)
    for name in OWN_CONSOLE & direct:
        calls = [line for line in (CLI / name).read_text(encoding="utf-8").splitlines() if "Console(" in line]
        assert all("emoji=False" in c and "markup=False" in c and "highlight=False" in c for c in calls), name
