"""The evidence map: tables and pictures of topics against years, types, charted fields and each other.

Counts are of works, and a work counts in every topic it belongs to (topics overlap), so a
row of a table sums to the topic's size and a column can sum to more than its works.

Pictures are drawn with matplotlib's Agg canvas directly (no pyplot, no global state).
"""

from __future__ import annotations

import csv
import math
import os
import re
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scoping.files import replace_into
from scoping.topics.refine import TopicState

if TYPE_CHECKING:  # networkx is imported where a graph is made (the PRISMA counts need none)
    import networkx as nx

__all__ = [
    "CrossTable",
    "GapMap",
    "cooccurrence_graph",
    "cross_table",
    "draw_heatmap",
    "draw_network",
    "gap_map",
    "ranked_works",
    "topic_rows",
    "vosviewer_files",
    "vosviewer_network",
    "write_csv",
    "write_graphml",
    "write_text",
    "year_bins",
    "year_columns",
]

UNKNOWN = "(unknown)"


@dataclass(frozen=True, slots=True)
class CrossTable:
    """Counts of works by topic (rows) and category (columns)."""

    topics: list[int]
    labels: list[str]
    columns: list[str]
    counts: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for i, (tid, label) in enumerate(zip(self.topics, self.labels, strict=True)):
            row: dict[str, Any] = {"topic": f"T{tid}", "label": label}
            row.update({col: int(self.counts[i, j]) for j, col in enumerate(self.columns)})
            out.append(row)
        return out


def _ordered(state: TopicState) -> list[int]:
    """Topics largest first (ties by number)."""
    return sorted(state.topics, key=lambda t: (-len(state.topics[t].members), t))


def topic_rows(state: TopicState, n_terms: int = 10) -> list[dict[str, Any]]:
    """One row per topic: number, label, name, size, works it is the main topic of, terms."""
    main = state.main_topics()
    main_counts: dict[int, int] = {}
    for tid in main.values():
        main_counts[tid] = main_counts.get(tid, 0) + 1
    rows = []
    for tid in _ordered(state):
        t = state.topics[tid]
        rows.append(
            {
                "topic": t.ref,
                "label": t.label,
                "named": t.name is not None,
                "provisional_label": t.auto_label,
                "works": len(t.members),
                "main_topic_of": main_counts.get(tid, 0),
                "top_terms": t.top_terms(n_terms),
                "origin": t.origin,
                "moved_in": len(t.moved_in),
                "moved_out": len(t.moved_out),
            }
        )
    return rows


def cross_table(
    state: TopicState,
    categories: Mapping[str, Sequence[str]],
    *,
    columns: Sequence[str] | None = None,
    unknown: bool = True,
) -> CrossTable:
    """Works per topic and category; ``categories`` maps a work key to its categories.

    Columns are ``columns`` if given (they must hold every category), else the categories
    sorted. Works without a category count under ``(unknown)`` when ``unknown`` is true.
    """
    ids = _ordered(state)
    if columns is None:
        found: set[str] = set()
        for values in categories.values():
            found.update(values)
        cols = sorted(found, key=str.casefold)
    else:
        cols = list(columns)
    if unknown:
        cols.append(UNKNOWN)
    index = {c: j for j, c in enumerate(cols)}
    counts = np.zeros((len(ids), len(cols)), dtype=int)
    for i, tid in enumerate(ids):
        for work in state.topics[tid].members:
            values = categories.get(work) or ([UNKNOWN] if unknown else [])
            for value in values:
                counts[i, index[value]] += 1
    if unknown and not counts[:, -1].any():
        counts = counts[:, :-1]
        cols = cols[:-1]
    labels = [state.topics[t].label for t in ids]
    return CrossTable(topics=ids, labels=labels, columns=cols, counts=counts)


def year_columns(years: Mapping[str, Sequence[str]]) -> list[str]:
    """Every year from the earliest to the latest, so that a heatmap has no gaps."""
    found = sorted({int(y) for values in years.values() for y in values})
    return [str(y) for y in range(found[0], found[-1] + 1)] if found else []


MAX_YEAR_COLUMNS = 12
"""The most columns a topic x year heatmap has; a longer spread of years is binned."""

_BIN_WIDTHS = (1, 2, 5, 10, 20, 25, 50, 100, 1000)


def year_bins(
    years: Mapping[str, Sequence[str]], max_columns: int = MAX_YEAR_COLUMNS
) -> tuple[dict[str, list[str]], list[str]]:
    """Years grouped so that a heatmap stays readable: ``(categories, columns)``.

    Only years that have works count (empty years are dropped); while they are more than
    ``max_columns``, they are grouped into bins of 2, 5, 10, ... years aligned on multiples
    of the width ("1985-1989"), the narrowest width that fits. ``categories`` maps each work
    to its bin, ``columns`` are the bins that hold works, oldest first.
    """
    found = sorted({int(y) for values in years.values() for y in values})
    if not found:
        return {}, []
    width = next(
        w for w in _BIN_WIDTHS if len({y // w for y in found}) <= max_columns or w == _BIN_WIDTHS[-1]
    )

    def name(year: int) -> str:
        start = year // width * width
        return str(year) if width == 1 else f"{start}\u2013{start + width - 1}"

    columns: list[str] = []
    for year in found:
        if name(year) not in columns:
            columns.append(name(year))
    binned = {work: sorted({name(int(y)) for y in values}) for work, values in years.items()}
    return binned, columns


def cooccurrence_graph(state: TopicState) -> nx.Graph:
    """Topics as nodes (``works``, ``label``), an edge where works share topics (``shared``, ``jaccard``)."""
    import networkx as nx

    graph = nx.Graph()
    ids = _ordered(state)
    for tid in ids:
        t = state.topics[tid]
        graph.add_node(t.ref, label=t.label, works=len(t.members), top_terms=", ".join(t.top_terms(5)))
    for a_pos, a in enumerate(ids):
        members_a = set(state.topics[a].members)
        for b in ids[a_pos + 1 :]:
            members_b = set(state.topics[b].members)
            shared = len(members_a & members_b)
            if shared:
                union = len(members_a | members_b)
                graph.add_edge(f"T{a}", f"T{b}", shared=shared, jaccard=round(shared / union, 4))
    return graph


@dataclass(frozen=True, slots=True)
class GapMap:
    """Topics (rows) against the values of one dimension (columns), with the works of each cell.

    ``cells[i][j]`` are the keys of the works of topic ``topics[i]`` that have value
    ``columns[j]``, the largest share of the topic first; ``len`` of a cell is its count in
    :func:`cross_table` over the same categories."""

    dimension: str
    topics: list[int]
    labels: list[str]
    columns: list[str]
    cells: list[list[list[str]]]

    @property
    def counts(self) -> np.ndarray:
        return np.array([[len(c) for c in row] for row in self.cells], dtype=int).reshape(
            len(self.topics), len(self.columns)
        )


def gap_map(
    state: TopicState,
    categories: Mapping[str, Sequence[str]],
    *,
    dimension: str,
    columns: Sequence[str] | None = None,
) -> GapMap:
    """The evidence-gap map of topics against ``categories`` (work key -> its values), with
    the same columns as :func:`cross_table` (``(unknown)`` for works without a value)."""
    table = cross_table(state, categories, columns=columns)
    index = {c: j for j, c in enumerate(table.columns)}
    cells: list[list[list[str]]] = []
    for tid in table.topics:
        topic = state.topics[tid]
        row: list[list[str]] = [[] for _ in table.columns]
        for work in topic.ranked():
            for value in categories.get(work) or [UNKNOWN]:
                if value in index:
                    row[index[value]].append(work)
        cells.append(row)
    return GapMap(
        dimension=dimension, topics=table.topics, labels=table.labels, columns=table.columns, cells=cells
    )


_TOKEN = re.compile(r"\w+")


def _mentions(text: str, terms: Sequence[str]) -> set[str]:
    """The terms (one or more words) that occur in ``text`` as whole words in a row."""
    words = _TOKEN.findall(text.casefold())
    padded = " " + " ".join(words) + " "
    return {t for t in terms if f" {' '.join(_TOKEN.findall(t.casefold()))} " in padded}


def vosviewer_network(state: TopicState, texts: Mapping[str, str], *, n_terms: int = 5) -> dict[str, Any]:
    """The topics and their top terms as a VOSviewer network (its JSON file format).

    Items: each topic (weight "Works": its works) and each of its ``n_terms`` top terms
    (weight "Works": the works whose text, ``texts`` by work key, holds the term), in the
    cluster of the topic it is a top term of first. Links, of strength the works they share:
    topic-topic (works in both), topic-term (the topic's works that hold the term) and
    term-term (works that hold both terms).
    """
    ids = _ordered(state)
    items: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    term_id: dict[str, int] = {}
    for position, tid in enumerate(ids, start=1):
        t = state.topics[tid]
        items.append(
            {
                "id": position,
                "label": f"{t.ref} {t.label}",
                "description": "Top terms: " + ", ".join(t.top_terms(10)),
                "cluster": min(position, 1000),
                "weights": {"Works": len(t.members)},
            }
        )
        clusters.append({"cluster": min(position, 1000), "label": f"{t.ref} {t.label}"})
    for position, tid in enumerate(ids, start=1):
        for term in state.topics[tid].top_terms(n_terms):
            if term not in term_id:
                term_id[term] = len(items) + 1
                items.append(
                    {"id": term_id[term], "label": term, "cluster": min(position, 1000), "weights": {}}
                )
    terms = list(term_id)
    holding: dict[str, set[str]] = {term: set() for term in terms}
    for work, text in texts.items():
        for term in _mentions(text, terms):
            holding[term].add(work)
    for term, works in holding.items():
        items[term_id[term] - 1]["weights"] = {"Works": len(works)}
    links: list[dict[str, Any]] = []

    def link(a: int, b: int, strength: int) -> None:
        if strength:
            links.append({"source_id": a, "target_id": b, "strength": float(strength)})

    members = [set(state.topics[tid].members) for tid in ids]
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            link(a + 1, b + 1, len(members[a] & members[b]))
        for term in terms:
            link(a + 1, term_id[term], len(members[a] & holding[term]))
    for i, a_term in enumerate(terms):
        for b_term in terms[i + 1 :]:
            link(term_id[a_term], term_id[b_term], len(holding[a_term] & holding[b_term]))
    return {"network": {"items": items, "links": links, "clusters": clusters}}


def _vos_text(value: object) -> str:
    """A map file cell: one line, no tab; quoted when it holds a comma or semicolon (VOSviewer
    reads those as separators otherwise), a double quote inside made single."""
    text = " ".join(str(value).split()).replace('"', "'")
    return f'"{text}"' if ("," in text or ";" in text) else text


def vosviewer_files(network: Mapping[str, Any]) -> tuple[str, str]:
    """The network of :func:`vosviewer_network` as VOSviewer's map file (a header, one item a
    line: id, label, description, cluster, one ``weight<...>`` column per weight) and network
    file (one link a line: source id, target id, strength; no header), tab-separated."""
    items = network["network"]["items"]
    weights = sorted({key for item in items for key in item.get("weights", {})})
    head = ["id", "label", "description", "cluster", *(f"weight<{w}>" for w in weights)]
    lines = ["\t".join(head)]
    for item in items:
        cells = [item["id"], item["label"], item.get("description", ""), item.get("cluster", "")]
        cells += [item.get("weights", {}).get(w, 0) for w in weights]
        lines.append("\t".join(_vos_text(c) for c in cells))
    links = [f"{k['source_id']}\t{k['target_id']}\t{k['strength']:g}" for k in network["network"]["links"]]
    return "\n".join(lines) + "\n", "".join(f"{line}\n" for line in links)


def ranked_works(state: TopicState, works: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every topic's works, the largest share of the topic first (ties: the more representative)."""
    rows = []
    for tid in _ordered(state):
        t = state.topics[tid]
        for rank, key in enumerate(t.ranked(), start=1):
            info = works.get(key, {})
            rows.append(
                {
                    "topic": t.ref,
                    "label": t.label,
                    "rank": rank,
                    "work": key,
                    "share": round(t.members[key], 4),
                    "representativeness": round(t.scores.get(key, 0.0), 4),
                    "moved_in": key in t.moved_in,
                    "year": info.get("year") or "",
                    "title": info.get("title") or "",
                    "doi": info.get("doi") or "",
                }
            )
    return rows


# -- writing ------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files only their owner can read
        replace_into(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(rows: Sequence[Mapping[str, Any]], path: Path, columns: Sequence[str] | None = None) -> Path:
    """Write dict rows as CSV (lists joined with "; "), whole or not at all."""
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=cols, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {k: "; ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
                )

    _atomic(path, write)
    return path


def write_text(text: str, path: Path) -> Path:
    """Write a text file whole or not at all."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    _atomic(path, write)
    return path


def write_graphml(graph: nx.Graph, path: Path) -> Path:
    import networkx as nx

    _atomic(path, lambda tmp: nx.write_graphml(graph, tmp))
    return path


def _save(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight"))


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


CELL_FONT_PT = 9.5
"""The size of the counts written in a heatmap's cells (points, at 150 dpi)."""


def draw_heatmap(table: CrossTable, path: Path, *, title: str, xlabel: str) -> Path:
    """A topic x category heatmap with the counts written in the cells."""
    from matplotlib.figure import Figure

    n_rows, n_cols = table.counts.shape
    # sized so that, shown about 1000 px wide in the report, the counts are some 13 px high
    width = min(18.0, max(6.0, 3.6 + 0.5 * n_cols))
    fig = Figure(figsize=(width, min(24.0, max(3.0, 1.3 + 0.42 * n_rows))))
    ax = fig.add_subplot(1, 1, 1)
    data = table.counts if table.counts.size else np.zeros((1, 1), dtype=int)
    image = ax.imshow(data, aspect="auto", cmap="YlGnBu", interpolation="nearest")
    step = max(1, math.ceil(n_cols / 40))  # at most about 40 column labels
    ax.set_xticks(range(0, n_cols, step))
    ax.set_xticklabels([_short(c, 20) for c in table.columns[::step]], rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(
        [f"T{t} {_short(lbl)}" for t, lbl in zip(table.topics, table.labels, strict=True)], fontsize=9
    )
    top = data.max() if data.size else 0
    if n_cols <= 40 and n_rows <= 40:
        for i in range(n_rows):
            for j in range(n_cols):
                value = int(table.counts[i, j])
                if value:
                    ax.text(
                        j,
                        i,
                        str(value),
                        ha="center",
                        va="center",
                        fontsize=CELL_FONT_PT,
                        color="white" if value > 0.6 * top else "black",
                    )
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title(title, fontsize=11)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="works")
    _save(fig, path)
    return path


def draw_network(graph: nx.Graph, path: Path, *, title: str, seed: int = 0) -> Path:
    """Topics as circles sized by works, lines as thick as the works two topics share."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 7.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    if graph.number_of_nodes():
        import networkx as nx

        pos = nx.spring_layout(graph, seed=seed, weight="jaccard")
        sizes = np.array([graph.nodes[n]["works"] for n in graph.nodes], dtype=float)
        scale = 2200.0 / max(sizes.max(), 1.0)
        shared = [graph.edges[e]["shared"] for e in graph.edges]
        top_shared = max(shared) if shared else 1
        for (a, b), value in zip(graph.edges, shared, strict=True):
            ax.plot(
                [pos[a][0], pos[b][0]],
                [pos[a][1], pos[b][1]],
                color="0.55",
                linewidth=0.5 + 5.0 * value / top_shared,
                alpha=0.6,
                zorder=1,
            )
        xs = [pos[n][0] for n in graph.nodes]
        ys = [pos[n][1] for n in graph.nodes]
        ax.scatter(xs, ys, s=80 + sizes * scale, c="#4c8fbd", alpha=0.85, edgecolors="white", zorder=2)
        for n in graph.nodes:
            # whole words only, on a pale box just below the node, so labels stay readable
            # where nodes sit close together
            name = textwrap.fill(_short(graph.nodes[n]["label"], 40), 24, break_long_words=False)
            label = f"{n} ({graph.nodes[n]['works']})\n{name}"
            ax.annotate(
                label,
                pos[n],
                xytext=(0, -4 - 0.5 * np.sqrt(80 + graph.nodes[n]["works"] * scale)),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=6.5,
                zorder=3,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        ax.margins(0.15)
    _save(fig, path)
    return path
