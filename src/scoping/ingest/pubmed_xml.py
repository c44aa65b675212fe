"""PubMed XML: the ``PubmedArticleSet`` that efetch (``retmode=xml``) and PubMed's "XML" export write.

The stream is parsed incrementally with lxml's pull parser (:func:`iter_xml_records`, also
used by the EndNote XML reader), told to report only the record elements, so the thousands of
other elements of an article never reach Python one by one (a real efetch article holds about
500 elements with its reference list; ElementTree's pull parser reported each, which cost half
the parsing time): each ``PubmedArticle`` or ``PubmedBookArticle`` is turned into a record as
soon as its closing tag is read and is then dropped from the tree, so memory stays bounded
however long the file is. lxml is told not to expand entities declared in the file and never
to fetch anything from the network. A record's ``raw`` is the article's text exactly as it
stands in the file (cut out of the stream beside the parser; serialising the element again with
``tostring`` would rename namespace prefixes, re-escape text and take longer than parsing)
and ``line`` is the line of its opening tag.

Field mapping for journal articles (paths below ``MedlineCitation``):

=========  ===================================================================================
field      elements
=========  ===================================================================================
title      Article/ArticleTitle (inline markup such as ``<i>`` kept as its text), then
           VernacularTitle
abstract   Article/Abstract/AbstractText, each part prefixed with its ``Label:``, joined
authors    Article/AuthorList/Author: ``LastName, ForeName`` (or Initials); CollectiveName
year       JournalIssue/PubDate/Year, then PubDate/MedlineDate, then Article/ArticleDate/Year
journal    Journal/Title, then Journal/ISOAbbreviation, then MedlineJournalInfo/MedlineTA
pages      Pagination/MedlinePgn (``113-25`` becomes ``113-125``), then StartPage/EndPage
doi        Article/ELocationID[@EIdType=doi], then PubmedData/ArticleIdList (not the ids of
           cited references)
issn       Journal/ISSN, then MedlineJournalInfo/ISSNLinking
keywords   KeywordList/Keyword, then MeshHeadingList/MeshHeading/DescriptorName
doc_type   the first PublicationType
extra      ``pmcid`` from PubmedData/ArticleIdList
=========  ===================================================================================

Book chapters and books (``PubmedBookArticle``) read the same fields from ``BookDocument`` and
``BookDocument/Book`` (the book title is the ``journal`` of a chapter; ISBN and publisher come
from the book).

Malformed XML, including a file that ends before its closing tags (a truncated download), is a
:class:`~scoping.errors.FormatError` naming the line; so is a well-formed file with no articles.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from typing import Any, TextIO, cast

from lxml import etree

from scoping.errors import FormatError, TruncatedFileError
from scoping.records import Record, make_record

__all__ = ["iter_xml_records", "read", "read_text"]

_CHUNK = 1 << 16
_PARTIAL = 64  # longest tag text that a chunk boundary can cut in two and still be scanned
_ARTICLE_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_ROOT_TAGS = frozenset({"PubmedArticleSet", "PubmedBookArticleSet"})


class _RecordText:
    """Finds where each record element opens and closes in text fed chunk by chunk.

    This keeps each record's original text (and the line of its opening tag) while the XML
    parser builds its element. Tags are found by a plain text search, which a comment or CDATA
    section holding such a tag would fool; when the search and the parser disagree,
    :meth:`take` returns ``None`` from then on and the caller falls back to serialising the
    element.
    """

    def __init__(self, tags: frozenset[str]) -> None:
        self._names = tuple(sorted(tags))
        self._text = ""
        self._base = 0  # offset of self._text[0] in the whole stream
        self._scan_from = 0  # offset where the next search starts
        self._counted = 0  # offset up to which lines are counted
        self._line = 1  # line number at self._counted
        self._opens: deque[tuple[int, int]] = deque()  # (offset, line) of opening tags
        self._closes: deque[int] = deque()  # offset just after each closing tag
        self.broken = False

    def feed(self, chunk: str) -> None:
        if self.broken:
            return
        text = self._text = self._text + chunk
        base = self._base
        last = self._scan_from - base
        for start, end, closing in self._tags(text, last):
            if closing:
                self._closes.append(base + end)
            else:
                self._line += text.count("\n", self._counted - base, start)
                self._counted = base + start
                self._opens.append((self._counted, self._line))
            last = end
        self._scan_from = base + max(last, len(text) - _PARTIAL)
        self._trim()

    def _tags(self, text: str, begin: int) -> list[tuple[int, int, bool]]:
        """``(start, end, closing)`` of every complete record tag starting at ``begin`` or
        later, in order. The names are looked for with ``str.find`` (fast, and rare in the
        text), then checked: ``<name`` followed by white space, ``/`` or ``>``; ``</name``
        followed by ``>`` (white space allowed)."""
        found: list[tuple[int, int, bool]] = []
        size = len(text)
        for name in self._names:
            at = text.find(name, begin)
            while at != -1:
                after = at + len(name)
                if at >= 1 and text[at - 1] == "<" and at - 1 >= begin:
                    if after < size and text[after] in _AFTER_OPEN:
                        found.append((at - 1, after, False))
                elif at >= 2 and text[at - 2 : at] == "</" and at - 2 >= begin:
                    close = _CLOSE_END.match(text, after)
                    if close is not None:
                        found.append((at - 2, close.end(), True))
                at = text.find(name, after)
        found.sort()
        return found

    def take(self) -> tuple[str, int] | None:
        """The text and first line of the record element that just ended, in file order."""
        if self.broken:
            return None
        if not self._opens or not self._closes:
            self.broken = True
            return None
        start, line = self._opens.popleft()
        end = self._closes.popleft()
        if end <= start or (self._opens and self._opens[0][0] < end):
            self.broken = True
            return None
        raw = self._text[start - self._base : end - self._base]
        self._trim()
        return raw, line

    def _trim(self) -> None:
        keep = self._opens[0][0] if self._opens else self._scan_from
        if keep - self._base < (1 << 16):
            return
        if self._counted < keep:
            self._line += self._text.count("\n", self._counted - self._base, keep - self._base)
            self._counted = keep
        self._text = self._text[keep - self._base :]
        self._base = keep


_AFTER_OPEN = frozenset(" \t\r\n/>")
_CLOSE_END = re.compile(r"\s*>")
_POSITION = re.compile(r",? line \d+, column \d+\s*$")
_DOCUMENT = re.compile(
    r"\A(?:\s++|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*+(?:\[.*?\])?\s*+>)*+"
    r"<([^\s/>!?]+)(?=[\s/>])",
    re.S,
)
"""The name of the document element, after the XML declaration, comments and the DOCTYPE.

The repetitions are possessive (``++``, ``*+``): a run of white space is taken whole and never
split again, so a malformed start after many blank lines fails in one pass instead of trying
every way of cutting the blanks into pieces (past two minutes for 22 blank lines)."""


def _malformed(path: str, exc: etree.XMLSyntaxError, at_end: bool) -> FormatError:
    line = exc.position[0] if exc.position else exc.lineno
    detail = _POSITION.sub("", str(exc.msg or exc)).strip() or "not well-formed"
    if at_end:
        return TruncatedFileError(
            path,
            "malformed XML: the file ends before its last elements are closed (it looks truncated)",
            "export the records again, or pass --skip-incomplete to import the complete records",
            where=f"line {line}",
        )
    return FormatError(path, f"malformed XML: {detail}", "export the records again", where=f"line {line}")


def _document_checked(head: str, at_end: bool, path: str, root_tags: frozenset[str], what: str) -> str | None:
    """The start of the file read so far, or None once its document element is known to be one
    of ``root_tags`` (or was not found near the start: then the parser says what is wrong).
    Another document element is refused."""
    found = _DOCUMENT.match(head)
    if found is not None:
        if found.group(1) not in root_tags:
            raise FormatError(
                path,
                f"not {what}: the document element is <{found.group(1)}>",
                "export the records again, or pass the right --format",
            )
        return None
    if at_end or len(head) > 1 << 20:
        return None
    return head


def iter_xml_records(
    stream: TextIO,
    path: str,
    record_tags: frozenset[str],
    root_tags: frozenset[str],
    what: str,
) -> Iterator[tuple[ET.Element, str, int | None]]:
    """Yield ``(element, raw, line)`` for each record element named in ``record_tags``, streaming.

    ``raw`` is the element's text as it stands in the file and ``line`` the line of its opening
    tag. ``root_tags`` are the accepted document elements; ``what`` names the format in
    messages. Each element is removed from the tree once the caller asks for the next one, so
    keep what you built from it, not the element. Raises :class:`FormatError` on malformed XML
    (a truncated file included), on another document element and on a document without records.
    """
    parser = etree.XMLPullParser(
        events=("end",),
        tag=tuple(sorted(record_tags)),
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
    )
    texts = _RecordText(record_tags)
    count = 0
    first = True
    head: str | None = ""  # the start of the file, until the document element is known
    blank = True  # nothing but white space so far
    while True:
        chunk = stream.read(_CHUNK)
        at_end = not chunk
        if first:
            if chunk.startswith("\ufeff"):
                chunk = chunk[1:]
            first = False
        if blank:
            if at_end:
                raise FormatError(path, "the file is empty", "export the records again")
            blank = not chunk.strip()
        if head is not None:
            head = _document_checked(head + chunk, at_end, path, root_tags, what)
        try:
            if at_end:
                parser.close()
            else:
                texts.feed(chunk)
                parser.feed(chunk)
            elements = [element for _event, element in parser.read_events()]
        except etree.XMLSyntaxError as exc:
            raise _malformed(path, exc, at_end) from exc
        for element in elements:
            found_text = texts.take()
            if found_text is None:
                raw, line = etree.tostring(element, encoding="unicode", with_tail=False), None
            else:
                raw, line = found_text
            count += 1
            yield element, raw, line
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
            element.clear()
        if at_end:
            break
    if count == 0:
        raise FormatError(
            path,
            f"no records: the file is {what} without any record in it",
            "check the search found records and export them again",
        )


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    # most elements hold plain text only; with inline markup (<i>, <sup>...) take all of it
    text = "".join(element.itertext()) if len(element) else element.text or ""
    return text.strip() or None


def _find_text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    return _text(element.find(path))


def _children(element: ET.Element | None) -> dict[Any, ET.Element]:
    """The first child element of each tag, as ``element.find(tag)`` would give it."""
    found: dict[Any, ET.Element] = {}
    for child in () if element is None else element:
        if child.tag not in found:
            found[child.tag] = child
    return found


def _authors(author_list: ET.Element | None) -> list[str]:
    names: list[str] = []
    if author_list is None:
        return names
    for author in author_list.iterfind("Author"):
        if author.get("ValidYN") == "N":
            continue  # a name the publisher corrected; the right one is also listed
        parts = _children(author)  # one pass instead of a find() per part of the name
        collective = _text(parts.get("CollectiveName"))
        if collective:
            names.append(collective)
            continue
        last = _text(parts.get("LastName"))
        given = _text(parts.get("ForeName")) or _text(parts.get("Initials"))
        suffix = _text(parts.get("Suffix"))
        if last and given:
            names.append(f"{last}, {given}" + (f" {suffix}" if suffix else ""))
        elif last or given:
            names.append(last or given or "")
    return names


def _abstract(abstract: ET.Element | None) -> str | None:
    if abstract is None:
        return None
    parts: list[str] = []
    for part in abstract.iterfind("AbstractText"):
        text = _text(part)
        if not text:
            continue
        label = part.get("Label")
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts) or None


def _ids(id_list: ET.Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    if id_list is None:
        return ids
    for item in id_list.iterfind("ArticleId"):
        kind = item.get("IdType")
        value = _text(item)
        if kind and value and kind not in ids:
            ids[kind] = value
    return ids


def _keywords(*owners: ET.Element | None) -> list[str]:
    words: list[str] = []
    for owner in owners:
        if owner is None:
            continue
        for keyword in owner.iterfind("KeywordList/Keyword"):
            text = _text(keyword)
            if text:
                words.append(text)
    for owner in owners:
        if owner is None:
            continue
        for descriptor in owner.iterfind("MeshHeadingList/MeshHeading/DescriptorName"):
            text = _text(descriptor)
            if text:
                words.append(text)
    return words


def _pages(pagination: ET.Element | None) -> tuple[str | None, str | None, str | None]:
    if pagination is None:
        return None, None, None
    medline = _find_text(pagination, "MedlinePgn")
    return medline, _find_text(pagination, "StartPage"), _find_text(pagination, "EndPage")


def _article_fields(article: ET.Element) -> dict[str, Any]:
    # the first child of each tag, one pass per element: find() per field costs more
    citation = article.find("MedlineCitation")
    data = article.find("PubmedData")
    cited = _children(citation)
    art = cited.get("Article")
    parts = _children(art)
    of_journal = _children(parts.get("Journal"))
    of_issue = _children(of_journal.get("JournalIssue"))
    dated = _children(of_issue.get("PubDate"))
    of_info = _children(cited.get("MedlineJournalInfo"))
    ids = _ids(data.find("ArticleIdList") if data is not None else None)

    doi = None
    if art is not None:
        for location in art.iterfind("ELocationID"):
            if location.get("EIdType") == "doi":
                doi = _text(location)
                break
    medline_pages, start, end = _pages(parts.get("Pagination"))
    pmid = _text(cited.get("PMID")) or ids.get("pubmed")
    fields: dict[str, Any] = {
        "title": _text(parts.get("ArticleTitle")) or _text(parts.get("VernacularTitle")),
        "abstract": _abstract(parts.get("Abstract")),
        "authors": _authors(parts.get("AuthorList")),
        "year": _text(dated.get("Year"))
        or _text(dated.get("MedlineDate"))
        or _find_text(art, "ArticleDate/Year"),
        "journal": _text(of_journal.get("Title"))
        or _text(of_journal.get("ISOAbbreviation"))
        or _text(of_info.get("MedlineTA")),
        "volume": _text(of_issue.get("Volume")),
        "issue": _text(of_issue.get("Issue")),
        "doi": doi or ids.get("doi"),
        "pmid": pmid,
        "issn": _text(of_journal.get("ISSN")) or _text(of_info.get("ISSNLinking")),
        "keywords": _keywords(citation),
        "language": _text(parts.get("Language")),
        "doc_type": _find_text(art, "PublicationTypeList/PublicationType"),
        "source_id": pmid,
    }
    if medline_pages:
        fields["pages"] = medline_pages
    else:
        fields["start_page"], fields["end_page"] = start, end
    if ids.get("pmc"):
        fields["pmcid"] = ids["pmc"]
    return fields


def _book_fields(article: ET.Element) -> dict[str, Any]:
    document = article.find("BookDocument")
    book = document.find("Book") if document is not None else None
    data = article.find("PubmedBookData")
    ids = _ids(data.find("ArticleIdList") if data is not None else None)
    ids.update(
        {
            k: v
            for k, v in _ids(document.find("ArticleIdList") if document is not None else None).items()
            if k not in ids
        }
    )

    book_title = _find_text(book, "BookTitle")
    chapter_title = _find_text(document, "ArticleTitle")
    authors: list[str] = []
    if document is not None:
        for author_list in document.iterfind("AuthorList"):
            if author_list.get("Type", "authors") == "authors":
                authors.extend(_authors(author_list))
    if not authors and book is not None:
        for author_list in book.iterfind("AuthorList"):
            authors.extend(_authors(author_list))
    pmid = _find_text(document, "PMID") or ids.get("pubmed")
    fields: dict[str, Any] = {
        "title": chapter_title or book_title,
        "abstract": _abstract(document.find("Abstract") if document is not None else None),
        "authors": authors,
        "year": _find_text(book, "PubDate/Year")
        or _find_text(book, "PubDate/MedlineDate")
        or _find_text(document, "ContributionDate/Year"),
        "journal": book_title if chapter_title else None,
        "volume": _find_text(book, "Volume"),
        "pages": _find_text(document, "Pagination/MedlinePgn"),
        "doi": ids.get("doi"),
        "pmid": pmid,
        "isbn": _find_text(book, "Isbn"),
        "publisher": _find_text(book, "Publisher/PublisherName"),
        "keywords": _keywords(document),
        "language": _find_text(document, "Language"),
        "doc_type": _find_text(document, "PublicationType") or ("Book Chapter" if chapter_title else "Book"),
        "source_id": pmid,
    }
    if ids.get("bookaccession"):
        fields["bookaccession"] = ids["bookaccession"]
    return fields


def read(stream: TextIO, path: str) -> Iterator[Record]:
    """Yield the records of a PubMed XML stream (PubmedArticle and PubmedBookArticle)."""
    records = iter_xml_records(stream, path, _ARTICLE_TAGS, _ROOT_TAGS, "PubMed XML")
    for article, raw, line in records:
        book = article.tag == "PubmedBookArticle"
        fields = _book_fields(article) if book else _article_fields(article)
        yield make_record(fields, raw=raw, line=line)


class TextSlices:
    """Reads a string held in memory chunk by chunk, as a text stream would: a quarter of the
    time of wrapping it in ``io.StringIO``, which first copies it into a buffer of its own."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0

    def read(self, size: int = -1) -> str:
        end = len(self._text) if size < 0 else self._at + size
        chunk = self._text[self._at : end]
        self._at += len(chunk)
        return chunk


def read_text(text: str, path: str) -> Iterator[Record]:
    """:func:`read` for a document held in memory (an efetch page)."""
    return read(cast(TextIO, TextSlices(text)), path)
