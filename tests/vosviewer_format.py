"""What a VOSviewer JSON file must hold, checked as its documentation specifies it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def check_vosviewer(document: Mapping[str, Any]) -> None:
    """A VOSviewer JSON file as its documentation specifies it (app.vosviewer.com, "VOSviewer
    JSON files"): a ``network`` object of ``items`` and ``links`` (and optional ``clusters``);
    an item has an ``id`` (string or integer) and a ``label``, an optional ``cluster`` (an
    integer from 1 to 1000), ``weights`` (string keys, non-negative numbers), ``description``
    and ``url`` (strings), ``x``/``y`` (numbers); a link has ``source_id`` and ``target_id`` (ids
    of items) and a non-negative ``strength``; a cluster has ``cluster`` and ``label``."""
    assert set(document) <= {"network", "config", "info"}
    network = document["network"]
    assert set(network) <= {"items", "links", "clusters"}
    ids: set[Any] = set()
    for item in network["items"]:
        assert set(item) <= {"id", "label", "description", "url", "x", "y", "cluster", "weights", "scores"}
        assert isinstance(item["id"], str | int) and not isinstance(item["id"], bool)
        assert item["id"] not in ids
        ids.add(item["id"])
        assert isinstance(item["label"], str) and item["label"]
        if "cluster" in item:
            assert isinstance(item["cluster"], int) and 1 <= item["cluster"] <= 1000
        for key, value in item.get("weights", {}).items():
            assert isinstance(key, str) and isinstance(value, int | float) and value >= 0
            assert math.isfinite(value)
        for key in ("description", "url"):
            assert isinstance(item.get(key, ""), str)
    for link in network["links"]:
        assert set(link) <= {"source_id", "target_id", "strength"}
        assert link["source_id"] in ids and link["target_id"] in ids
        assert link["source_id"] != link["target_id"]
        assert isinstance(link["strength"], int | float) and link["strength"] >= 0
    for cluster in network.get("clusters", []):
        assert isinstance(cluster["cluster"], int) and 1 <= cluster["cluster"] <= 1000
        assert isinstance(cluster["label"], str)


def check_vosviewer_files(map_text: str, network_text: str, document: Mapping[str, Any]) -> None:
    """VOSviewer's map and network files as its documentation specifies them, holding the same
    network as ``document`` (its JSON form): a map file of tab-separated columns under a header
    of ``id``, ``label``, ``description``, ``url``, ``x``, ``y``, ``cluster``, ``weight<...>`` and
    ``score<...>`` (a label with a comma or semicolon in double quotes), one item a line; a
    network file of two or three columns (source id, target id, strength), no header."""
    import csv
    import re

    rows = list(csv.reader(map_text.splitlines(), delimiter="\t", quotechar='"'))
    head, body = rows[0], rows[1:]
    fixed = {"id", "label", "description", "url", "x", "y", "cluster"}
    assert all(h in fixed or re.fullmatch(r"(weight|score)<[^<>]+>", h) for h in head), head
    assert "id" in head and "label" in head and len(set(head)) == len(head)
    for line, row in zip(map_text.splitlines()[1:], body, strict=True):
        assert len(row) == len(head)
        for cell in line.split("\t"):  # a comma or semicolon only inside quotes
            assert not re.search(r"[,;]", cell) or (cell.startswith('"') and cell.endswith('"')), cell
    items = {str(i["id"]): i for i in document["network"]["items"]}
    assert [r[head.index("id")] for r in body] == list(items)
    for row in body:
        item = items[row[head.index("id")]]
        assert row[head.index("label")] == item["label"].replace('"', "'")
        if "cluster" in head:
            assert int(row[head.index("cluster")]) == item["cluster"]
        for h, cell in zip(head, row, strict=True):
            if h.startswith("weight<"):
                assert float(cell) == item["weights"].get(h[7:-1], 0) and float(cell) >= 0
    links = []
    for line in network_text.splitlines():
        cells = line.split("\t")
        assert len(cells) in (2, 3), line
        assert cells[0] in items and cells[1] in items
        strength = float(cells[2]) if len(cells) == 3 else 1.0
        assert strength >= 0
        links.append((cells[0], cells[1], strength))
    assert links == [
        (str(k["source_id"]), str(k["target_id"]), float(k["strength"])) for k in document["network"]["links"]
    ]
