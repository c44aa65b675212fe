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
