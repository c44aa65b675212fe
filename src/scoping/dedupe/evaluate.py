"""Scoring a de-duplication against a manual ground truth, the way published benchmarks do.

The de-duplication benchmarks of ASySD and bib-dedupe count *removals*: from each predicted
group one record is kept and the others are removed. Then

- a record that is no one's duplicate counts TN if kept, FP if removed;
- a true duplicate group counts TN once if at least one of its records is kept (FP once if
  all were removed: the publication was lost), plus TP for each of its records that was
  removed and FN for each extra record that was kept.

:func:`removal_counts` implements that count; the record kept from a predicted group is its
lowest id, as a work keeps the id of its lowest record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Counts", "removal_counts"]


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.sensitivity
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "TP": self.tp,
            "FP": self.fp,
            "FN": self.fn,
            "TN": self.tn,
            "sensitivity": round(self.sensitivity, 4),
            "specificity": round(self.specificity, 4),
            "precision": round(self.precision, 4),
            "f1": round(self.f1, 4),
        }


def removal_counts(
    ids: Sequence[str], truth: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]
) -> Counts:
    """Count TP/FP/FN/TN of ``predicted`` groups against ``truth`` groups over ``ids``.

    Groups are lists of record ids; records in no group are unique. Ids outside ``ids`` are
    ignored.
    """
    known = set(ids)
    removed: set[str] = set()
    for group in predicted:
        members = sorted(x for x in group if x in known)
        removed.update(members[1:])
    truth_groups = [[x for x in group if x in known] for group in truth]
    truth_groups = [g for g in truth_groups if len(g) > 1]
    in_truth = {x for g in truth_groups for x in g}
    tp = fp = fn = tn = 0
    for x in ids:
        if x not in in_truth:
            if x in removed:
                fp += 1
            else:
                tn += 1
    for group in truth_groups:
        kept = sum(1 for x in group if x not in removed)
        if kept == 0:
            fp += 1
            tp += len(group) - 1
        else:
            tn += 1
            fn += kept - 1
            tp += len(group) - kept
    return Counts(tp, fp, fn, tn)
