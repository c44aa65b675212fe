"""Build the demo review's bundled exports from a real, CC0 labelled review.

Source: SYNERGY van_der_Valk_2021 (hair glucocorticoids and obesity; 725 records, 89 included),
the OpenAlex work objects in ../shared/data/synergy-dataset/releases_v1/van_der_Valk_2021/
(works_1.zip, labels.csv; CC0). The script writes, deterministically:

- ``medline.nbib``    the works with a PMID, as a PubMed/MEDLINE text export
- ``psycinfo.ris``    a seeded 60 % subset, as an Ovid-style RIS export
- ``scopus.csv``      a seeded 70 % subset, as a Scopus-style CSV export
- ``truth.csv``       the review's published inclusion label per OpenAlex id (for the
                      simulated reviewers only; never imported)

The three exports overlap as real database results do, so de-duplication has real work to do.
Field formatting follows each platform's habits (initials vs full names, journal
abbreviations, DOI as a link, compressed page ranges). Nothing is invented: every value comes
from the OpenAlex record; only the layout differs.

    python scripts/build_demo_data.py [--shared ../shared/data] [--out src/scoping/data/demo]
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import textwrap
import zipfile
from pathlib import Path
from typing import Any

REVIEW = "van_der_Valk_2021"


def _value(text: Any) -> Any:
    if isinstance(text, str) and text[:1] in "[{":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return json.loads(text)
    return text


def load_works(shared: Path) -> list[dict[str, Any]]:
    folder = shared / "synergy-dataset" / "releases_v1" / REVIEW
    works: list[dict[str, Any]] = []
    with zipfile.ZipFile(folder / "works_1.zip") as archive:
        for name in sorted(archive.namelist(), key=lambda n: int(n.split("_")[1])):
            works.extend(json.loads(archive.read(name)))
    labels = {row["openalex_id"]: row for row in csv.DictReader((folder / "labels.csv").open())}
    for work in works:
        for key in (
            "authorships",
            "biblio",
            "host_venue",
            "ids",
            "mesh",
            "concepts",
            "abstract_inverted_index",
        ):
            work[key] = _value(work.get(key))
        work["label"] = labels.get(work["id"], {}).get("label_included", "0")
    return works


def abstract(work: dict[str, Any]) -> str:
    index = work.get("abstract_inverted_index") or {}
    if not isinstance(index, dict):
        return ""
    words: dict[int, str] = {}
    for word, places in index.items():
        for place in places:
            words[place] = word
    return " ".join(words[i] for i in sorted(words))


def names(work: dict[str, Any]) -> list[tuple[str, str]]:
    """(family, given) of each author, from OpenAlex display names."""
    out = []
    for authorship in work.get("authorships") or []:
        name = (authorship.get("author") or {}).get("display_name") or ""
        parts = name.split()
        if not parts:
            continue
        out.append((parts[-1], " ".join(parts[:-1])))
    return out


def initials(given: str) -> str:
    return "".join(p[0] for p in given.replace("-", " ").split() if p[:1].isalpha())


def doi(work: dict[str, Any]) -> str:
    return (work.get("doi") or "").replace("https://doi.org/", "")


def pmid(work: dict[str, Any]) -> str:
    ids = work.get("ids") or {}
    return str(ids.get("pmid") or "").rstrip("/").rsplit("/", 1)[-1]


def venue(work: dict[str, Any]) -> tuple[str, str]:
    host = work.get("host_venue") or {}
    return host.get("display_name") or "", (host.get("issn_l") or "")


def biblio(work: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (work.get("biblio") or {}).items() if v}


def keywords(work: dict[str, Any]) -> list[str]:
    mesh = [m["descriptor_name"] for m in work.get("mesh") or [] if m.get("descriptor_name")]
    seen: list[str] = []
    for term in mesh:
        if term not in seen:
            seen.append(term)
    return seen


def compressed(first: str, last: str) -> str:
    if first.isdigit() and last.isdigit() and len(first) == len(last):
        common = 0
        while common < len(first) - 1 and first[common] == last[common]:
            common += 1
        return f"{first}-{last[common:]}"
    return f"{first}-{last}" if last else first


def write_medline(works: list[dict[str, Any]], path: Path) -> int:
    lines: list[str] = []
    count = 0
    for work in works:
        number = pmid(work)
        if not number:
            continue
        count += 1
        b = biblio(work)
        journal, issn = venue(work)

        def tag(name: str, value: str) -> None:
            # PubMed wraps long values at 82 characters, continuing with six spaces
            wrapped = textwrap.wrap(value, width=76, break_long_words=False) or [""]
            lines.append(f"{name:<4}- {wrapped[0]}")
            lines.extend(f"      {more}" for more in wrapped[1:])

        tag("PMID", number)
        tag("OWN", "NLM")
        tag("STAT", "MEDLINE")
        if issn:
            tag("IS", f"{issn} (Linking)")
        if b.get("volume"):
            tag("VI", b["volume"])
        if b.get("issue"):
            tag("IP", b["issue"])
        tag("DP", str(work.get("publication_year") or ""))
        tag("TI", work.get("title") or "")
        if b.get("first_page"):
            tag("PG", compressed(b["first_page"], b.get("last_page", "")))
        if doi(work):
            tag("LID", f"{doi(work)} [doi]")
        text = abstract(work)
        if text:
            tag("AB", text)
        for family, given in names(work):
            tag("FAU", f"{family}, {given}")
            tag("AU", f"{family} {initials(given)}")
        tag("LA", "eng")
        tag("PT", "Journal Article")
        if journal:
            tag("JT", journal)
        for term in keywords(work):
            tag("MH", term)
        tag("SO", f"{journal}. {work.get('publication_year')};{b.get('volume', '')}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def write_ovid_ris(works: list[dict[str, Any]], path: Path) -> int:
    out: list[str] = []
    for number, work in enumerate(works, start=1):
        b = biblio(work)
        journal, issn = venue(work)
        out.append(f"{number}.")
        out.append("TY  - JOUR")
        out.append(f"ID  - {work['id'].rsplit('/', 1)[-1]}")
        if doi(work):
            out.append(f"DO  - http://dx.doi.org/{doi(work)}")
        out.append(f"T1  - {work.get('title') or ''}")
        for family, given in names(work):
            out.append(f"A1  - {family}, {given}")
        out.append(f"Y1  - {work.get('publication_year') or ''}//")
        text = abstract(work)
        if text:
            out.append(f"N2  - {text} (PsycInfo Database Record (c) APA, all rights reserved)")
        for term in keywords(work)[:8]:
            out.append(f"KW  - {term}")
        if journal:
            out.append(f"JF  - {journal}")
        if b.get("volume"):
            out.append(f"VL  - {b['volume']}")
        if b.get("issue"):
            out.append(f"IS  - {b['issue']}")
        if b.get("first_page"):
            out.append(f"SP  - {b['first_page']}")
        if b.get("last_page"):
            out.append(f"EP  - {b['last_page']}")
        if issn:
            out.append(f"SN  - {issn}")
        out.append("ER  -")
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(works)


SCOPUS_COLUMNS = [
    "Authors",
    "Author full names",
    "Title",
    "Year",
    "Source title",
    "Volume",
    "Issue",
    "Page start",
    "Page end",
    "DOI",
    "Abstract",
    "Index Keywords",
    "Language of Original Document",
    "Document Type",
    "PubMed ID",
    "EID",
]


def write_scopus_csv(works: list[dict[str, Any]], path: Path) -> int:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SCOPUS_COLUMNS)
        for work in works:
            b = biblio(work)
            journal, _ = venue(work)
            authors = names(work)
            writer.writerow(
                [
                    ", ".join(f"{family} {'.'.join(initials(given))}." for family, given in authors),
                    "; ".join(f"{family}, {given}" for family, given in authors),
                    work.get("title") or "",
                    work.get("publication_year") or "",
                    journal,
                    b.get("volume", ""),
                    b.get("issue", ""),
                    b.get("first_page", ""),
                    b.get("last_page", ""),
                    doi(work),
                    abstract(work) or "[No abstract available]",
                    "; ".join(keywords(work)),
                    "English",
                    "Article" if work.get("type") == "journal-article" else "Book Chapter",
                    pmid(work),
                    "2-s2.0-" + work["id"].rsplit("W", 1)[-1],
                ]
            )
    return len(works)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--shared", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=here / "src" / "scoping" / "data" / "demo")
    args = parser.parse_args()
    if not (args.shared / "synergy-dataset").is_dir():
        raise SystemExit(f"{args.shared} has no synergy-dataset folder; pass --shared")
    works = load_works(args.shared)
    rng = random.Random(2021)
    psycinfo = [w for w in works if rng.random() < 0.6]
    scopus = [w for w in works if rng.random() < 0.7]
    args.out.mkdir(parents=True, exist_ok=True)
    n_medline = write_medline(works, args.out / "medline.nbib")
    n_psycinfo = write_ovid_ris(psycinfo, args.out / "psycinfo.ris")
    n_scopus = write_scopus_csv(scopus, args.out / "scopus.csv")
    with (args.out / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["openalex_id", "doi", "pmid", "title", "label_included"])
        for work in works:
            writer.writerow([work["id"], doi(work), pmid(work), work.get("title") or "", work["label"]])
    print(
        f"medline.nbib {n_medline}, psycinfo.ris {n_psycinfo}, scopus.csv {n_scopus}, "
        f"truth.csv {len(works)} ({sum(w['label'] == '1' for w in works)} included)"
    )


if __name__ == "__main__":
    main()
