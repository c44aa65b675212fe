"""Output files are replaced whole, and a device or named pipe given as --out stays what it is."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from scoping.files import replace_into
from test_cli import DATA, run


def _drain(fifo: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as stream:
            into.append(stream.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_replace_into_a_regular_file_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    for content in (b"first", b"second"):
        tmp = tmp_path / ".tmp"
        tmp.write_bytes(content)
        replace_into(tmp, target)
        assert target.read_bytes() == content and not tmp.exists()


def test_a_named_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    tmp = tmp_path / ".tmp"
    tmp.write_bytes(b"rows\n")
    replace_into(tmp, fifo)
    reader.join(10)
    assert got == [b"rows\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and not tmp.exists()


def test_a_folder_is_refused(tmp_path: Path) -> None:
    tmp = tmp_path / ".tmp"
    tmp.write_bytes(b"x")
    with pytest.raises(IsADirectoryError):
        replace_into(tmp, tmp_path)
    assert not tmp.exists()


def test_export_to_a_named_pipe(tmp_path: Path) -> None:
    review = tmp_path / "rv"
    assert run("init", str(review))[0] == 0
    code, _, err = run(
        "--review", str(review), "import", str(DATA / "asreview" / "scopus.ris"), "--source", "Scopus"
    )
    assert code == 0, err
    fifo = tmp_path / "records.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    code, _, err = run("--review", str(review), "export", "--format", "csv", "--out", str(fifo))
    reader.join(10)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].count(b"\n") > 1  # a header and rows went down the pipe
