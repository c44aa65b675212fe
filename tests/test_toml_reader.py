"""Every TOML file of a review is read by one reader, with one wording for each problem.

Each reader of the library (protocol, strategy, charting fields, hand-entered PRISMA counts,
the review's title, the user's configuration) is run on the same broken files, and each
must give the same one-line message: the file, what it is, where it breaks and what to do.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scoping.cli import cli
from scoping.errors import ConfigError
from scoping.files import parse_toml, read_toml
from scoping.report import load_manual, parse_manual
from scoping.report.api import review_title
from scoping.review import Review
from scoping.screen import load_protocol, parse_protocol
from scoping.search import parse_strategy
from scoping.search.config import SearchConfig
from scoping.search.strategy import load_strategy
from scoping.topics.charting import read_chart_fields

BROKEN = "[review\ntitle = 'x'\n"
"""A table header without its ``]``: tomllib stops at line 1, column 8."""


def _title_of_protocol(path: Path) -> Any:
    review = Review(path.parent.parent)
    review.protocol_path.parent.mkdir(parents=True, exist_ok=True)
    if path != review.protocol_path:
        review.protocol_path.write_bytes(path.read_bytes())
    return review_title(review)


def _user_config(path: Path) -> Any:
    return SearchConfig.load(environ={"SCOPING_CONFIG": str(path)})


# reader, what it calls the file, whether a missing file is an error for it
FILE_READERS: list[tuple[str, Callable[[Path], Any], str, bool]] = [
    ("load_protocol", load_protocol, "the protocol", True),
    ("load_strategy", load_strategy, "the search strategy", True),
    ("read_chart_fields", read_chart_fields, "the protocol", True),
    ("load_manual", load_manual, "the hand-entered PRISMA counts", False),
    ("review_title", _title_of_protocol, "the protocol", False),
    ("SearchConfig.load", _user_config, "your scoping configuration", False),
]
TEXT_READERS: list[tuple[str, Callable[[str, str], Any], str]] = [
    ("parse_protocol", lambda text, source: parse_protocol(text, source=source), "the protocol"),
    ("parse_strategy", parse_strategy, "the search strategy"),
    ("parse_manual", parse_manual, "the hand-entered PRISMA counts"),
]
IDS = [name for name, *_ in FILE_READERS]


def _target(tmp_path: Path) -> Path:
    """A file where every reader looks: the review's protocol path of a folder in tmp_path."""
    path = tmp_path / "review" / "screening" / "protocol.toml"
    path.parent.mkdir(parents=True)
    return path


def _message(reader: Callable[[Path], Any], path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        reader(path)
    message = str(info.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize(("name", "reader", "what", "missing"), FILE_READERS, ids=IDS)
def test_every_reader_words_invalid_toml_the_same(
    tmp_path: Path, name: str, reader: Callable[[Path], Any], what: str, missing: bool
) -> None:
    path = _target(tmp_path)
    path.write_text(BROKEN, encoding="utf-8")
    assert _message(reader, path) == (
        f"{path}: {what} is not valid TOML at line 1, column 8 "
        "(Expected ']' at the end of a table declaration); fix it and run the command again"
    )


@pytest.mark.parametrize(("name", "reader", "what"), TEXT_READERS, ids=[n for n, *_ in TEXT_READERS])
def test_every_text_parser_words_invalid_toml_the_same(
    name: str, reader: Callable[[str, str], Any], what: str
) -> None:
    with pytest.raises(ConfigError) as info:
        reader(BROKEN, "some/file.toml")
    assert str(info.value) == (
        f"some/file.toml: {what} is not valid TOML at line 1, column 8 "
        "(Expected ']' at the end of a table declaration); fix it and run the command again"
    )


@pytest.mark.parametrize(("name", "reader", "what", "missing"), FILE_READERS, ids=IDS)
def test_every_reader_words_bytes_that_are_not_utf8_the_same(
    tmp_path: Path, name: str, reader: Callable[[Path], Any], what: str, missing: bool
) -> None:
    path = _target(tmp_path)
    path.write_bytes("title = 'caf\u00e9'\n".encode("latin-1"))
    assert _message(reader, path) == (
        f"{path}: {what} is not UTF-8 text (byte 13); save it as UTF-8 and run the command again"
    )


@pytest.mark.parametrize(
    ("name", "reader", "what", "missing"),
    [r for r in FILE_READERS if r[3]],
    ids=[r[0] for r in FILE_READERS if r[3]],
)
def test_a_missing_file_says_how_to_create_it(
    tmp_path: Path, name: str, reader: Callable[[Path], Any], what: str, missing: bool
) -> None:
    path = tmp_path / "protocol.toml"
    message = _message(reader, path)
    assert message.startswith(f"{path} does not exist; run 'scoping init' or write "), message


def test_a_folder_in_place_of_the_file_cannot_be_read(tmp_path: Path) -> None:
    path = _target(tmp_path)
    path.mkdir()
    for reader, what in ((load_protocol, "the protocol"), (load_strategy, "the search strategy")):
        message = _message(reader, path)
        assert re.fullmatch(
            rf"{re.escape(str(path))}: cannot read {what} \(.+\); make it readable and run the command again",
            message,
        ), message


def test_the_default_hint_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_toml(tmp_path / "x.toml", what="the counts")
    assert (
        str(info.value)
        == f"{tmp_path / 'x.toml'} does not exist; create the counts there and run the command again"
    )


@given(st.text(max_size=60))
def test_any_text_is_tables_or_one_line_with_a_place_in_it(text: str) -> None:
    try:
        data = parse_toml(text, what="the file", source="f.toml")
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        found = re.fullmatch(
            r"f\.toml: the file is not valid TOML at line (\d+), column (\d+) \(.+\); "
            r"fix it and run the command again",
            message,
            flags=re.DOTALL,
        )
        assert found is not None, message
        lines = text.split("\n")
        line, column = int(found.group(1)), int(found.group(2))
        assert 1 <= line <= len(lines)
        assert 1 <= column <= len(lines[line - 1]) + 1
    else:
        assert isinstance(data, dict)


def test_a_command_on_a_broken_protocol_prints_the_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "r"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    protocol = root / "screening" / "protocol.toml"
    protocol.write_text(BROKEN, encoding="utf-8")
    with contextlib.chdir(root):
        result = runner.invoke(cli, ["status"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {protocol}: the protocol is not valid TOML "
        "at line 1, column 8 (Expected ']' at the end of a table declaration); "
        "fix it and run the command again\n"
    ), result.stderr
