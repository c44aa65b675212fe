"""``scoping dedupe`` as a user meets it, on slices of real benchmark data with ground truth."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.dedupe.evaluate import removal_counts

DATA = Path(__file__).parent / "data" / "dedupe"


def run(*args: str, input: str | None = None, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def review(tmp_path: Path) -> Path:
    root = tmp_path / "rv"
    assert run("init", str(root))[0] == 0
    return root


def dd(review: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    return run("--review", str(review), "dedupe", *args, input=input)


def read_groups(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def truth(name: str) -> list[list[str]]:
    with (DATA / f"{name}-truth.csv").open(encoding="utf-8", newline="") as stream:
        return [row["merged_ids"].split(";") for row in csv.DictReader(stream)]


@pytest.mark.parametrize(("name", "min_sensitivity"), [("cardiac", 0.97), ("digital_work", 0.95)])
def test_benchmark_slice_no_false_links(
    review: Path, tmp_path: Path, name: str, min_sensitivity: float
) -> None:
    code, out, err = run("--review", str(review), "import", str(DATA / f"{name}.csv"), "--source", name)
    assert code == 0, err
    code, out, err = dd(review)
    assert code == 0, err
    assert out.startswith("De-duplicated ")
    target = tmp_path / "groups.csv"
    code, out, err = dd(review, "groups", "--out", str(target))
    assert code == 0, err
    rows = read_groups(target)
    assert list(rows[0]) == ["source_id", "work_id", "record_id", "source"]
    by_work: dict[str, list[str]] = {}
    for row in rows:
        by_work.setdefault(row["work_id"], []).append(row["source_id"])
    counts = removal_counts([r["source_id"] for r in rows], truth(name), list(by_work.values()))
    assert counts.fp == 0, counts
    assert counts.sensitivity >= min_sensitivity, counts
    assert out == f"Wrote {len(rows):,} records in {len(by_work):,} works to {target}\n"


def imported(review: Path) -> None:
    code, _, err = run("--review", str(review), "import", str(DATA / "digital_work.csv"), "--source", "DW")
    assert code == 0, err
    code, _, err = dd(review)
    assert code == 0, err


def test_run_report_and_rerun(review: Path) -> None:
    imported(review)
    code, out, _ = dd(review)
    assert code == 0
    assert out.splitlines()[0].startswith("De-duplicated 198 records (0 new) in ")


def test_show_explains_each_link(review: Path, tmp_path: Path) -> None:
    imported(review)
    target = tmp_path / "g.csv"
    dd(review, "groups", "--out", str(target))
    sizes: dict[str, int] = {}
    for row in read_groups(target):
        sizes[row["work_id"]] = sizes.get(row["work_id"], 0) + 1
    work = max(sizes, key=lambda w: (sizes[w], -int(w)))
    code, out, err = dd(review, "show", work)
    assert code == 0, err
    assert out.startswith(f"Work {work}: {sizes[work]} records from DW\n")
    assert "Links:" in out and "duplicate by rule '" in out and "matched: title" in out
    assert f"Merged view of work {work}" in out


DOUBTFUL = """ID,title,author,year,journal
d1,Peer support in early intervention services for psychosis,"Smith, J and Jones, K",2019,J Psych
d2,Peer support in early intervention services for psychosis,"Smith, J. and Jones, K.",2020,
d3,Recovery narratives of peer workers in community mental health teams,"Brown, A",2015,
d4,Recovery narratives of peer workers in community mental health teams,"Brown A",2016,BMC Psych
d5,Training needs of peer support workers: a survey of employers,"Green, P",2012,
d6,Training needs of peer support workers: a survey of employers,"Green, P",2013,
"""


def test_review_walks_the_queue_and_undo(review: Path) -> None:
    path = review / "doubtful.csv"
    path.write_text(DOUBTFUL, encoding="utf-8")
    run("--review", str(review), "import", str(path), "--source", "S")
    code, out, _ = dd(review)
    assert "3 doubtful pairs kept for review" in out
    code, out, _ = dd(review, "review", "--reviewer", "anna", input="s\nu\nd\nk\nq\n")
    assert code == 0
    assert "Undid 'same' for records" in out
    assert out.rstrip().endswith("Stored 0 same, 1 different, 1 skipped.")
    # the pair decided "different" left the queue; the skipped one is asked again
    code, out2, _ = dd(review, "review", "--reviewer", "anna", input="q\n")
    first_pending = [line for line in out2.splitlines() if line.startswith("Pair 1 of")]
    decided = next(line for line in out.splitlines() if line.startswith("Pair 1 of"))
    assert first_pending and first_pending[0].split(": ")[1] != decided.split(": ")[1]
    assert "2 doubtful pairs to review" in out2
    code, out3, _ = dd(review, "review", input="s\ns\n")
    assert out3.rstrip().endswith("Stored 2 same, 0 different, 0 skipped.")
    assert dd(review, "review")[1] == "No doubtful pairs wait for review.\n"


def test_review_with_an_empty_queue(review: Path) -> None:
    path = review / "one.csv"
    path.write_text(
        'ID,title,author,year\nx1,A study of peer support work in mental health,"Smith, J",2020\n',
        encoding="utf-8",
    )
    run("--review", str(review), "import", str(path), "--source", "S")
    dd(review)
    code, out, _ = dd(review, "review")
    assert (code, out) == (0, "No doubtful pairs wait for review.\n")


def test_undo_and_its_errors(review: Path) -> None:
    imported(review)
    code, _, err = dd(review, "show", "999999")
    assert code == 1 and err.startswith("Error: there is no work or record 999999") and err.count("\n") == 1
    code, _, err = dd(review, "undo", "999999")
    assert code == 1 and "no work 999999" in err


def test_undo_splits(review: Path, tmp_path: Path) -> None:
    imported(review)
    target = tmp_path / "g.csv"
    dd(review, "groups", "--out", str(target))
    work = next(r["work_id"] for r in read_groups(target) if r["work_id"] != r["record_id"])
    code, out, err = dd(review, "undo", work, "--by", "lead")
    assert code == 0, err
    assert out.startswith(f"Split work {work} into ")
    dd(review, "--rebuild")
    dd(review, "groups", "--out", str(target))
    assert all(
        r["work_id"] == r["record_id"]
        for r in read_groups(target)
        if r["record_id"] == work or r["work_id"] == work
    )


def test_overlap_writes_outputs_csv(review: Path) -> None:
    imported(review)
    code, out, err = dd(review, "overlap")
    assert code == 0, err
    assert "Works by database" in out
    target = review / "outputs" / "dedupe-overlap.csv"
    assert out.rstrip().endswith(f"Wrote {target}")
    rows = read_groups(target)
    assert rows[0]["source"] == "DW" and rows[0]["records"] == "198"
    assert rows[-1]["source"] == "(all)"


def test_groups_before_dedupe_is_a_one_line_error(review: Path, tmp_path: Path) -> None:
    run("--review", str(review), "import", str(DATA / "digital_work.csv"), "--source", "DW")
    code, _, err = dd(review, "groups", "--out", str(tmp_path / "g.csv"))
    assert code == 1
    assert err == "Error: nothing is de-duplicated yet; run 'scoping dedupe' first\n"
    assert not (tmp_path / "g.csv").exists()


def test_rebuild_is_not_a_subcommand_option(review: Path) -> None:
    code, _, err = dd(review, "--rebuild", "review")
    assert code == 2 and "--rebuild applies to 'scoping dedupe' itself" in err


def test_groups_fall_back_on_the_pmid(review: Path, tmp_path: Path) -> None:
    """A PubMed CSV has no ID column: its records are named by their PMID."""
    pubmed = DATA.parent / "colrev-csv" / "pubmed_csv.csv"
    code, _, err = run("--review", str(review), "import", str(pubmed), "--source", "PubMed")
    assert code == 0, err
    assert dd(review)[0] == 0
    code, out, err = dd(review, "groups", "--out", str(tmp_path / "g.csv"))
    assert code == 0 and out == f"Wrote 1 record in 1 work to {tmp_path / 'g.csv'}\n", err
    rows = (tmp_path / "g.csv").read_text(encoding="utf-8").splitlines()
    assert rows == ["source_id,work_id,record_id,source", "11223344,1,1,PubMed"]


def test_review_shows_both_abstracts(review: Path) -> None:
    labelled = Path(__file__).parent / "data" / "labelled"
    run("--review", str(review), "import", str(labelled / "Sep_2021.csv"), "--source", "PsycINFO")
    run("--review", str(review), "import", str(labelled / "Sep_2021_doubtful.ris"), "--source", "Embase")
    dd(review)
    code, out, _ = dd(review, "review", "--reviewer", "anna", input="q\n")
    assert code == 0
    row = [line for line in out.splitlines() if line.startswith("│ abstract")]
    assert row, out
    # both records' abstracts, side by side (the copy's is its original's first 400 characters)
    assert row[0].count("Noradrenergic activation of") == 2, row[0]


def test_method_model_links_by_the_pair_model_and_says_so(review: Path, tmp_path: Path) -> None:
    code, _, err = run("--review", str(review), "import", str(DATA / "cardiac.csv"), "--source", "cardiac")
    assert code == 0, err
    code, _, err = dd(review, "--method", "model")
    assert code == 0, err
    target = tmp_path / "groups.csv"
    assert dd(review, "groups", "--out", str(target))[0] == 0
    rows = read_groups(target)
    by_work: dict[str, list[str]] = {}
    for row in rows:
        by_work.setdefault(row["work_id"], []).append(row["source_id"])
    counts = removal_counts([r["source_id"] for r in rows], truth("cardiac"), list(by_work.values()))
    assert counts.fp == 0, counts
    assert counts.tp > 0, counts
    work = next(w for w, members in by_work.items() if len(members) > 1)
    record = next(r["record_id"] for r in rows if r["work_id"] == work)
    code, shown, err = dd(review, "show", record)
    assert code == 0, err
    assert "rule 'model P=" in shown
    assert "rule 'model P=" not in dd(review, "--rebuild")[1] + dd(review, "show", record)[1]


def test_method_is_not_a_subcommand_option(review: Path) -> None:
    code, _, err = dd(review, "--method", "model", "review")
    assert code == 2 and "--method applies to 'scoping dedupe' itself" in err
    code, _, err = dd(review, "--method", "tree")
    assert code == 2 and "'tree' is not one of 'rules', 'model'" in err
