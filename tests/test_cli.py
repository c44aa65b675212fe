"""The command line as a user meets it: help, init, import, records, export, and bad input."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scoping.cli import cli

DATA = Path(__file__).parent / "data"


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    else:
        with contextlib.chdir(cwd):
            result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    code, out, _ = run(*path, "--help")
    assert code == 0
    assert "Usage: " in out
    command = dict(all_commands(cli))[path]
    assert command.help and len(command.help.strip()) > 40, "help text too thin"
    assert "Example" in out, f"'scoping {' '.join(path)} --help' shows no example"


def test_top_level_help_and_version() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "scoping init DIR" in out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("scoping, version ")


def test_init_import_records_export(tmp_path: Path) -> None:
    review = tmp_path / "rv"
    code, out, _ = run("init", str(review))
    assert code == 0, out
    for part in (
        "searches/strategy.toml",
        "screening/protocol.toml",
        "searches/exports",
        "searches/runs",
        "outputs",
        "screening/review.db",
    ):
        assert (review / part).exists(), part

    code, out, err = run(
        "--review",
        str(review),
        "import",
        str(DATA / "asreview/ovid_psycinfo.ris"),
        str(DATA / "asreview/scopus.ris"),
        "--source",
        "PsycINFO",
    )
    assert code == 0, err
    assert "Imported 6 records from ovid_psycinfo.ris (RIS, utf-8) as 'PsycINFO' [import 1]" in out
    assert "Imported 6 records from scopus.ris" in out

    code, out, _ = run("records", "--count", "--review", str(review))
    assert (code, out) == (0, "12\n")
    code, out, _ = run("records", "--review", str(review))
    assert "PsycINFO" in out and "12" in out

    for fmt in ("ris", "csv", "bib"):
        path = tmp_path / f"all.{fmt}"
        code, out, err = run("--review", str(review), "export", "--format", fmt, "--out", str(path))
        assert code == 0, err
        assert out == f"Wrote 12 records to {path}\n"
        assert path.stat().st_size > 0


def test_commands_find_the_review_from_a_subfolder(tmp_path: Path) -> None:
    review = tmp_path / "rv"
    run("init", str(review))
    code, out, _ = run("records", "--count", cwd=review / "searches" / "exports")
    assert (code, out) == (0, "0\n")


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = tmp_path / "rv"
    assert run("init", str(root))[0] == 0
    return root


def imp(review: Path, *args: str) -> tuple[int, str, str]:
    return run("--review", str(review), "import", *args)


def count(review: Path) -> int:
    return int(run("--review", str(review), "records", "--count")[1])


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_same_file_twice_is_refused_unless_again(review: Path) -> None:
    path = str(DATA / "asreview/embase.ris")
    assert imp(review, path, "--source", "Embase")[0] == 0
    code, _, err = imp(review, path, "--source", "Embase")
    assert_one_line_error(code, err, "embase.ris", "imported before", "--again")
    assert count(review) == 6
    assert imp(review, path, "--source", "Embase", "--again")[0] == 0
    assert count(review) == 12


def test_truncated_file_stores_nothing(review: Path, tmp_path: Path) -> None:
    text = (DATA / "asreview/web_of_science.txt").read_text(encoding="utf-8")
    cut = tmp_path / "cut.ris"
    cut.write_text(text[: int(len(text) * 0.8)], encoding="utf-8")
    code, _, err = imp(review, str(cut), "--source", "WoS")
    assert_one_line_error(code, err, "cut.ris", "truncated")
    assert count(review) == 0
    assert "cut.ris" not in run("--review", str(review), "records", "--imports")[1]


@pytest.mark.parametrize(
    ("content", "name", "fragments"),
    [
        (b"", "empty.ris", ["empty.ris", "empty"]),
        (b"   \n\n  ", "blank.ris", ["blank.ris", "white space"]),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "paper.pdf", ["paper.pdf", "PDF"]),
        (b"PK\x03\x04\x14\x00\x00\x00", "export.xlsx", ["export.xlsx", "ZIP"]),
        (b"\x00\x01\x02\x03binary\x00\x00", "blob.dat", ["blob.dat", "binary"]),
        (b"just some notes\nabout nothing\n", "notes.txt", ["notes.txt", "unknown format", "--format"]),
        (
            b"TY  - JOUR\nTI  - Caf\xe9 society\nER  - \n",
            "latin1.ris",
            ["latin1.ris, line 2", "not valid utf-8", "--encoding cp1252"],
        ),
        (b"author,year\nSmith,2020\n", "notitle.csv", ["notitle.csv", "title"]),
    ],
)
def test_bad_files_get_one_line_errors(
    review: Path, tmp_path: Path, content: bytes, name: str, fragments: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = imp(review, str(path), "--source", "X")
    assert_one_line_error(code, err, *fragments)
    assert count(review) == 0


def test_explicit_encoding_reads_latin1(review: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - Caf\xe9 society\nER  - \n")
    code, out, err = imp(review, str(path), "--source", "X", "--encoding", "cp1252")
    assert code == 0, err
    assert "cp1252" in out
    code, out, _ = run("--review", str(review), "records", "--list", "1")
    assert "Café society" in out


def test_utf16_with_bom_is_read_without_asking(review: Path, tmp_path: Path) -> None:
    text = (DATA / "asreview/scopus.ris").read_text(encoding="utf-8-sig")
    path = tmp_path / "utf16.ris"
    path.write_text(text, encoding="utf-16")
    code, out, err = imp(review, str(path), "--source", "Scopus")
    assert code == 0, err
    assert "utf-16" in out and count(review) == 6


def test_one_bad_file_among_several_stops_before_storing(review: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ris"
    bad.write_bytes(b"")
    code, _, err = imp(review, str(DATA / "asreview/scopus.ris"), str(bad), "--source", "S")
    assert_one_line_error(code, err, "bad.ris")
    assert count(review) == 0


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["import", "nope.ris", "--source", "X"], ["nope.ris", "no such file"]),
        (["import", "{ris}", "--source", " "], ["--source is empty"]),
        (["import", "{ris}", "--source", "X", "--encoding", "klingon"], ["unknown encoding"]),
        (["export", "--format", "ris", "--out", "/no/such/dir/x.ris"], ["does not exist"]),
    ],
)
def test_usage_mistakes(review: Path, args: list[str], fragments: list[str]) -> None:
    args = [a.replace("{ris}", str(DATA / "asreview/scopus.ris")) for a in args]
    code, _, err = run("--review", str(review), *args)
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize("encoding", ["utf-16", "UTF16", "utf-32"])
def test_byte_order_encoding_without_a_byte_order_mark(review: Path, tmp_path: Path, encoding: str) -> None:
    """Issue 20 (9): Python's utf-16 codec refuses a file without a BOM with an error of its
    own, which was the one traceback of the fuzz corpus."""
    path = tmp_path / "no-bom.ris"
    path.write_bytes("TY  - JOUR\nTI  - One\nER  - \n".encode("utf-16-le"))
    code, _, err = imp(review, str(path), "--source", "X", "--encoding", encoding)
    assert_one_line_error(code, err, "no-bom.ris", "byte-order mark", "-le (or")
    assert count(review) == 0
    code, out, _ = imp(review, str(path), "--source", "X", "--encoding", "utf-16-le")
    assert code == 0 and "Imported 1 record" in out


def test_outside_a_review_folder(tmp_path: Path) -> None:
    code, _, err = run("records", "--count", cwd=tmp_path)
    assert_one_line_error(code, err, "not inside a review folder", "scoping init")


def test_init_refuses_an_existing_review(review: Path) -> None:
    code, _, err = run("init", str(review))
    assert_one_line_error(code, err, "already holds a review")


def test_python_dash_m_and_console_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scoping", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "Usage: scoping" in result.stdout
    exe = shutil.which("scoping", path=str(Path(sys.executable).parent))
    assert exe is not None, "pip install did not create the scoping command"


UI_WATCH = """
import os, sys, traceback
import scoping
ours = os.path.dirname(os.path.realpath(scoping.__file__)) + os.sep
cli = os.path.join(ours, "cli") + os.sep
blamed = []
class Watch:
    # Blames a UI import on the innermost frame of our package (by its real location on disk,
    # wherever the checkout lives); an import made by another library is that library's.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("click", "rich", "textual"):
            for frame in reversed(traceback.extract_stack()[:-1]):
                if frame.filename.startswith("<"):  # importlib's frozen frames
                    continue
                f = os.path.realpath(frame.filename)
                if "importlib" in f.split(os.sep):
                    continue
                if f.startswith(ours) and not f.startswith(cli):
                    blamed.append((name, f))
                break
        return None
sys.meta_path.insert(0, Watch())
for module in sys.argv[1:]:
    __import__(module)
bad = sorted(set(blamed)) + [m for m in ("click", "textual") if m in sys.modules]
print(bad)
sys.exit(1 if bad else 0)
"""

LIBRARY_MODULES = [
    "scoping.store",
    "scoping.ingest",
    "scoping.review",
    "scoping.demo",
    "scoping.app",
    "scoping.report.page",
    "scoping.report",
    "scoping.topics",
    "scoping.screen",
    "scoping.dedupe",
    "scoping.search",
]


def watch_ui_imports(
    *modules: str, cwd: Path | None = None, extra_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", UI_WATCH, *modules],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_import_scoping_does_not_import_click(tmp_path: Path) -> None:
    # Run from a folder named "scoping" too: where the checkout lives must not matter.
    (tmp_path / "scoping").mkdir()
    result = watch_ui_imports("scoping", *LIBRARY_MODULES, cwd=tmp_path / "scoping")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ui_import_watch_blames_our_module_and_not_other_libraries(tmp_path: Path) -> None:
    """The guard above can fail: a module of ours outside cli/ importing rich is caught ...

    ... while the same import made by another library (as scikit-learn's progress bar does)
    is not blamed on us, even when that library sits under a folder named ``scoping``.
    """
    import scoping

    ours = Path(scoping.__file__).resolve().parent
    offender = ours / "_ui_offender_for_test.py"
    offender.write_text("import rich.text\n", encoding="utf-8")
    try:
        result = watch_ui_imports("scoping._ui_offender_for_test")
    finally:
        offender.unlink()
    assert result.returncode == 1 and "_ui_offender_for_test.py" in result.stdout, result.stdout

    other = tmp_path / "scoping" / ".venv" / "site-packages"
    other.mkdir(parents=True)
    (other / "someone_elses_lib.py").write_text("import rich.text\n", encoding="utf-8")
    result = watch_ui_imports("someone_elses_lib", extra_path=other)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_ui_imports_outside_cli() -> None:
    import ast

    package = Path(__file__).parents[1] / "src" / "scoping"
    offenders = []
    for path in package.rglob("*.py"):
        if "cli" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("click", "rich", "textual")
            ]
    assert offenders == []


def test_public_api_is_guarded() -> None:
    import scoping

    assert sorted(scoping.__all__) == [
        "Record",
        "Review",
        "ScopingError",
        "__version__",
        "init_review",
        "make_record",
        "open_review",
    ]
    for name in scoping.__all__:
        assert hasattr(scoping, name)


@pytest.mark.postgres
def test_team_database_through_the_cli(tmp_path: Path, pg_url: str) -> None:
    review = tmp_path / "team"
    code, _, err = run("init", str(review), "--db", pg_url)
    assert code == 0, err
    assert not (review / "screening" / "review.db").exists()
    code, _out, err = run(
        "--review",
        str(review),
        "--db",
        pg_url,
        "import",
        str(DATA / "asreview/embase.ris"),
        "--source",
        "Embase",
    )
    assert code == 0, err
    assert run("--review", str(review), "--db", pg_url, "records", "--count")[1] == "6\n"
    # the SQLite file of the folder is a different store
    assert run("--review", str(review), "records", "--count")[1] == "0\n"


def test_scoping_db_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    review = tmp_path / "rv"
    run("init", str(review))
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("SCOPING_DB", str(other))
    code, _, err = imp(review, str(DATA / "asreview/embase.ris"), "--source", "Embase")
    assert code == 0, err
    assert other.exists()
    assert count(review) == 6
    monkeypatch.delenv("SCOPING_DB")
    assert count(review) == 0


def test_export_then_import_keeps_every_field(tmp_path: Path) -> None:
    """Records from every import format survive export to RIS, CSV and BibTeX and back."""
    from scoping.records import FIELDS
    from scoping.review import find_review

    review = tmp_path / "rv"
    run("init", str(review))
    sources = [
        p
        for pattern in (
            "wosfile/*plaintext*",
            "biopython/*.txt",
            "biopython/*.xml",
            "colrev-bib/[!e]*.bib",
            "synergy-csv/*.csv",
            "endnote/*.xml",
            "asreview/*.ris",
            "asreview/pubmed_endnote.txt",
        )
        for p in sorted(DATA.glob(pattern))
    ]
    assert len(sources) >= 8
    for number, path in enumerate(sources):
        code, _, err = imp(review, str(path), "--source", f"S{number}", "--again")
        assert code == 0, err
    with find_review(review).open_store() as store:
        original = [s.record for s in store.iter_records()]
    skip = {"ris": {"doc_type"}, "csv": set(), "bib": {"doc_type", "source_id"}}
    for fmt, ignored in skip.items():
        path = tmp_path / f"all.{fmt}"
        assert run("--review", str(review), "export", "--format", fmt, "--out", str(path))[0] == 0
        again = tmp_path / f"again-{fmt}"
        run("init", str(again))
        code, _, err = imp(again, str(path), "--source", "back")
        assert code == 0, err
        with find_review(again).open_store() as store:
            back = [s.record for s in store.iter_records()]
        assert len(back) == len(original)
        for before, after in zip(original, back, strict=True):
            for field in set(FIELDS) - ignored:
                assert getattr(after, field) == getattr(before, field), (fmt, field, before.title)


def test_a_file_that_parses_to_nothing_stores_nothing(review: Path, tmp_path: Path) -> None:
    """A wrong --format (RIS read as BibTeX) or a header-only CSV is an error, not an empty
    import that would then make the right import of the file look like a repeat."""
    ris = DATA / "asreview" / "scopus.ris"
    code, _, err = imp(review, str(ris), "--source", "Scopus", "--format", "bibtex")
    assert_one_line_error(code, err, "scopus.ris", "no records were found in it read as BibTeX", "--format")
    header_only = tmp_path / "header.csv"
    header_only.write_text("title,authors\n", encoding="utf-8")
    code, _, err = imp(review, str(header_only), "--source", "X")
    assert_one_line_error(code, err, "header.csv", "no records were found in it read as CSV")
    assert run("--review", str(review), "records", "--count")[1].strip() == "0"
    code, out, err = imp(review, str(ris), "--source", "Scopus")
    assert code == 0 and "Imported 6 records" in out, err


def test_a_database_file_that_is_not_a_database(review: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("not a database\n", encoding="utf-8")
    code, _, err = run("--review", str(review), "--db", str(bad), "records", "--count")
    assert_one_line_error(code, err, "cannot open the database", "file is not a database", "--db")
    assert bad.read_text(encoding="utf-8") == "not a database\n"


def test_a_program_is_not_an_export(review: Path, tmp_path: Path) -> None:
    program = tmp_path / "tool"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    code, _, err = imp(review, str(program), "--source", "X")
    assert_one_line_error(code, err, "this is a program", "not a bibliographic export")


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`scoping --help` (and every command) starts fast: numpy, scikit-learn, matplotlib and
    pandas are imported only by the commands that use them."""
    heavy = ("numpy", "sklearn", "matplotlib", "pandas", "textual", "networkx")
    code = f"import sys, scoping.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_prisma_counts_and_the_report_read_topics_without_the_topic_model() -> None:
    """Reading stored topics (the PRISMA counts, the report, the lead's refinements) needs
    neither scikit-learn nor networkx: only fitting topics, or drawing their network, does."""
    heavy = ("sklearn", "networkx", "scipy.optimize")
    modules = "scoping.topics.api, scoping.report.api, scoping.report.page, scoping.topics.refine"
    code = f"import sys, {modules}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
