"""The evidence map: tables and pictures of topics against years, types, charted fields and each other.

Counts are of works, and a work counts in every topic it belongs to (topics overlap), so a
row of a table sums to the topic's size and a column can sum to more than its works.

Pictures are drawn with matplotlib's Agg canvas directly (no pyplot, no global state).
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from scoping.files import replace_into
from scoping.topics.refine import TopicState

__all__ = [
    "CrossTable",
    "cooccurrence_graph",
    "cross_table",
    "draw_heatmap",
    "draw_network",
    "ranked_works",
    "topic_rows",
    "write_csv",
    "write_graphml",
    "write_text",
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


def cooccurrence_graph(state: TopicState) -> nx.Graph:
    """Topics as nodes (``works``, ``label``), an edge where works share topics (``shared``, ``jaccard``)."""
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


def ranked_works(state: TopicState, works: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every topic's works, most representative first: the candidates for the most informative."""
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
    _atomic(path, lambda tmp: nx.write_graphml(graph, tmp))
    return path


def _save(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight"))


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def draw_heatmap(table: CrossTable, path: Path, *, title: str, xlabel: str) -> Path:
    """A topic x category heatmap with the counts written in the cells."""
    from matplotlib.figure import Figure

    n_rows, n_cols = table.counts.shape
    width = min(18.0, max(6.0, 4.4 + 0.42 * n_cols))
    fig = Figure(figsize=(width, min(24.0, max(3.0, 1.2 + 0.36 * n_rows))))
    ax = fig.add_subplot(1, 1, 1)
    data = table.counts if table.counts.size else np.zeros((1, 1), dtype=int)
    image = ax.imshow(data, aspect="auto", cmap="YlGnBu", interpolation="nearest")
    step = max(1, math.ceil(n_cols / 40))  # at most about 40 column labels
    ax.set_xticks(range(0, n_cols, step))
    ax.set_xticklabels([_short(c, 20) for c in table.columns[::step]], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(
        [f"T{t} {_short(lbl)}" for t, lbl in zip(table.topics, table.labels, strict=True)], fontsize=7
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
                        fontsize=6,
                        color="white" if value > 0.6 * top else "black",
                    )
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
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
