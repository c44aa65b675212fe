"""``scoping simulate``: replay a labelled review through prioritisation and the stopping rule."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from scoping import app
from scoping.errors import ReviewFolderError, UsageError
from scoping.ingest import FORMATS
from scoping.review import find_review
from scoping.screen.stop_rule import STOPPING_METHODS, StoppingRule, SwitchHeuristic

from ._lazy import LazyModule
from .console import console
from .console import progress as progress_bar
from .main import State, cli

if TYPE_CHECKING:
    from scoping.screen.simulate import SimulationResult

sim = LazyModule("scoping.screen.simulate")  # numpy, scikit-learn: loaded when a simulation runs
methods = LazyModule("scoping.screen.stop_methods")  # numpy, scipy
prior = LazyModule("scoping.screen.prior")  # numpy

out = console()

RANKER_CHOICES = ("default", "adaptive")
"""The rankers of :data:`scoping.screen.simulate.RANKERS`, named here so the CLI starts
without numpy (a test checks the two agree)."""


def _out_dir(explicit: str | None) -> Path:
    """--out-dir if given, else outputs/ of the review folder we are in, else ./outputs."""
    if explicit is not None:
        return Path(explicit)
    state = click.get_current_context().find_object(State)
    try:
        review = find_review(state.review_dir if state is not None else None)
    except ReviewFolderError:
        return Path("outputs")
    return review.outputs_dir


@cli.command("simulate")
@click.argument("dataset", type=click.Path(dir_okay=False))
@click.option(
    "--label-column",
    required=True,
    metavar="COL",
    help="The column holding the decisions, 1 = include, 0 = exclude (in RIS: a tag "
    "such as LB; ASReview's relevant/irrelevant notes are read too).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    metavar="N",
    help="Simulate N times (seeds 0..N-1), each with its own random prior include and exclude.",
)
@click.option(
    "--recall-target",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="The stopping rule's recall target.",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="The stopping rule's confidence level.",
)
@click.option(
    "--stopping",
    type=click.Choice(["default", *STOPPING_METHODS]),
    default="default",
    show_default=True,
    help="The stopping method whose stop_at and recall_at_stop are reported: the default, "
    "or one of the others compared by bench/stopping_methods.py.",
)
@click.option(
    "--ranker",
    type=click.Choice(RANKER_CHOICES),
    default="default",
    show_default=True,
    help="default: the linear SVM with a naive Bayes vote. adaptive: the SVM, the naive "
    "Bayes vote, the similarity to the includes found and the criteria (with --criteria) "
    "weighed per review, the weights learned at each refit from how each had ranked the "
    "works decided since. On the labelled reviews measured (bench/adaptive_ranker.py) it is "
    "no better than the default.",
)
@click.option(
    "--criteria",
    "criteria_file",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A text file with the review's inclusion criteria: ranked against every work "
    "(TF-IDF cosine) and blended with the model, the weight learned from the decisions.",
)
@click.option(
    "--seed-studies",
    "seeds_file",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Known relevant studies, one DOI or title per line: those in the dataset are "
    "screened first with the priors; the titles of the others join the criteria text.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (runs, mean, settings, notes) instead of tables.",
)
@click.option(
    "--out-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Where the recall-curve PNG goes (default: outputs/ of the review folder "
    "you are in, else ./outputs).",
)
@click.option("--no-plot", is_flag=True, help="Do not draw the recall curves.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="The file format (default: detected from the content).",
)
@click.option(
    "--encoding", default=None, metavar="NAME", help="Text encoding, for files not in UTF-8/UTF-16 with BOM."
)
def simulate_cmd(
    dataset: str,
    label_column: str,
    seeds: int,
    recall_target: float,
    confidence: float,
    stopping: str,
    ranker: str,
    criteria_file: str | None,
    seeds_file: str | None,
    as_json: bool,
    out_dir: str | None,
    no_plot: bool,
    fmt: str | None,
    encoding: str | None,
) -> None:
    """Replay a labelled review: how early the model finds the includes, and when to stop.

    DATASET is a CSV/TSV or RIS file (any format 'scoping import' reads) with titles,
    abstracts and a column of decisions. For each seed, one include and one exclude drawn at
    random are the prior knowledge; then the works are screened in the order the
    prioritisation model gives (refitted as decisions arrive), with a stopping method tested
    as the decisions come. The default, the same rule a live 'scoping stop' applies by
    default, bounds the include rate of the latest ranked works (an upper 90 % bound for a
    confidence of 95 %, a level calibrated on labelled reviews) and stops when recall is at
    the target under that bound; it has NO statistical guarantee (it assumes the ranking
    serves includes first) and was chosen by bench/stopping_methods.py as the one saving most
    with at most 5 % of runs short. --stopping hypergeom-sample runs the rule with a
    guarantee that 'scoping stop --start-sampling' begins, exactly as in a live review: once a
    run of excludes suggests the ranking has run dry, a random sample with the hypergeometric
    test of Callaghan & Müller-Hansen (2020) after each work.

    With --criteria, each refit blends the model's scores with each work's TF-IDF similarity to
    the criteria text, weighted by a logistic fit on the decisions so far; --seed-studies
    adds known relevant works found in the dataset to the priors. --ranker adaptive weighs
    the model's signals per review from its own decisions instead of a fixed mix.

    Reported per seed: WSS@95 and RRF@10 (percent), loss (ASReview's normalised area above
    the recall curve, 0 = perfect), records screened to reach 95 % recall (these on the ranked
    order, priors left out of WSS, RRF and loss, as ASReview does), and stop_at, the records
    screened when the method stopped, with the recall reached by then. A recall-curve PNG is
    written to outputs/.

    \b
    Example:
      scoping simulate Sep_2021.csv --label-column label_included
      scoping simulate review.csv --label-column included --seeds 5 --json > sim.json
      scoping simulate labelled.ris --label-column LB --recall-target 0.9
      scoping simulate Sep_2021.csv --label-column label_included --criteria criteria.txt
    """
    rule, method = _stopping(stopping, recall_target, confidence)
    criteria, lines = _prior_texts(criteria_file, seeds_file)
    data = app.simulation_input(
        dataset, label_column=label_column, fmt=fmt, encoding=encoding, criteria=criteria, seed_studies=lines
    )
    if seeds_file and not data.seeds_named:
        raise UsageError(f"--seed-studies {seeds_file} names no study: give one DOI or title a line")
    if not as_json:
        _print_dataset(data, seeds)
    with progress_bar() as progress:
        task = progress.add_task("Simulating", total=seeds)
        result = app.simulate(
            data,
            seeds=seeds,
            rule=rule,
            stopping=method,
            progress=lambda done: progress.update(task, completed=done),
            ranker=ranker,
        )
    plot_path = None if no_plot else _plot(result, data.path, out_dir)
    if as_json:
        out.print(_json(data, label_column, result, plot_path))
    else:
        _present(result, rule, plot_path)


def _print_dataset(data: app.SimulationInput, seeds: int) -> None:
    """What the simulation replays: the dataset's records and includes, and notes on reading it."""
    labelled = data.labelled
    out.print(
        f"{data.path.name}: {labelled.labels.size:,} records, "
        f"{labelled.n_includes:,} includes; {seeds} seed(s)"
    )
    for note in labelled.notes:
        out.print(f"  note: {note}")


def _prior_texts(criteria_file: str | None, seeds_file: str | None) -> tuple[str, list[str]]:
    """The text of --criteria, and the lines of --seed-studies."""
    criteria = _read_text(criteria_file, "--criteria") if criteria_file else ""
    if criteria_file and not criteria.strip():
        raise UsageError(f"--criteria {criteria_file} is empty: write the inclusion criteria in it")
    return criteria, _read_text(seeds_file, "--seed-studies").splitlines() if seeds_file else []


def _json(data: app.SimulationInput, label_column: str, result: SimulationResult, plot: Path | None) -> str:
    """The simulation as one JSON object (no NaN: null instead)."""
    payload = {"dataset": str(data.path), "label_column": label_column, **result.to_dict()}
    return json.dumps(_finite({**payload, "plot": str(plot) if plot else None}))


def _plot(result: SimulationResult, dataset: Path, out_dir: str | None) -> Path:
    """The recall curves of the simulation, as simulation-DATASET.png in the output folder."""
    stem = re.sub(r"[^\w.-]+", "-", dataset.stem).strip("-") or "dataset"
    return sim.plot_recall(
        result,
        _out_dir(out_dir) / f"simulation-{stem}.png",
        title=f"{dataset.name}: {result.n_records:,} records, {result.n_includes:,} includes",
    )


def _stopping(key: str, recall_target: float, confidence: float) -> tuple[StoppingRule, Any]:
    """The stopping rule's settings and the method ``--stopping`` names."""
    rule = StoppingRule(recall_target=recall_target, confidence=confidence)
    return rule, methods.method_by_key(key, recall_target, confidence)


def _read_text(path: str, option: str) -> str:
    """The text of a small UTF-8 file given to ``option``, or a one-line error."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file; give the path of a text file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{option} {path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"{option} {path} cannot be read ({exc.strerror}); check the path") from None


def _finite(value: Any) -> Any:
    """JSON has no NaN: turn non-finite floats into null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _present(result: SimulationResult, rule: StoppingRule, plot_path: Path | None) -> None:
    table = Table(
        title="Simulated screening (WSS95 = WSS@95 and RRF10 = RRF@10, in %; to95%: "
        "records to 95 % recall; switch, stop: records screened when random "
        "sampling began and when the rule was met)",
        title_justify="left",
    )
    for column in ("seed", "WSS95", "RRF10", "loss", "to95%", "switch", "stop", "recall", "unscreened"):
        table.add_column(column, justify="right")
    n = result.n_records
    for run in result.runs:
        table.add_row(
            str(run.seed),
            f"{run.wss95:.1f}",
            f"{run.rrf10:.1f}",
            f"{run.loss:.3f}",
            f"{run.records_to_95:,}",
            f"{run.switch_at:,}" if run.switch_at is not None else "-",
            f"{run.stop_at:,}" + ("" if run.stopped_by_rule else " (all)"),
            f"{run.recall_at_stop:.3f}",
            f"{1 - run.stop_at / n:.1%}",
        )
    mean = result.mean
    table.add_row(
        "mean",
        f"{mean['wss95']:.1f}",
        f"{mean['rrf10']:.1f}",
        f"{mean['loss']:.3f}",
        f"{mean['records_to_95']:,.0f}",
        "",
        f"{mean['stop_at']:,.0f}",
        f"{mean['recall_at_stop']:.3f}",
        f"{result.share_unscreened:.1%}",
        style="bold",
    )
    out.print(table)
    reached = sum(run.recall_at_stop >= rule.recall_target - 1e-12 for run in result.runs)
    stopping = result.settings["stopping"]
    if stopping["method"] == "hypergeom-sample":
        switch = SwitchHeuristic(**result.settings["switch"])
        how = f"{rule.describe()}. Random sampling started after {switch.run_needed(n):,} excludes in a row"
    else:
        how = f"{stopping['description']}, target recall {rule.recall_target:.0%}" + (
            "" if stopping.get("guarantee") else " (no statistical guarantee)"
        )
    out.print(
        f"Stopping: {how}; recall was at or above the target when it stopped in "
        f"{reached} of {len(result.runs)} run(s)."
    )
    if plot_path is not None:
        out.print(f"Recall curves: {plot_path}")
