"""Metrics, labelled data, the simulation and the `scoping simulate` command."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scoping.cli import cli
from scoping.errors import UsageError
from scoping.ingest import inspect_file, iter_records
from scoping.records import make_record
from scoping.screen import metrics
from scoping.screen.simulate import (
    METRIC_KEYS,
    choose_priors,
    labelled_from_records,
    simulate,
)
from scoping.screen.stop_methods import HypergeometricRanked, default_method
from scoping.screen.stop_rule import StoppingRule, SwitchHeuristic

DATA = Path(__file__).parent / "data" / "labelled"
SEP = DATA / "Sep_2021.csv"
FIRST60 = DATA / "Sep_2021_first60.ris"
"""The first 60 rows of SEP (11 includes), labels in the LB tag: for the tests of the command's
options and output, where what is checked is the interface, not how well it ranks (a seed on it
costs about a fifth of one on SEP's 271 works)."""


# -- metrics, against independent computations ----------------------------------------------


def brute_loss(labels: list[int]) -> float:
    """Area between the best and the actual recall step curves over the area best - worst."""
    n, r = len(labels), sum(labels)
    found = 0
    actual = 0
    for label in labels:
        found += label
        actual += found
    best = sum(min(i, r) for i in range(1, n + 1))
    worst = sum(max(0, i - (n - r)) for i in range(1, n + 1))
    return (best - actual) / (best - worst)


def brute_wss(labels: list[int], level: float) -> float:
    n, r = len(labels), sum(labels)
    k = max((j for j in range(1, r + 1) if j / r <= level), default=r)
    found, position = 0, -1
    for position, label in enumerate(labels):  # noqa: B007
        found += label
        if found >= k:
            break
    random_position = next(i for i in range(n) if round(i * r / (n - 1)) >= k)
    return (random_position - position) / n


@pytest.mark.parametrize("seed", range(12))
def test_metrics_agree_with_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 400))
    labels = (rng.random(n) < rng.uniform(0.03, 0.4)).astype(int).tolist()
    labels[int(rng.integers(n))] = 1
    labels[int(rng.integers(n))] = 0
    if sum(labels) in (0, n):
        pytest.skip("one class only")
    assert metrics.loss(labels) == pytest.approx(brute_loss(labels))
    assert metrics.wss(labels, 0.95) == pytest.approx(brute_wss(labels, 0.95))
    tenth = math.floor(0.1 * n + 1e-9)
    assert metrics.rrf(labels) == pytest.approx(sum(labels[:tenth]) / sum(labels))
    needed = math.ceil(0.95 * sum(labels) - 1e-9)
    assert metrics.records_to_recall(labels, 0.95) == next(
        i + 1 for i in range(n) if sum(labels[: i + 1]) >= needed
    )


def test_metric_ends_of_the_scale() -> None:
    assert metrics.loss([1, 1, 0, 0, 0]) == 0.0
    assert metrics.loss([0, 0, 0, 1, 1]) == 1.0
    assert metrics.loss([1, 0, 1]) == pytest.approx(0.5)
    perfect = [1] * 10 + [0] * 990
    # 95 % of 10 includes: the 9th (9/10 is the last level not above 0.95), found at position
    # 8 (0-based) against about 850 in random order
    assert metrics.wss(perfect) == pytest.approx(
        (int(np.searchsorted(np.round(np.linspace(0, 10, 1000)), 9)) - 8) / 1000
    )
    assert metrics.wss(perfect, 1.0) == pytest.approx(
        (int(np.searchsorted(np.round(np.linspace(0, 10, 1000)), 10)) - 9) / 1000
    )
    assert metrics.rrf(perfect) == 1.0
    assert metrics.records_to_recall(perfect, 0.95) == 10
    assert metrics.records_to_recall([1, 0, 0], 1.0, total_includes=2) is None
    with pytest.raises(ValueError, match="both"):
        metrics.loss([0, 0, 0])
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.wss([0, 2, 1])


# -- labelled data ----------------------------------------------------------------------------


def read(path: Path, column: str = "label_included", source: str = "test"):
    return labelled_from_records(iter_records(inspect_file(path)), column, source=source)


def test_reads_a_labelled_csv_and_notes_missing_abstracts() -> None:
    data = read(SEP)
    assert data.labels.size == 271 and data.n_includes == 40
    assert data.rows == list(range(271))
    assert data.texts[0].startswith("Noradrenergic activation of the basolateral amygdala")
    assert any("1 records have no abstract" in note for note in data.notes)


def test_reads_labels_from_a_ris_tag() -> None:
    data = read(FIRST60, "LB")
    assert data.labels.size == 60 and data.n_includes == 11


def test_asreview_ris_notes_are_labels() -> None:
    records = [
        make_record({"title": f"t{i}"}, raw=f"TY  - JOUR\nTI  - t{i}\nN1  - {note}\nER  - ")
        for i, note in enumerate(
            [
                "ASReview_relevant",
                "ASReview_irrelevant",
                "ASReview_relevant",
                "ASReview_irrelevant",
                "ASReview_not_seen",
            ]
        )
    ]
    data = labelled_from_records(records, "N1")
    assert data.labels.tolist() == [1, 0, 1, 0]
    assert "1 of 5 records have no label" in data.notes[0]


def write(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "d.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=["title", "abstract", "included"]).to_csv(path, index=False)
    return path


def test_label_values(tmp_path: Path) -> None:
    rows = [
        ("a b", "x", "1.0"),
        ("c d", "y", "0.0"),
        ("e f", "z", "true"),
        ("g h", "w", "no"),
        ("i j", "v", ""),
        ("k l", "u", "-1"),
        ("m n", "t", "0"),
    ]
    data = read(write(tmp_path, rows), "Included")  # column names match loosely
    assert data.labels.tolist() == [1, 0, 1, 0, 0]
    assert data.rows == [0, 1, 2, 3, 6]
    assert data.notes == ["2 of 7 records have no label in 'Included' and were left out"]
    with pytest.raises(
        UsageError,
        match=r"must hold 0 .exclude. or 1 .include.; found '2' \(2x\), "
        r"'maybe' \(1x\), first at line 3",
    ):
        read(
            write(
                tmp_path,
                [("a", "x", "1"), ("b", "y", "2"), ("c", "z", "maybe"), ("d", "w", "2"), ("e", "v", "0")],
            ),
            "included",
        )


def test_refuses_data_it_cannot_simulate(tmp_path: Path) -> None:
    no_includes = write(tmp_path, [(f"t{i}", "a", "0") for i in range(5)])
    with pytest.raises(UsageError, match=r"0 include.s. and 5 exclude.s.*at least two of each"):
        read(no_includes, "included")
    no_excludes = write(tmp_path, [(f"t{i}", "a", "1") for i in range(5)])
    with pytest.raises(UsageError, match=r"5 include.s. and 0 exclude"):
        read(no_excludes, "included")
    with pytest.raises(UsageError, match=r"no label column 'decision'.*'included'"):
        read(no_excludes, "decision")


def test_notes_duplicates_and_empty_texts(tmp_path: Path) -> None:
    rows = [
        ("Same title", "Same abstract", "1"),
        ("Same title", "Same abstract", "0"),
        ("Other", "", "1"),
        ("", "", "0"),
        ("Third", "text", "0"),
    ]
    data = read(write(tmp_path, rows), "included")
    notes = " | ".join(data.notes)
    assert "1 records repeat the title and abstract of an earlier one" in notes
    assert "1 of them carry the opposite label" in notes
    assert "1 records have neither title nor abstract" in notes
    assert "1 records have no abstract and are ranked on their title alone" in notes
    assert data.labels.size == 5  # nothing dropped


# -- the simulation ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sep():
    return read(SEP)


@pytest.fixture(scope="module")
def result(sep):
    # the random-sample rule, run live as a review runs it (whatever the default is)
    return simulate(sep.texts, sep.labels, seeds=(0, 1), heuristic=SwitchHeuristic())


def test_priors_are_one_include_and_one_exclude(sep) -> None:
    for seed in range(5):
        inc, exc = choose_priors(sep.labels, seed)
        assert sep.labels[inc] == 1 and sep.labels[exc] == 0
        assert choose_priors(sep.labels, seed) == (inc, exc)
    assert len({choose_priors(sep.labels, s) for s in range(5)}) > 1


def test_simulation_beats_random_screening(result) -> None:
    assert result.n_records == 271 and result.n_includes == 40
    for run in result.runs:
        # random screening has WSS about 0, loss about 0.5, RRF@10 about 10
        assert run.wss95 > 20 and run.loss < 0.3 and run.rrf10 > 15, run
        assert run.records_to_95 < 0.75 * result.n_records


def test_realistic_order_ranked_then_sampled(result) -> None:
    for run in result.runs:
        assert run.switch_at is not None and run.stopped_by_rule
        assert 2 < run.switch_at < run.stop_at <= result.n_records
        assert run.stop_at - run.switch_at == run.sampled_labels.size
        # recall at the stop, recounted from the two orders
        ranked_part = run.ranked_labels[: run.switch_at - 2]
        found = 1 + int(ranked_part.sum()) + int(run.sampled_labels.sum())
        assert run.recall_at_stop == pytest.approx(found / result.n_includes)
        assert run.p_value_at_stop is not None and run.p_value_at_stop < 0.05
        # every include is found in the ranked order (the metrics need the whole curve)
        assert 1 + int(run.ranked_labels.sum()) == result.n_includes
        assert run.ranked_labels[-1] == 1


def test_mean_and_dict(result) -> None:
    mean = result.mean
    for key in METRIC_KEYS:
        assert mean[key] == pytest.approx(np.mean([getattr(r, key) for r in result.runs]))
    payload = result.to_dict()
    assert set(METRIC_KEYS) <= set(payload["runs"][0]) and set(METRIC_KEYS) <= set(payload["mean"])
    assert payload["settings"]["stopping"]["recall_target"] == 0.95
    json.dumps(payload)


def test_same_seed_same_result(sep, result) -> None:
    again = simulate(sep.texts, sep.labels, seeds=(1,), heuristic=SwitchHeuristic())
    first = result.runs[1].to_dict()
    second = again.runs[0].to_dict()
    first.pop("seconds")
    second.pop("seconds")
    assert first == second


def test_other_stopping_methods_are_replayed_on_the_ranked_order(sep, result) -> None:
    ranked = simulate(sep.texts, sep.labels, seeds=(0, 1), stopping=HypergeometricRanked())
    assert ranked.settings["stopping"]["method"] == "hypergeom-ranked"
    for run, live in zip(ranked.runs, result.runs, strict=True):
        assert run.wss95 == live.wss95  # the same ranking
        order = np.zeros(ranked.n_records, dtype=np.int8)
        order[:2] = 1, 0
        order[2 : 2 + run.ranked_labels.size] = run.ranked_labels
        # no random phase: the stop is a prefix of the ranked order, so its recall is known
        found = int(order[: run.stop_at].sum())
        assert run.recall_at_stop == pytest.approx(found / ranked.n_includes)
        assert run.stopped_by_rule == (run.stop_at < ranked.n_records)
        assert run.switch_at is None and run.sampled_labels.size == 0
        # and the test is met where it stopped, not one work earlier (271 works: it is
        # tested after every work)
        if run.stopped_by_rule:
            assert HypergeometricRanked().test(order[: run.stop_at], ranked.n_records).met
            assert not HypergeometricRanked().test(order[: run.stop_at - 1], ranked.n_records).met
    default = simulate(sep.texts, sep.labels, seeds=(0,))
    assert default.settings["stopping"]["method"] == default_method().key
    assert default.settings["stopping"]["guarantee"] is False
    # the default stops where its rule (the one a live 'scoping stop' applies) is first met
    run = default.runs[0]
    order = np.zeros(default.n_records, dtype=np.int8)
    order[:2] = 1, 0
    order[2 : 2 + run.ranked_labels.size] = run.ranked_labels
    rule = default_method()
    if run.stopped_by_rule:
        assert rule.test(order[: run.stop_at], default.n_records).met
    assert not rule.test(order[: run.stop_at - 1], default.n_records).met
    assert run.recall_at_stop == pytest.approx(int(order[: run.stop_at].sum()) / default.n_includes)


def test_stricter_rule_screens_more(sep) -> None:
    loose = simulate(sep.texts, sep.labels, seeds=(0,), rule=StoppingRule(0.8, 0.8))
    strict = simulate(sep.texts, sep.labels, seeds=(0,), rule=StoppingRule(0.99, 0.99))
    assert loose.runs[0].stop_at < strict.runs[0].stop_at
    assert loose.runs[0].wss95 == strict.runs[0].wss95  # the ranking does not depend on the rule


def test_simulate_checks_its_input() -> None:
    with pytest.raises(UsageError, match="two includes"):
        simulate(["a", "b", "c"], [1, 0, 0])
    with pytest.raises(UsageError, match=r"0 .exclude. or 1"):
        simulate(["a", "b", "c", "d"], [1, 0, 3, 1])
    with pytest.raises(ValueError, match="texts but"):
        simulate(["a"], [1, 0, 1, 0])


# -- the command ------------------------------------------------------------------------------


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_json_interface(tmp_path: Path) -> None:
    code, out, err = run(
        "simulate",
        str(FIRST60),
        "--label-column",
        "LB",
        "--seeds",
        "2",
        "--json",
        "--out-dir",
        str(tmp_path / "figures"),
    )
    assert code == 0, err
    payload = json.loads(out)
    keys = {"seed", "wss95", "rrf10", "loss", "stop_at", "recall_at_stop"}
    assert [r["seed"] for r in payload["runs"]] == [0, 1]
    for run_ in payload["runs"]:
        assert keys <= set(run_)
        assert 0 <= run_["recall_at_stop"] <= 1
        assert -100 <= run_["wss95"] <= 100 and 0 <= run_["rrf10"] <= 100
        assert isinstance(run_["stop_at"], int) and 0 < run_["stop_at"] <= 60
    assert keys - {"seed"} <= set(payload["mean"])
    assert payload["mean"]["wss95"] == pytest.approx(np.mean([r["wss95"] for r in payload["runs"]]))
    assert payload["settings"]["stopping"]["recall_target"] == 0.95
    assert payload["settings"]["stopping"]["confidence"] == 0.95
    plot = Path(payload["plot"])
    assert plot.parent == tmp_path / "figures" and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tables_and_plot_in_the_review_folder(tmp_path: Path) -> None:
    review = tmp_path / "rv"
    assert run("init", str(review))[0] == 0
    code, out, err = run(
        "simulate", str(SEP), "--label-column", "label_included", "--seeds", "1", cwd=review / "screening"
    )
    assert code == 0, err
    assert "271 records, 40 includes" in out and "mean" in out
    assert "1 records have no abstract" in out
    assert (review / "outputs" / "simulation-Sep_2021.png").is_file()


def test_plot_goes_to_outputs_outside_a_review(tmp_path: Path) -> None:
    code, _, err = run(
        "simulate",
        str(FIRST60),
        "--label-column",
        "LB",
        "--seeds",
        "1",
        "--recall-target",
        "0.9",
        cwd=tmp_path,
    )
    assert code == 0, err
    assert (tmp_path / "outputs" / "simulation-Sep_2021_first60.png").is_file()


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    bad = write(tmp_path, [("a", "x", "1"), ("b", "y", "yes please"), ("c", "z", "0")])
    for args, fragment in [
        ((str(SEP), "--label-column", "nope"), "no label column 'nope'"),
        ((str(bad), "--label-column", "included"), "'yes please' (1x), first at line 3"),
        ((str(tmp_path / "missing.csv"), "--label-column", "x"), "no such file"),
    ]:
        code, _, err = run("simulate", *args, "--no-plot")
        assert code == 1, err
        assert err.startswith("Error: ") and err.count("\n") == 1 and fragment in err, err
    code, _, err = run("simulate", str(SEP), "--label-column", "x", "--recall-target", "95")
    assert code == 2 and "0<x<1" in err


def test_help_has_an_example() -> None:
    code, out, _ = run("simulate", "--help")
    assert code == 0 and "Example" in out and "--label-column" in out and "outputs/" in out


def test_the_installed_command_has_simulate(tmp_path: Path) -> None:
    """`scoping simulate DATASET.csv --label-column COL --seeds N --json`, as outside checks run
    it: the installed command, one JSON object with per-seed runs and their mean."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoping",
            "simulate",
            str(FIRST60),
            "--label-column",
            "LB",
            "--seeds",
            "2",
            "--json",
            "--out-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    keys = {"seed", "wss95", "rrf10", "loss", "stop_at", "recall_at_stop"}
    assert [run["seed"] for run in result["runs"]] == [0, 1]
    assert all(keys <= set(run) for run in result["runs"])
    assert keys - {"seed"} <= set(result["mean"])
    assert 0 <= result["mean"]["recall_at_stop"] <= 1 and 0 < result["mean"]["wss95"] < 100


def test_stopping_method_is_chosen_on_the_command_line(tmp_path: Path) -> None:
    args = ("simulate", str(FIRST60), "--label-column", "LB", "--seeds", "1", "--no-plot")
    code, out, err = run(*args, "--json", "--stopping", "knee")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["settings"]["stopping"]["method"] == "knee"
    stop_at = payload["runs"][0]["stop_at"]
    assert 0 < stop_at <= payload["n_records"]
    code, out, err = run(*args, "--stopping", "knee")
    assert code == 0 and "Stopping: knee method" in " ".join(out.split())
    code, _, err = run(*args, "--stopping", "nope")
    assert code == 2 and "Invalid value for '--stopping'" in err


def test_criteria_and_seed_studies_options(tmp_path: Path) -> None:
    criteria = tmp_path / "criteria.txt"
    criteria.write_text("Simulation studies of memory reconsolidation in rodents.\n", encoding="utf-8")
    frame = pd.read_csv(SEP)  # FIRST60 holds its first 60 rows
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{frame['doi'][3]}\nA study this dataset does not hold\n", encoding="utf-8")
    code, out, err = run(
        "simulate",
        str(FIRST60),
        "--label-column",
        "LB",
        "--seeds",
        "1",
        "--json",
        "--no-plot",
        "--criteria",
        str(criteria),
        "--seed-studies",
        str(seeds),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n_records"] == 60 and {"wss95", "rrf10", "loss"} <= set(payload["mean"])
    (run_,) = payload["runs"]
    assert {"seed", "wss95", "loss", "stop_at", "recall_at_stop"} <= set(run_)
    assert run_["seed_rows"] == [3] and 0 <= run_["prior_weight"] <= 1
    assert "1 found in the dataset" in " ".join(payload["notes"])
    assert payload["settings"]["prior_text"]["characters"] > len("Simulation studies")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    for option, path, fragment in [
        ("--criteria", tmp_path / "none.txt", "no such file"),
        ("--criteria", empty, "is empty"),
        ("--seed-studies", empty, "names no study"),
    ]:
        code, _, err = run("simulate", str(FIRST60), "--label-column", "LB", "--no-plot", option, str(path))
        assert code == 1, err
        assert err.startswith("Error: ") and err.count("\n") == 1 and fragment in err, err


# -- the adaptive ranker ------------------------------------------------------------------------


def test_adaptive_ranker_moves_to_the_criteria_when_only_they_know() -> None:
    # the works' words say nothing about the decisions (each work has a word of its own, in no
    # other work, the rest drawn alike for all), but the criteria text names every include's
    # own word twice and the own words of 60 excludes once: the criteria signal is the only one
    # that ranks includes above excludes, and the adaptive weights must move to it
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(60)]
    labels = np.zeros(300, dtype=np.int8)
    labels[rng.choice(300, 30, replace=False)] = 1
    texts = [" ".join([*rng.choice(vocabulary, 12).tolist(), f"own{row}"]) for row in range(300)]
    named = [f"own{r} own{r}" for r in np.flatnonzero(labels == 1)]
    named += [f"own{r}" for r in np.flatnonzero(labels == 0)[:60]]
    adaptive = simulate(texts, labels, seeds=[0], criteria=" ".join(named), ranker_kind="adaptive")
    (run,) = adaptive.runs
    weights = run.signal_weights
    assert weights is not None and set(weights) == {"svm", "nb", "centroid", "criteria"}
    assert sum(weights.values()) == pytest.approx(1, abs=1e-3)
    start = adaptive.settings["ranker"]["adaptive"]["start_weights"]
    assert start == {"svm": 0.3333, "nb": 0.1667, "centroid": 0.0, "criteria": 0.5}
    assert weights["criteria"] > 0.8 and weights["criteria"] == max(weights.values())
    plain = simulate(texts, labels, seeds=[0], criteria=" ".join(named))
    assert plain.runs[0].signal_weights is None and "adaptive" not in plain.settings["ranker"]


def test_ranker_option_on_the_command_line(tmp_path: Path) -> None:
    from scoping.cli.simulate_cmd import RANKER_CHOICES
    from scoping.screen.simulate import RANKERS

    assert RANKER_CHOICES == RANKERS
    args = ("simulate", str(FIRST60), "--label-column", "LB", "--seeds", "2", "--no-plot")
    code, out, err = run(*args, "--json", "--ranker", "adaptive")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n_records"] == 60
    assert {"wss95", "rrf10", "loss"} <= set(payload["mean"])
    assert [r["seed"] for r in payload["runs"]] == [0, 1]
    for run_ in payload["runs"]:
        assert {"seed", "wss95", "loss", "stop_at", "recall_at_stop"} <= set(run_)
        assert set(run_["signal_weights"]) == {"svm", "nb", "centroid"}
    assert payload["settings"]["ranker"]["adaptive"]["signals"] == ["svm", "nb", "centroid"]
    code, out, err = run(*args, "--json")
    assert code == 0 and all(r["signal_weights"] is None for r in json.loads(out)["runs"])
    code, _, err = run(*args, "--ranker", "best")
    assert code == 2 and "Invalid value for '--ranker'" in err
    with pytest.raises(UsageError, match="unknown ranker"):
        simulate(["a b", "c d", "a c", "b d"], [1, 0, 1, 0], seeds=[0], ranker_kind="best")


def test_adaptive_ranker_with_chosen_signals() -> None:
    rng = np.random.default_rng(3)
    labels = np.zeros(80, dtype=np.int8)
    labels[:12] = 1
    texts = [
        " ".join(rng.choice(["a", "b", "c", "d", "e", "f"], 8).tolist() + (["inc"] if y else []))
        for y in labels
    ]
    result = simulate(texts, labels, seeds=[0], ranker_kind="adaptive", signals=["svm", "nb"])
    weights = result.runs[0].signal_weights
    assert weights is not None and set(weights) == {"svm", "nb"}
    assert result.settings["ranker"]["adaptive"]["signals"] == ["svm", "nb"]
    for bad in (["centroid"], ["svm", "bogus"]):
        with pytest.raises(ValueError, match="pick from"):
            simulate(texts, labels, seeds=[0], ranker_kind="adaptive", signals=bad)
