"""Fit the de-duplication pair model on the labelled sets, and validate it leave-one-set-out.

The labelled sets are the seven of ../shared/data/bib-dedupe-0.7.2 (see
``bench/dedupe_accuracy.py``). For every set, its records are read as ``scoping import`` reads
them, prepared, blocked and compared exactly as ``scoping dedupe`` does; every candidate pair
that no veto separates becomes a row of comparison levels (:func:`scoping.dedupe.model.features`)
labelled by the ground truth (the two records are in one true group or not).

Fitting (:func:`fit`) is an L2-regularised logistic regression (scikit-learn) over those
rows, all sets pooled. The two thresholds are chosen without looking at the set that will be
scored: the training sets are themselves split leave-one-set-out, and

- ``link`` is the lowest probability at which the inner held-out sets would get at most
  ``FP_BUDGET`` false links per 10,000 records (the benchmark truths contain a few pairs
  they keep apart that every field says are one publication; a threshold above the very
  highest of them would give up hundreds of true pairs to avoid one disputed link);
- ``review`` is the probability under which fewer than 1 true pair in 2,000 falls (inner
  held-out), so that "distinct" rarely hides a duplicate.

The error rate of each band (link: share of linked pairs that are not duplicates; review:
share that are; distinct: share of true pairs in it) is measured on the held-out sets.

    python bench/dedupe_train.py                # fit on all seven sets, write the shipped model
    python bench/dedupe_train.py --compare      # leave-one-set-out: logistic vs naive Bayes vs boosting
    python bench/dedupe_train.py --check        # the shipped model equals a fresh fit
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SETS = ("cardiac", "diabetes", "cytology_screening", "haematology", "respiratory", "stroke", "digital_work")
MODEL_PATH = REPO / "src" / "scoping" / "data" / "dedupe" / "model.json"
C = 1.0
"""Inverse L2 strength of the logistic regression (1.0, scikit-learn's default: not tuned)."""
FP_BUDGET = 1.0
"""False links allowed per 10,000 records of the inner held-out sets when ``link`` is set."""
REVIEW_MISS = 1 / 2000


def data_dir() -> Path | None:
    env = os.environ.get("SCOPING_SHARED_DATA")
    for base in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        path = base / "bib-dedupe-0.7.2" / "bib_dedupe" / "data"
        if path.is_dir():
            return path
    return None


@dataclass
class LabelledSet:
    name: str
    rows: list[Any]
    """:class:`scoping.dedupe.MatchRow` per record, ids 1..n in file order."""
    source_ids: list[str]
    truth: list[list[str]]

    def true_pairs(self) -> set[tuple[int, int]]:
        index = {sid: i for i, sid in enumerate(self.source_ids)}
        out: set[tuple[int, int]] = set()
        for group in self.truth:
            members = sorted(index[x] for x in group if x in index)
            for pos, i in enumerate(members):
                for j in members[pos + 1 :]:
                    out.add((i, j))
        return out


def load_set(data: Path, name: str) -> LabelledSet:
    from scoping.dedupe.keys import MatchRow
    from scoping.ingest import inspect_file, iter_records

    folder = data / name
    info = inspect_file(folder / "records_pre_merged.csv")
    rows = [MatchRow.from_record(n, rec, name) for n, rec in enumerate(iter_records(info), 1)]
    csv.field_size_limit(2**31 - 1)
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as f:
        truth = [row["merged_ids"].split(";") for row in csv.DictReader(f)]
    return LabelledSet(name, rows, [row.source_id or "" for row in rows], truth)


@dataclass
class PairTable:
    """Every candidate pair of one set: indexes, features, truth, whether a veto separates it."""

    name: str
    pairs: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vetoed: np.ndarray
    """A veto separates the pair, or a title is missing: never linked, so not learnt from."""
    untitled: np.ndarray
    """No veto but a title is missing: at most doubtful (a person decides)."""
    n_records: int
    n_true: int
    blocked_true: int
    recall_by_kind: dict[str, tuple[int, int]]


def pair_table(lset: LabelledSet) -> PairTable:
    from scoping.dedupe.blocking import candidate_pairs
    from scoping.dedupe.compare import compare
    from scoping.dedupe.engine import model_vetoes, prepare_all
    from scoping.dedupe.model import features

    keys = prepare_all(lset.rows)
    pairs, _ = candidate_pairs(keys)
    truth = lset.true_pairs()
    xs: list[list[float]] = []
    ys: list[int] = []
    vetoed: list[bool] = []
    untitled: list[bool] = []
    found: set[tuple[int, int]] = set()
    for i, j in pairs.tolist():
        c = compare(keys[i], keys[j])
        xs.append(features(keys[i], keys[j], c))
        label = (i, j) in truth
        ys.append(int(label))
        vetoed.append(bool(model_vetoes(c)) or c.title is None)
        untitled.append(c.title is None and not model_vetoes(c))
        if label:
            found.add((i, j))
    kinds = _reachable_kinds(keys, truth)
    recall = {kind: (sum(1 for p in ps if p in found), len(ps)) for kind, ps in kinds.items()}
    return PairTable(
        lset.name,
        pairs,
        np.asarray(xs, dtype=np.float64).reshape(-1, _n_features()),
        np.asarray(ys, dtype=np.int64),
        np.asarray(vetoed, dtype=bool),
        np.asarray(untitled, dtype=bool),
        len(lset.rows),
        len(truth),
        len(found),
        recall,
    )


def _n_features() -> int:
    from scoping.dedupe.model import FEATURES

    return len(FEATURES)


def _reachable_kinds(keys: Sequence[Any], truth: set[tuple[int, int]]) -> dict[str, list[tuple[int, int]]]:
    """True pairs that share a DOI, a PMID, or journal + volume + first page."""
    out: dict[str, list[tuple[int, int]]] = {"doi": [], "pmid": [], "journal+volume+page": []}
    for i, j in truth:
        a, b = keys[i], keys[j]
        if a.doi and a.doi == b.doi:
            out["doi"].append((i, j))
        if a.pmid and a.pmid == b.pmid:
            out["pmid"].append((i, j))
        same_volume = a.journal_key and a.journal_key == b.journal_key and a.volume and a.volume == b.volume
        if same_volume and a.first_page and a.first_page == b.first_page:
            out["journal+volume+page"].append((i, j))
    return out


# -- fitting -------------------------------------------------------------------------------


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=2000)
    model.fit(x, y)
    return float(model.intercept_[0]), model.coef_[0].copy()


def _logit(intercept: float, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(intercept + x @ coef, dtype=np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def thresholds(tables: Sequence[PairTable]) -> tuple[float, float, dict[str, Any]]:
    """``(link, review, inner)`` chosen by leave-one-set-out inside ``tables`` (see the docstring)."""
    negatives: list[float] = []
    positives: list[float] = []
    for k, held in enumerate(tables):
        rest = [t for n, t in enumerate(tables) if n != k]
        x = np.concatenate([t.x[~t.vetoed] for t in rest])
        y = np.concatenate([t.y[~t.vetoed] for t in rest])
        intercept, coef = _fit_logistic(x, y)
        z = _logit(intercept, coef, held.x[~held.vetoed])
        yh = held.y[~held.vetoed]
        negatives.extend(z[yh == 0].tolist())
        positives.extend(z[yh == 1].tolist())
    negatives.sort()
    allowed = int(FP_BUDGET * sum(t.n_records for t in tables) / 10_000)
    link_z = negatives[-1 - allowed] if len(negatives) > allowed else 0.0
    ordered = sorted(positives)
    cut = int(len(ordered) * REVIEW_MISS)
    review_z = min(ordered[cut] if ordered else 0.0, link_z - 1.0)
    inner = {
        "non_duplicates_allowed_above_link": allowed,
        "highest_non_duplicate_logits": [round(v, 3) for v in negatives[-1 - allowed :]],
        "true_pairs": len(positives),
        "true_pairs_below_link": sum(1 for v in positives if v < link_z),
    }
    return float(_sigmoid(np.array(link_z))), float(_sigmoid(np.array(review_z))), inner


def fit(tables: Sequence[PairTable]) -> Any:
    """The pair model fitted on ``tables``, with thresholds from inner leave-one-set-out."""
    from scoping.dedupe.model import FEATURES, PairModel

    x = np.concatenate([t.x[~t.vetoed] for t in tables])
    y = np.concatenate([t.y[~t.vetoed] for t in tables])
    intercept, coef = _fit_logistic(x, y)
    link, review, inner = thresholds(tables)
    return PairModel(
        intercept=round(intercept, 4),
        weights={name: round(float(w), 4) for name, w in zip(FEATURES, coef, strict=True)},
        link=link,
        review=review,
        meta={
            "trained_on": [t.name for t in tables],
            "pairs": len(y),
            "true_pairs": int(y.sum()),
            "C": C,
            "fp_budget_per_10000": FP_BUDGET,
            "inner": inner,
        },
    )


def band_errors(tables: Sequence[PairTable], models: dict[str, Any]) -> dict[str, Any]:
    """Pair counts per band of each held-out table under the model fitted without it, as
    :func:`scoping.dedupe.engine.model_decide` bands them (a veto: distinct; no title: at
    most review). Pairs, not works: a true pair in "distinct" is often joined through a
    third record all the same."""
    out: dict[str, dict[str, int]] = {
        b: {"pairs": 0, "duplicates": 0} for b in ("link", "review", "distinct")
    }
    for t in tables:
        model = models[t.name]
        for row, label, veto, untitled in zip(t.x, t.y, t.vetoed, t.untitled, strict=True):
            p = model.probability(row.tolist())
            if veto and not untitled:
                band = "distinct"
            elif p >= model.link and not untitled:
                band = "link"
            else:
                band = "review" if p >= model.review else "distinct"
            out[band]["pairs"] += 1
            out[band]["duplicates"] += int(label)
    total_true = sum(b["duplicates"] for b in out.values())
    summary: dict[str, Any] = {}
    for band, counts in out.items():
        n, d = counts["pairs"], counts["duplicates"]
        summary[band] = {
            **counts,
            "share_not_duplicates" if band == "link" else "share_duplicates": round(
                (n - d) / n if band == "link" and n else d / n if n else 0.0, 6
            ),
            "share_of_true_pairs": round(d / total_true, 6) if total_true else 0.0,
        }
    return summary


def compare_methods(tables: Sequence[PairTable]) -> list[dict[str, Any]]:
    """Leave-one-set-out, pair level: logistic regression, naive Bayes (Fellegi-Sunter with
    m and u probabilities estimated from the labels) and gradient boosting, on the held-out
    set's non-vetoed pairs. Reported: log loss, Brier score, and the true pairs above the
    held-out set's highest non-duplicate (how well the score ranks, at zero false positives)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, log_loss
    from sklearn.naive_bayes import BernoulliNB

    makers = {
        "logistic": lambda: LogisticRegression(C=C, max_iter=2000),
        "fellegi-sunter (naive Bayes)": lambda: BernoulliNB(alpha=0.5),
        "gradient boosting": lambda: HistGradientBoostingClassifier(random_state=0),
    }
    out: list[dict[str, Any]] = []
    for method, make in makers.items():
        total = {"log_loss": 0.0, "brier": 0.0, "above": 0, "true": 0, "n": 0}
        for held in tables:
            rest = [t for t in tables if t is not held]
            x = np.concatenate([t.x[~t.vetoed] for t in rest])
            y = np.concatenate([t.y[~t.vetoed] for t in rest])
            clf = make()
            clf.fit(x, y)
            xh, yh = held.x[~held.vetoed], held.y[~held.vetoed]
            p = np.clip(clf.predict_proba(xh)[:, 1], 1e-9, 1 - 1e-9)
            top = p[yh == 0].max() if (yh == 0).any() else 0.0
            above = int((p[yh == 1] > top).sum())
            row = {
                "method": method,
                "held_out": held.name,
                "log_loss": round(float(log_loss(yh, p, labels=[0, 1])), 4),
                "brier": round(float(brier_score_loss(yh, p)), 5),
                "true_above_all_false": above,
                "true": int(yh.sum()),
            }
            out.append(row)
            total["log_loss"] += row["log_loss"] * len(yh)
            total["brier"] += row["brier"] * len(yh)
            total["above"] += above
            total["true"] += int(yh.sum())
            total["n"] += len(yh)
        out.append(
            {
                "method": method,
                "held_out": "all",
                "log_loss": round(total["log_loss"] / total["n"], 4),
                "brier": round(total["brier"] / total["n"], 5),
                "true_above_all_false": total["above"],
                "true": total["true"],
            }
        )
    return out


def write_loso(tables: Sequence[PairTable], folder: Path) -> None:
    """``model-without-SET.json`` for each set, and ``summary.json`` (blocking recall, bands)."""
    folder.mkdir(parents=True, exist_ok=True)
    models = {t.name: fit([u for u in tables if u is not t]) for t in tables}
    for name, model in models.items():
        (folder / f"model-without-{name}.json").write_text(json.dumps(model.to_json()), encoding="utf-8")
    summary = {
        "blocking": {
            t.name: {"compared": t.blocked_true, "true_pairs": t.n_true, "by_kind": t.recall_by_kind}
            for t in tables
        },
        "bands": band_errors(tables, models),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def load_tables(data: Path, names: Sequence[str] = SETS) -> Iterator[tuple[LabelledSet, PairTable]]:
    for name in names:
        lset = load_set(data, name)
        yield lset, pair_table(lset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(MODEL_PATH), help="where to write the fitted model")
    parser.add_argument("--check", action="store_true", help="fit, and fail if the shipped model differs")
    parser.add_argument("--compare", action="store_true", help="compare model families leave-one-set-out")
    parser.add_argument(
        "--loso",
        metavar="DIR",
        default=None,
        help="write the seven leave-one-set-out models, blocking recall and band errors to DIR",
    )
    args = parser.parse_args()
    data = data_dir()
    if data is None:
        raise SystemExit("The labelled sets are absent (../shared/data/bib-dedupe-0.7.2); nothing fitted.")
    sys.path.insert(0, str(REPO / "src"))
    start = time.perf_counter()
    tables = [t for _, t in load_tables(data)]
    for t in tables:
        print(f"{t.name}: {len(t.y):,} candidate pairs, {t.blocked_true}/{t.n_true} true pairs compared")
    if args.compare:
        for row in compare_methods(tables):
            print(row)
        return
    if args.loso:
        write_loso(tables, Path(args.loso))
        return
    model = fit(tables)
    loso = {t.name: fit([u for u in tables if u is not t]) for t in tables}
    model.bands = band_errors(tables, loso)
    text = json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n"
    if args.check:
        shipped = Path(args.out).read_text(encoding="utf-8")
        if json.loads(shipped)["weights"] != json.loads(text)["weights"]:
            raise SystemExit(f"{args.out} differs from a fresh fit: run bench/dedupe_train.py")
        print("the shipped model is what the seven sets give")
        return
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s")
    print(json.dumps(model.bands, indent=1))


if __name__ == "__main__":
    main()
