"""Issue 20 (3, 4): a fuzz test over every reader, seeded from real files in tests/data.

Each example is a real file, cut to its first ``_SEED_BYTES`` and changed by a few byte-level
edits (hypothesis chooses them; the run is derandomized, so every run tries the same inputs),
imported by ``scoping import`` with the format detected or forced. What must hold: exit 0 or 1;
on 1 a one-line message and nothing stored; on 0 exactly the records reported stored; and a
time bound per kilobyte. The import runs in a worker process the test kills when the bound is
passed, so a reader that hangs (as the XML header's regular expression did, on blank lines
before a malformed start: one of the explicit examples) fails the test instead of hanging it.

``SCOPING_FUZZ_EXAMPLES`` sets the number of generated examples (default 40, about 15 s);
``pytest --hypothesis-show-statistics`` shows the outcomes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.pool import Pool
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"
_SEED_BYTES = 8 * 1024
SEEDS: list[tuple[str, str]] = [  # (file under tests/data, its format)
    ("rispy/example_full.ris", "ris"),
    ("ingest-cases/ovid_resolver_doi.ris", "ris"),
    ("biopython/pubmed_result1.txt", "medline"),
    ("colrev/eric_nbib.nbib", "medline"),
    ("biopython/pubmed1.xml", "pubmed-xml"),
    ("wosfile/wos_plaintext.txt", "wos"),
    ("wosfile/wos_tab_delimited_win_utf8.txt", "wos-tab"),
    ("wosfile/wos_tab_delimited_win_utf16.txt", "wos-tab"),
    ("colrev-bib/bib_data.bib", "bibtex"),
    ("colrev-bib/ebsco_bib.bib", "bibtex"),
    ("asreview-csv/generic.csv", "csv"),
    ("colrev-csv/ieee_csv.csv", "csv"),
    ("endnote/sep_2021_synergy.xml", "endnote-xml"),
]
BASE_SECONDS = 3.0
SECONDS_PER_KB = 0.25
"""The time bound of one import: generous for a loaded machine, far below a reader gone
exponential (before issue 20, 22 blank lines before a malformed XML start ran past 120 s)."""

_PIECES = [
    b"\n",
    b"\n" * 30,
    b"\r\n",
    b"  ",
    b"<",
    b"<!",
    b"<?xml",
    b">",
    b"{",
    b"}",
    b"@article{",
    b'"',
    b",",
    b"\t",
    b"ER  - ",
    b"TY  - JOUR\n",
    b"PMID- 1\n",
    b"PT J\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xef\xbb\xbf",
]


def _seed(index: int) -> bytes:
    data = (DATA / SEEDS[index][0]).read_bytes()[:_SEED_BYTES]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, bytes, bool]:
    index = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(_seed(index))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "repeat", "cut"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(_PIECES) | st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 512))] * draw(st.integers(2, 20))
        elif kind == "cut":
            del data[at:]
    return index, bytes(data), draw(st.booleans())


def _import(review: str, path: str, fmt: str | None) -> tuple[int, str, str, int, int, int, int, float]:
    """In the worker: import ``path``; the exit code, output, and the store before and after."""
    from click.testing import CliRunner

    from scoping.cli import cli
    from scoping.review import Review

    def counts() -> tuple[int, int]:
        with Review(Path(review)).open_store() as store:
            return store.count_records(), len(store.list_imports())

    before = counts()
    args = ["--review", review, "import", path, "--source", "Fuzz", "--again"]
    if fmt is not None:
        args += ["--format", fmt]
    start = time.perf_counter()
    result = CliRunner().invoke(cli, args)
    seconds = time.perf_counter() - start
    after = counts()
    code = result.exit_code
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code, err = -1, f"uncaught {type(result.exception).__name__}: {result.exception}"
    return code, result.stdout, err, *before, *after, seconds


@pytest.fixture(scope="module")
def worker() -> Iterator[list[Pool]]:
    context = multiprocessing.get_context("spawn")
    held = [context.Pool(1)]
    yield held
    held[0].terminate()
    held[0].join()


@pytest.fixture(scope="module")
def fuzz_review(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from scoping.cli import cli

    root = tmp_path_factory.mktemp("fuzz") / "rv"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    return root


_CRAFTED = b"\n" * 30 + b"<!PubmedArticleSet>\n" + (DATA / "biopython/pubmed1.xml").read_bytes()[:4000]


@settings(
    max_examples=int(os.environ.get("SCOPING_FUZZ_EXAMPLES", "40")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(case=mutated())
@example(case=(4, _CRAFTED, False))  # blank lines before a malformed XML start, detected
@example(case=(4, _CRAFTED, True))  # the same, read as PubMed XML
@example(case=(12, _CRAFTED, True))  # the same, read as EndNote XML
@example(case=(4, b"\r\n" * 40 + b"<!-- x -- y" + b" " * 40 + b"<", False))
def test_every_reader_ends_in_bounded_time_with_exit_0_or_1(
    case: tuple[int, bytes, bool],
    worker: list[Pool],
    fuzz_review: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    index, data, force = case
    name, fmt = SEEDS[index]
    path = tmp_path_factory.mktemp("case") / Path(name).name
    path.write_bytes(data)
    bound = BASE_SECONDS + SECONDS_PER_KB * len(data) / 1024
    pending = worker[0].apply_async(_import, (str(fuzz_review), str(path), fmt if force else None))
    try:
        code, out, err, records_before, imports_before, records_after, imports_after, seconds = pending.get(
            timeout=bound + 30  # the worker's own start and the store's opening, on a busy machine
        )
    except multiprocessing.TimeoutError:
        worker[0].terminate()
        worker[0] = multiprocessing.get_context("spawn").Pool(1)
        pytest.fail(f"import of {len(data):,} bytes ({name}, mutated) still running after {bound + 30:.0f} s")
    event(f"exit {code}" + (f" ({err.split(':', 2)[-1].split(';')[0].strip()[:40]})" if code == 1 else ""))
    assert seconds <= bound, f"{seconds:.1f} s for {len(data):,} bytes (bound {bound:.1f} s)"
    assert code in (0, 1), (code, err)
    if code == 1:
        assert err.startswith("Error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        assert (records_after, imports_after) == (records_before, imports_before)  # nothing stored
    else:
        assert imports_after == imports_before + 1
        assert f"Imported {records_after - records_before:,} record" in out, out
