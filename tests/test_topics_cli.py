"""The topics and chart commands as a lead meets them, on real records; the tables on both databases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
import networkx as nx
import pytest
from click.testing import CliRunner

import scoping.cli.topics_cmd  # noqa: F401  (registers 'topics' and 'chart' until cli/__init__ does)
import scoping.store.topics_tables as tables
from scoping.cli import cli
from scoping.errors import UsageError
from scoping.store import Store
from scoping.topics import api as topics_api
from vosviewer_format import check_vosviewer, check_vosviewer_files

DATA = Path(__file__).parent / "data" / "topics"
REVIEWS = ("Jeyaraman_2020", "Sep_2021", "van_der_Valk_2021")


def run(review: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--review", str(review), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _the_lead_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Topic edits are the lead's: the template protocol's lead is called "lead"."""
    monkeypatch.setenv("SCOPING_REVIEWER", "lead")


@pytest.fixture
def works_csv(tmp_path: Path) -> Path:
    """The three review slices in one CSV of 'included works' (180 records)."""
    target = tmp_path / "included.csv"
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = None
        for name in REVIEWS:
            with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as stream:
                reader = csv.reader(stream)
                header = next(reader)
                if writer is None:
                    writer = csv.writer(out)
                    writer.writerow(header)
                writer.writerows(reader)
    return target


def topics_json(review: Path) -> dict:
    code, out, err = run(review, "topics", "show", "--json")
    assert code == 0, err
    return json.loads(out)


def find(topics: list[dict], term: str) -> dict:
    """The one topic with ``term`` among its top terms, alone or in a phrase ("hair cortisol")."""
    (topic,) = [t for t in topics if any(term in shown.split() for shown in t["top_terms"])]
    return topic


def group_commands(name: str) -> list[tuple[str, ...]]:
    group = cli.commands[name]
    assert isinstance(group, click.Group)
    return [(name,), *((name, sub) for sub in group.commands)]


@pytest.mark.parametrize("path", group_commands("topics") + group_commands("chart"), ids=" ".join)
def test_every_topics_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout, f"'scoping {' '.join(path)} --help' shows no example"


def test_fit_needs_screening_results_or_a_works_file(review_dir: Path) -> None:
    code, _, err = run(review_dir, "topics", "fit")
    assert code == 1
    assert err.strip() == (
        "Error: no works are included at full-text yet; screening results are needed, or pass "
        "--works FILE with the included records (CSV, RIS...)"
    )
    code, _, err = run(review_dir, "topics", "show")
    assert code == 1 and "run 'scoping topics fit' first" in err


def test_fit_show_rename_and_a_refit_keeps_the_name(review_dir: Path, works_csv: Path) -> None:
    code, out, err = run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "3")
    assert code == 0, err
    assert "Fitted 3 topics to 180 works from works file included.csv" in out
    shown = topics_json(review_dir)
    assert shown["works"] == 180 and len(shown["topics"]) == 3
    cortisol = find(shown["topics"], "cortisol")
    assert not cortisol["named"]

    code, out, _ = run(review_dir, "topics", "rename", cortisol["topic"], "Hair cortisol", "--by", "lead")
    assert code == 0 and f"{cortisol['topic']} is now called 'Hair cortisol'" in out

    # a refit on fewer works, with another seed, maps its topics onto the named ones
    fewer = works_csv.parent / "fewer.csv"
    lines = works_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = list(csv.reader(lines))
    with fewer.open("w", encoding="utf-8", newline="") as out_file:
        csv.writer(out_file).writerows(rows[:1] + rows[1:][::2])  # every other work: 90
    code, out, err = run(review_dir, "topics", "fit", "--works", str(fewer), "--n-topics", "3", "--seed", "7")
    assert code == 0, err
    assert "Carried over from earlier fits" in out
    again = topics_json(review_dir)
    assert again["fit"] == 2 and again["works"] == 90
    kept = find(again["topics"], "cortisol")
    assert kept["topic"] == cortisol["topic"] and kept["label"] == "Hair cortisol" and kept["named"]

    code, out, _ = run(review_dir, "topics", "show", "--fits", "--csv")
    assert code == 0 and out.splitlines()[0] == "fit,created_at,by,works,topics,seed,n_topics,source"
    assert len(out.splitlines()) == 3


def test_merge_split_move_and_the_edit_log(review_dir: Path, works_csv: Path) -> None:
    assert run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "3")[0] == 0
    topics = topics_json(review_dir)["topics"]
    cartilage = find(topics, "cartilage")["topic"]
    memory = find(topics, "memory")["topic"]
    cortisol = find(topics, "cortisol")["topic"]

    code, out, err = run(review_dir, "topics", "split", cartilage, "--into", "2")
    assert code == 0, err
    assert out.startswith(f"Split {cartilage} into 2 topics:")
    after = topics_json(review_dir)["topics"]
    assert len(after) == 4 and cartilage not in [t["topic"] for t in after]

    code, out, err = run(review_dir, "topics", "merge", memory, cortisol, "--name", "Stress and memory")
    assert code == 0, err
    merged = topics_json(review_dir)["topics"]
    assert len(merged) == 3
    (joined,) = [t for t in merged if t["label"] == "Stress and memory"]
    assert joined["topic"] == memory and joined["works"] >= 115

    code, out, _ = run(review_dir, "topics", "show", memory, "--csv", "--works", "0")
    rows = list(csv.DictReader(out.splitlines()))
    assert len(rows) == joined["works"] and rows[0]["rank"] == "1"
    work = rows[0]["work"]
    code, out, err = run(review_dir, "topics", "move", work, "--out-of", memory)
    assert code == 0 and "out of" in out, err
    code, _, err = run(review_dir, "topics", "move", work, "--out-of", memory)
    assert code == 1 and "is not in" in err
    code, _, err = run(review_dir, "topics", "move", "doi:10.9999/none", "--into", memory)
    assert code == 1 and "no work 'doi:10.9999/none'" in err
    code, _, err = run(review_dir, "topics", "move", work)
    assert code == 1 and "exactly one of --into TOPIC and --out-of TOPIC" in err

    code, out, _ = run(review_dir, "topics", "show", "--edits", "--json")
    log = json.loads(out)
    assert [e["what"].split()[0] for e in log] == ["split", "merge", "move"]
    assert all(e["applied"] for e in log)

    code, _, err = run(review_dir, "topics", "rename", "T99", "x")
    assert code == 1 and "no topic T99" in err


def test_map_writes_the_evidence_map(review_dir: Path, works_csv: Path) -> None:
    assert run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "3")[0] == 0
    code, out, err = run(review_dir, "topics", "map")
    assert code == 0, err
    folder = review_dir / "outputs" / "topics"
    for name in (
        "topics.csv",
        "topics.json",
        "topic_year.csv",
        "topic_year.png",
        "topic_doctype.csv",
        "topic_doctype.png",
        "topic_network.graphml",
        "topic_network.png",
        "topic_network_vosviewer.json",
        "topic_network_vosviewer_map.txt",
        "topic_network_vosviewer_network.txt",
        "topic_works.csv",
    ):
        assert (folder / name).is_file(), name
        assert name in out
    assert (folder / "topic_year.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    graph = nx.read_graphml(folder / "topic_network.graphml")
    assert graph.number_of_nodes() == 3
    sizes = {t["topic"]: t["works"] for t in json.loads((folder / "topics.json").read_text())["topics"]}
    with (folder / "topic_year.csv").open(encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            counted = sum(int(v) for k, v in row.items() if k not in ("topic", "label"))
            assert counted == sizes[row["topic"]]  # every work has a year here
    with (folder / "topic_doctype.csv").open(encoding="utf-8") as stream:
        types = next(csv.reader(stream))[2:]
    assert "Journal article" in types and "article" not in types  # OpenAlex "article", one vocabulary
    with (folder / "topic_works.csv").open(encoding="utf-8") as stream:
        ranked = list(csv.DictReader(stream))
    assert len(ranked) == sum(sizes.values())
    for topic in sizes:  # each topic's works, the largest share first
        shares = [float(r["share"]) for r in ranked if r["topic"] == topic]
        assert shares == sorted(shares, reverse=True) and len(shares) == sizes[topic]
    network = json.loads((folder / "topic_network_vosviewer.json").read_text(encoding="utf-8"))
    check_vosviewer(network)  # the format VOSviewer opens
    check_vosviewer_files(
        (folder / "topic_network_vosviewer_map.txt").read_text(encoding="utf-8"),
        (folder / "topic_network_vosviewer_network.txt").read_text(encoding="utf-8"),
        network,
    )
    topic_items = [i for i in network["network"]["items"] if i["label"].split()[0] in sizes]
    assert {i["label"].split()[0]: i["weights"]["Works"] for i in topic_items} == sizes
    assert len(network["network"]["items"]) > len(topic_items)  # and their top terms


def test_charting_fields_values_and_cross_tables(review_dir: Path, works_csv: Path) -> None:
    protocol = review_dir / "screening" / "protocol.toml"
    protocol.write_text(
        protocol.read_text(encoding="utf-8")
        + """
[charting.design]
description = "Study design"
values = ["RCT", "animal study", "observational", "other"]

[charting.country]
description = "Country"
multiple = true
""",
        encoding="utf-8",
    )
    code, out, _ = run(review_dir, "chart", "fields")
    assert code == 0 and "design" in out and "RCT, animal study" in out
    code, _, err = run(review_dir, "chart", "set", "#1", "design", "RCT")
    assert code == 1 and "run 'scoping topics fit' first" in err

    assert run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "3")[0] == 0
    code, out, err = run(review_dir, "chart", "set", "#1", "design", "rct")
    assert code == 0, err
    assert out.strip().endswith("design = RCT")
    code, _, err = run(review_dir, "chart", "set", "#1", "design", "cohort")
    assert code == 1 and "'cohort' is not a value of design" in err
    code, _, err = run(review_dir, "chart", "set", "#1", "population", "adults")
    assert code == 1 and "no charting field 'population'" in err

    sheet = review_dir / "charting.csv"
    sheet.write_text(
        "work,design,country\n#2,animal study,Netherlands; Germany\n#3,,France\n#61,observational,\n",
        encoding="utf-8",
    )
    code, out, err = run(review_dir, "chart", "import", str(sheet))
    assert code == 0 and "Charted 4 values" in out, err
    bad = review_dir / "bad.csv"
    bad.write_text("work,design\n#4,RCT\n#5,survey\n", encoding="utf-8")
    code, _, err = run(review_dir, "chart", "import", str(bad))
    assert code == 1 and "bad.csv, line 3" in err
    code, out, _ = run(review_dir, "chart", "show", "--csv")
    assert len(out.splitlines()) == 1 + 4  # the #4 of the bad sheet was not stored

    code, out, _ = run(review_dir, "chart", "show", "country", "--csv")
    table = list(csv.DictReader(out.splitlines()))
    assert {"Netherlands", "Germany", "France", "(unknown)"} <= set(table[0])
    assert sum(int(r["Germany"]) for r in table) >= 1

    code, out, _ = run(review_dir, "topics", "map")
    assert "topic_chart_design.csv" in out and "topic_chart_country.png" in out

    # the report's evidence-gap maps: the charted fields first, by their description
    from scoping.report.page import gather
    from scoping.review import Review

    topics = gather(Review(review_dir)).topics
    assert topics is not None
    dimensions = [m.dimension for m in topics.gap_maps]
    assert dimensions[:2] == ["Study design", "Country"] and "Publication year" in dimensions
    design = topics.gap_maps[0]
    assert design.columns == ["animal study", "observational", "RCT", "(unknown)"]
    sizes = {r.ref: r.works for r in topics.topics}
    for (ref, _), row in zip(design.rows, design.cells, strict=True):
        assert sum(len(cell) for cell in row) == sizes[ref]  # one design a work: each counted once
    listed = [topics.gap_works[k] for row in design.cells for k in row[design.columns.index("RCT")]]
    with works_csv.open(encoding="utf-8", newline="") as stream:
        first = next(csv.DictReader(stream))  # work #1, charted RCT
    assert [w.title for w in listed] == [first["title"]]


def test_bad_numbers_of_topics(review_dir: Path, works_csv: Path) -> None:
    code, _, err = run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "500")
    assert code == 1
    assert "500 topics were asked for but only 180 works have text to read" in err
    code, _, err = run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "some")
    assert code == 1 and "--n-topics takes a number of topics" in err


def test_topics_tables_on_both_databases(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert tables.latest_fit_id(store) is None
        fit_id = tables.add_fit(
            store,
            source="test",
            created_by="lead",
            params={"threshold": 0.2},
            k_scores={},
            notes=["a note"],
            works=[
                {"key": "doi:10.1/a", "title": "A", "keywords": ["x"], "year": 2020},
                {"key": "doi:10.1/b", "title": "B"},
            ],
            topics=[
                {"topic_id": 1, "position": 0, "auto_label": "a", "terms": {"a": 1.0}},
                {"topic_id": 2, "position": 1, "auto_label": "b", "terms": {"b": 1.0}},
            ],
            members=[("doi:10.1/a", 1, 0.97, 0.5), ("doi:10.1/a", 2, 0.03, 0.0), ("doi:10.1/b", 2, 1.0, 0.4)],
        )
        assert tables.latest_fit_id(store) == fit_id
        assert [w.keywords for w in tables.fit_works(store, fit_id)] == [["x"], []]
        members = tables.fit_members(store, fit_id)
        assert sorted((m.work_key, m.topic_id) for m in members) == [("doi:10.1/a", 1), ("doi:10.1/b", 2)]
        tables.add_edit(
            store, fit_id=fit_id, action="split", payload={"topic": 2, "into": [5, 6]}, made_by="lead"
        )
        assert tables.max_fit_topic_id(store) == 2
        assert topics_api.max_topic_id(store) == 6
        assert tables.known_profiles(store) == {1: {"a": 1.0}, 2: {"b": 1.0}}
        tables.add_chart_values(
            store,
            [
                ("doi:10.1/a", "design", "RCT"),
                ("doi:10.1/a", "design", None),
                ("doi:10.1/b", "design", "other"),
            ],
            made_by="lead",
        )
        assert tables.current_chart_values(store) == {("doi:10.1/b", "design"): "other"}
        assert len(tables.chart_history(store, "doi:10.1/a")) == 2


def test_works_come_from_screening_outcomes(review_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scoping.records import make_record
    from scoping.screen import outcomes as screen_outcomes
    from scoping.screen.outcomes import Outcome
    from scoping.store import screen_tables
    from scoping.topics import api as topics_api

    decided = {"title-abstract": {3: "include", 4: "include", 5: "exclude"}, "full-text": {}}

    def outcomes(store: Store, stage: str) -> dict[int, Outcome]:
        return {w: Outcome(w, stage, o, None, None) for w, o in decided[stage].items()}

    def work_records(store: Store, work_id: int) -> list:
        short = make_record(
            {
                "title": f"Peer support {work_id}",
                "abstract": "Short.",
                "keywords": "peers",
                "year": 2019,
                "doi": f"10.1/{work_id}",
            }
        )
        long = make_record(
            {
                "title": "Another title",
                "abstract": "A longer abstract of the work.",
                "keywords": "Peers; recovery",
                "doc_type": "JOUR",
            }
        )
        return [(1, "MEDLINE", short), (2, "PsycINFO", long)]

    monkeypatch.setattr(screen_outcomes, "final_outcomes", outcomes)
    monkeypatch.setattr(screen_tables, "work_records", work_records)
    with Store.open(review_dir / "screening" / "review.db") as store:
        with pytest.raises(
            UsageError,
            match=r"no works are included at full-text yet \(2 are included at "
            r"title-abstract: pass --stage title-abstract\)",
        ):
            topics_api.works_from_screening(store, "full-text")
        works = topics_api.works_from_screening(store, "title-abstract")
    assert [w.key for w in works] == ["work:3", "work:4"]
    first = works[0]
    assert first.title == "Peer support 3" and first.abstract == "A longer abstract of the work."
    assert first.keywords == ("peers", "recovery") and first.year == 2019
    assert first.doc_type == "journal article"  # JOUR


def test_auto_number_of_topics_is_explained(review_dir: Path) -> None:
    # one review's slice (60 works): fewer numbers of topics to compare than the three's 180
    code, out, err = run(review_dir, "topics", "fit", "--works", str(DATA / "Sep_2021.csv"))
    assert code == 0, err
    assert "topics: the fewest whose stability x coherence is within 5% of the best" in out
    code, out, _ = run(review_dir, "topics", "show", "--k-scores", "--json")
    rows = json.loads(out)
    assert [r["k"] for r in rows][:3] == [2, 3, 4]
    assert set(rows[0]) == {"k", "stability", "coherence", "score"}
    code, out, _ = run(review_dir, "topics", "show", "--k-scores")
    assert "chosen" in out


def test_only_a_lead_edits_topics(review_dir: Path, works_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(review_dir, "topics", "fit", "--works", str(works_csv), "--n-topics", "3")[0] == 0
    monkeypatch.delenv("SCOPING_REVIEWER")
    code, _, err = run(review_dir, "topics", "rename", "T1", "Mine")
    assert code == 1 and err.count("\n") == 1 and "say who you are with --by NAME (a lead" in err
    code, _, err = run(review_dir, "topics", "rename", "T1", "Mine", "--by", "reviewer1")
    assert code == 1 and "only a lead may do this, and 'reviewer1' is a reviewer" in err
    code, _, err = run(review_dir, "topics", "merge", "T1", "T2", "--by", "nobody")
    assert code == 1 and "'nobody' is not a reviewer" in err
    for args in (
        ("topics", "split", "T1", "--into", "2"),
        ("topics", "move", "#1", "--out-of", "T1"),
        ("topics", "fit", "--works", str(works_csv), "--n-topics", "3"),
    ):
        code, _, err = run(review_dir, *args, "--by", "reviewer2")
        assert code == 1 and "only a lead may do this" in err, args
    code, out, _ = run(review_dir, "topics", "show", "--edits", "--json")
    assert json.loads(out) == []
    code, out, err = run(review_dir, "topics", "rename", "T1", "Mine", "--by", "lead")
    assert code == 0, err
    code, out, _ = run(review_dir, "topics", "show", "--edits", "--json")
    assert [e["what"].split()[0] for e in json.loads(out)] == ["rename"]
    assert "lead" in out
