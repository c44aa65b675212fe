"""Issue 20 (3): API keys never written. The local replay server answers 400/403 with bodies
that repeat the key (as NCBI does) or the whole request URL (as OpenAlex does); afterwards the
key is in no file under the review folder (the SQLite database's bytes, its log, the report
page included) and in no output of the commands that show runs."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner

from replay_server import Replay
from scoping.cli import cli
from scoping.review import Review, init_review
from scoping.search.redact import REDACTED, scrub

REPO = Path(__file__).resolve().parent.parent
NCBI_KEY = "Ncbi.Sekrit~Key.7"  # shaped like no key: only the configured value can find it
OPENALEX_KEY = "oa.Sekrit~Key.9"
EMAIL = "secret.person@example.org"


@pytest.fixture
def review(tmp_path: Path) -> Review:
    rv = init_review(tmp_path / "review")
    shutil.copy(REPO / "searches" / "strategy.toml", rv.strategy_path)
    return rv


def run(review: Review, replay: Replay, *args: str) -> tuple[int, str]:
    environ = {
        **replay.env(),
        "SCOPING_EMAIL": EMAIL,
        "NCBI_API_KEY": NCBI_KEY,
        "OPENALEX_API_KEY": OPENALEX_KEY,
        "SCOPING_HTTP_RETRIES": "2",
        "SCOPING_HTTP_BACKOFF": "0.01",
        "SCOPING_HTTP_TIMEOUT": "5",
        "SCOPING_PARSE_WORKERS": "0",
    }
    with contextlib.chdir(review.root):
        result = CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def forms(secret: str) -> list[bytes]:
    """The secret as written, URL-encoded, and its first 8 characters (a key cut short)."""
    return [f.encode() for f in {secret, quote(secret, safe=""), quote_plus(secret), secret[:8]}]


def leaks(folder: Path, texts: list[str]) -> list[str]:
    found = []
    for secret in (NCBI_KEY, OPENALEX_KEY):
        for form in forms(secret):
            found += [
                f"{p.relative_to(folder)}: {form!r}"
                for p in folder.rglob("*")
                if p.is_file() and form in p.read_bytes()
            ]
            found += [f"output: {form!r}" for t in texts if form.decode() in t]
    return found


def test_keys_echoed_by_failing_apis_are_written_nowhere(review: Review) -> None:
    outputs: list[str] = []
    replay = Replay(pubmed_records=30, openalex_records=30, crossref_records=30).start()
    try:
        # NCBI: a JSON answer naming the key, and a text answer with the key just past the 300
        # characters shown (a key cut in half must not leave its first half)
        replay.fault(
            "esearch",
            status=400,
            times=1,
            body=b'{"error":"API key invalid","api-key":"{api_key}","type":"invalid","status":"unknown"}',
        )
        code, out = run(review, replay, "search", "run", "--database", "MEDLINE")
        assert code == 1 and "HTTP 400" in out and "API key invalid" in out, out
        outputs.append(out)
        replay.fault(
            "esearch", status=400, times=1, body=b"Invalid request " + b"p" * 282 + b" key={api_key}"
        )
        code, out = run(review, replay, "search", "run", "--database", "MEDLINE")
        assert code == 1 and "HTTP 400" in out, out
        outputs.append(out)
        # OpenAlex and Crossref: the request URL echoed (api_key= and mailto= in it)
        for database, status in (("OpenAlex", 403), ("Crossref", 400)):
            body = b"Forbidden: the key {api_key} is not valid for GET {request}"
            replay.fault("/works", status=status, times=1, body=body)
            code, out = run(review, replay, "search", "run", "--database", database)
            assert code == 1 and f"HTTP {status}" in out and "Forbidden: the key" in out, out
            outputs.append(out)
        echoed = [r for r in replay.log if r.status in (400, 403)]
        assert len(echoed) == 4 and all(r.params.get("api_key") for r in echoed[:3])  # keys were sent
        for args in (("search", "log"), ("search", "log", "--format", "json"), ("report",), ("prisma",)):
            code, out = run(review, replay, *args)
            assert code == 0, out
            outputs.append(out)
    finally:
        replay.stop()
    assert (review.root / "outputs" / "report.html").exists()
    assert "interrupted" in outputs[-4]  # the failed runs are in the log, with their messages
    assert leaks(review.root, outputs) == []
    assert all(REDACTED in out for out in (outputs[0], outputs[2])), outputs[:4]


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        (
            "GET /esearch.fcgi?db=pubmed&api_key=0123456789abcdef0123456789abcdef0123&tool=x",
            "0123456789abcdef",
        ),
        ('{"api-key": "whatever-it-is"}', "whatever-it-is"),
        ("https://api.openalex.org/works?mailto=someone%40uni.edu&x=1", "someone"),
        ("token Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo in the body", "Zm9vYmFy"),
    ],
)
def test_anything_shaped_like_a_key_is_hidden(text: str, gone: str) -> None:
    cleaned = scrub(text)
    assert gone not in cleaned and REDACTED in cleaned, cleaned
