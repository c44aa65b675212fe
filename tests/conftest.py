"""Shared fixtures: the shared data folder, a throw-away PostgreSQL server, store URLs."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
REPO = TESTS.parent


def shared_data_dir() -> Path | None:
    """../shared/data beside the repository (or $SCOPING_SHARED_DATA), if present."""
    env = os.environ.get("SCOPING_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(autouse=True)
def _no_ambient_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SCOPING_DB set in the developer's shell must not leak into tests."""
    monkeypatch.delenv("SCOPING_DB", raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent (set SCOPING_SHARED_DATA to run these tests)")
    return path


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A PostgreSQL cluster in a temporary folder, on a free port on 127.0.0.1."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="scoping-pg-"))
        self.datadir = self.base / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres")
            os.chmod(self.base, 0o700)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            "scoping",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://scoping@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


_PG_STATE: dict[str, object] = {}


def _start_pg() -> PgServer | str:
    """The session's server, or the reason there is none."""
    if "server" in _PG_STATE:
        return _PG_STATE["server"]  # type: ignore[return-value]
    bindir = _pg_bindir()
    result: PgServer | str
    if bindir is None:
        result = (
            "no PostgreSQL server binaries (initdb) found; install Debian's 'postgresql' "
            "package to run the team-mode tests"
        )
    else:
        server = PgServer(bindir)
        try:
            server.start()
            result = server
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, LookupError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            server.stop()
            result = f"could not start PostgreSQL from {bindir}: {detail.strip()[:300]}"
    _PG_STATE["server"] = result
    return result


def pytest_report_header(config: pytest.Config) -> str:
    bindir = _pg_bindir()
    if bindir is None:
        return (
            "PostgreSQL: no server binaries found; tests marked 'postgres' will be SKIPPED "
            "(install Debian's postgresql package)"
        )
    return f"PostgreSQL: {bindir} (a throw-away cluster is started for the tests marked 'postgres')"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    server = _PG_STATE.get("server")
    if isinstance(server, PgServer):
        server.stop()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if isinstance(server, str) and reporter is not None:
        reporter.write_line(f"NOTE: PostgreSQL tests were skipped: {server}", yellow=True)


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    server = _start_pg()
    if isinstance(server, str):
        pytest.skip(server)
    return server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store location: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "review.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def review_dir(tmp_path: Path) -> Path:
    """An initialised review folder (SQLite store)."""
    from scoping.review import init_review

    root = tmp_path / "review"
    init_review(root)
    return root


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo review (real exports, simulated reviewers, topics fitted), built once per test
    session: about 15 s of CPU. Under pytest-xdist the first process to ask builds it, under
    a file lock, in the folder the processes share; the others wait and use the same folder.
    Tests only read it (a page they rewrite is replaced in one step, with the same content);
    tests that change it work on a copy."""
    import pickle

    from filelock import FileLock

    from scoping.demo import build_demo

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-N/ (this run)
    built = shared / "demo-build.pickle"
    with FileLock(shared / "demo-build.lock"):
        if built.exists():
            return pickle.loads(built.read_bytes())
        result = build_demo(shared / "demo-shared" / "demo")
        built.write_bytes(pickle.dumps(result))
        return result


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """For running in parallel (``make test`` uses ``-n 2``): files with a test marked
    ``slow`` start first, so that the short tests fill in around them instead of one process
    finishing a long test alone at the end."""
    slow = {item.module for item in items if item.get_closest_marker("slow")}  # type: ignore[attr-defined]
    items.sort(key=lambda item: getattr(item, "module", None) not in slow)  # stable: files kept whole
