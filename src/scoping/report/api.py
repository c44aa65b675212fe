"""The report stage over a review folder: what ``scoping prisma`` calls.

=============================  ==================================================================
command                        library call
=============================  ==================================================================
``scoping prisma``             :func:`make_prisma` (:func:`prisma_counts`, then every
                               format from one drawing, or :func:`write_prisma` for one file)
=============================  ==================================================================

The diagram module (and with it matplotlib) is imported only when a diagram is written, so
commands that never draw start fast.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scoping.errors import UsageError
from scoping.files import read_toml, replace_into
from scoping.report.facts import prisma_facts
from scoping.report.prisma import (
    MANUAL_FILE,
    PrismaCounts,
    derive_counts,
    load_manual,
    to_json,
    to_prisma2020_csv,
)
from scoping.review import Review
from scoping.store import Store

__all__ = [
    "BLINDED_NOTE",
    "OUTPUT_FORMATS",
    "PrismaResult",
    "make_prisma",
    "no_topics",
    "prisma_counts",
    "render_prisma",
    "review_title",
    "screening_blinded",
    "write_prisma",
]

OUTPUT_FORMATS = ("svg", "png", "pdf", "json", "csv")
"""What ``scoping prisma`` writes, in this order, as ``outputs/prisma.<format>``."""


def review_title(review: Review) -> str | None:
    """The review's title from ``screening/protocol.toml`` or ``searches/strategy.toml``."""
    for path, what in ((review.protocol_path, "the protocol"), (review.strategy_path, "the search strategy")):
        if not path.is_file():
            continue
        data = read_toml(path, what=what)
        title = data.get("review", {}).get("title") if isinstance(data.get("review"), dict) else None
        if isinstance(title, str) and title.strip():
            return title.strip()
    return None


TopicCounts = Callable[[Store], Iterable[tuple[str, int]] | None]
"""``topics(store)``: (topic label, included works in it) after the lead's edits, or None."""


def no_topics(store: Store) -> None:
    """A :data:`TopicCounts` with no topics: the flow without the topic box
    (``scoping prisma --no-topics``)."""
    del store


def prisma_counts(
    review: Review, *, topics: TopicCounts | None = None, blinded: bool = False
) -> PrismaCounts:
    """The PRISMA counts of ``review``: from its store, plus ``screening/prisma-manual.toml``.

    ``topics`` replaces the topics stage's included sources per topic (by default, those of the
    latest fit: :func:`scoping.topics.api.topic_counts`). ``blinded`` leaves out
    everything screening decided (outcomes, the stopping rule, topics of included works): the
    counts anyone but a lead gets while screening is under way (:func:`screening_blinded`).
    """
    manual = load_manual(review.root / MANUAL_FILE)
    with review.open_store() as store:
        other = (*manual.other_methods, *manual.kinds) if manual else ()
        facts = prisma_facts(store, other_sources=other, topics=topics, blinded=blinded)
    return derive_counts(facts, manual, title=review_title(review))


BLINDED_NOTE = (
    "screening is under way, so its counts (screened, excluded, conflicts, included) are left "
    "out: they are shown to a lead (--reviewer LEAD), and to everyone once every work has a "
    "final outcome"
)
"""Said wherever counts are left out for blinding."""


def screening_blinded(review: Review, reviewer: str | None) -> bool:
    """Whether screening's counts must be left out for the person asking: screening has
    begun and not every work has a final outcome, and ``reviewer`` is not a lead of the
    protocol (``None``: nobody said who they are). A name that is not a lead is refused
    (:class:`~scoping.errors.UsageError`), as is a lead's name used by another
    operating-system user than the protocol's ``user``."""
    from scoping.report.page import _protocol, _screening_finished, _screening_started, _viewer

    notes: dict[str, str] = {}
    protocol = _protocol(review, notes)
    if _viewer(review, protocol, reviewer) is not None or protocol is None:
        return False
    with review.open_store() as store:
        return _screening_started(store, protocol) and not _screening_finished(store, protocol)


def render_prisma(
    counts: PrismaCounts, fmt: str, *, dpi: int = 300, screening_reasons: bool = False
) -> bytes:
    """One output as bytes: a diagram (svg, png, pdf) or the counts (json, csv), UTF-8."""
    if fmt == "json":
        return to_json(counts).encode("utf-8")
    if fmt == "csv":
        return to_prisma2020_csv(counts).encode("utf-8")
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    from scoping.report.diagram import render

    return render(counts, fmt, dpi=dpi, screening_reasons=screening_reasons)


def _write_whole(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target`` and move it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        replace_into(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_prisma(
    counts: PrismaCounts,
    target: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dpi: int = 300,
    screening_reasons: bool = False,
) -> Path:
    """Write one output file, whole or not at all (format from ``fmt`` or the file's suffix)."""
    path = Path(target)
    kind = (fmt or path.suffix.lstrip(".")).lower()
    if kind not in OUTPUT_FORMATS:
        raise UsageError(
            f"cannot tell the format of {path} from its name; pass --format ({', '.join(OUTPUT_FORMATS)})"
        )
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: the folder {path.parent} does not exist")
    _write_whole(path, render_prisma(counts, kind, dpi=dpi, screening_reasons=screening_reasons))
    return path


@dataclass(slots=True)
class PrismaResult:
    counts: PrismaCounts
    files: list[tuple[str, Path]] = field(default_factory=list)
    """``(format, path)`` of every file written."""
    blinded: bool = False
    """Screening's counts were left out (see :func:`screening_blinded`)."""


def make_prisma(
    review: Review,
    *,
    fmt: str | None = None,
    out: str | os.PathLike[str] | None = None,
    dpi: int = 300,
    screening_reasons: bool = False,
    topics: TopicCounts | None = None,
    reviewer: str | None = None,
) -> PrismaResult:
    """Derive the counts and write them: every format into ``outputs/`` (``prisma.<format>``),
    or one format (``fmt``) to ``out`` or ``outputs/prisma.<fmt>``.

    While screening is under way, screening's counts are left out unless ``reviewer`` is a
    lead of the protocol (:func:`screening_blinded`; ``result.blinded`` says so)."""
    blinded = screening_blinded(review, reviewer)
    counts = prisma_counts(review, topics=topics, blinded=blinded)
    result = PrismaResult(counts, blinded=blinded)
    if out is None:
        folder = review.outputs_dir
        folder.mkdir(parents=True, exist_ok=True)
        kinds = (fmt.lower(),) if fmt else OUTPUT_FORMATS
        if fmt and kinds[0] not in OUTPUT_FORMATS:
            raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
        drawn = [k for k in kinds if k not in ("json", "csv")]
        pictures: dict[str, bytes] = {}
        if drawn:  # the diagram is laid out once and saved in each of its formats
            from scoping.report.diagram import render_many

            pictures = render_many(counts, drawn, dpi=dpi, screening_reasons=screening_reasons)
        for kind in kinds:
            path = folder / f"prisma.{kind}"
            data = pictures.get(kind)
            _write_whole(path, data if data is not None else render_prisma(counts, kind))
            result.files.append((kind, path))
    else:
        path = Path(out)
        kind = (fmt or path.suffix.lstrip(".")).lower()
        result.files.append(
            (kind, write_prisma(counts, path, kind, dpi=dpi, screening_reasons=screening_reasons))
        )
    return result
