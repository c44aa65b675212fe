"""The stopping rule in a real review: when the team may stop screening titles and abstracts.

Two rules; every step of either is a lead's command and an appended event in the store
(``screen_stop_events``), so the history stays:

- **the default rule** (:func:`scoping.screen.stop_methods.default_method`, the same definition
  ``scoping simulate`` replays): an upper bound of the include rate of the latest final
  decisions, applied to every work nobody has decided. It needs no random sample and saves
  more, but it has **no statistical guarantee**: it assumes the ranking served includes no
  later than a random order would. When it is met, :func:`apply_stop` (ranked phase) stops
  screening and the works nobody has decided on are excluded by automation (recorded with the
  stop event, so works added later are not).
- **the random-sample rule** (:mod:`scoping.screen.stop_rule`, with a guarantee), which needs a
  random sample of the works left unscreened, in three steps:

1. **ranked phase**: reviewers screen in the order of the prioritisation model (or any order).
   :func:`stopping_status` says when a run of excludes suggests the model has little left to
   find (the :class:`~scoping.screen.stop_rule.SwitchHeuristic`).
2. **sampling** (:func:`start_sampling`): the works nobody has decided on yet are put in a
   random order (seeded, stored); from then on every reviewer's queue serves the works they
   have left from before, then the sample in that order. After each work of the sample gets a
   final outcome, the hypergeometric test is run on the *longest prefix of the random order
   whose works all have a final outcome* (a prefix of a random permutation is a random sample;
   works waiting for a second reviewer or a lead must not bias it).
3. **stop** (:func:`apply_stop`): only when the test is met. The works of the sample nobody
   has decided on are then excluded by automation: they leave the reviewers' queues and
   PRISMA counts them as "excluded by automation tools", with the rule, its parameters and the
   test recorded. :func:`resume_screening` takes a stop back (the works return to the queues).

Includes found before sampling (``r_AL``) are the works outside the sample whose final outcome
is include. Works outside the sample still waiting for a decision count as not included, which
can only make the test stricter.

Only a lead sees any of this: it shows the team's include counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from scoping.errors import UsageError
from scoping.screen import outcomes as rules
from scoping.screen.protocol import TITLE_ABSTRACT, Protocol
from scoping.screen.stop_rule import StoppingRule, StopTest, SwitchHeuristic
from scoping.store import Store
from scoping.store import screen_tables as tables

if TYPE_CHECKING:
    from scoping.screen.stop_methods import RankedTest, RateBound, RateTest

__all__ = [
    "SMALL_REVIEW",
    "StoppingStatus",
    "apply_stop",
    "default_rule",
    "resume_screening",
    "sample_order",
    "start_sampling",
    "stopping_status",
]


SMALL_REVIEW = 1000
"""Below this many works, no stopping rule with a recall guarantee saves much screening: the
random sample it needs is most of what is left (see bench/stopping_methods.py)."""


@dataclass(frozen=True, slots=True)
class StoppingStatus:
    """Where title-abstract screening stands against the protocol's stopping rule."""

    rule: StoppingRule
    phase: str
    """"ranked" (before sampling), "sampling" or "stopped"."""
    works: int
    """Works to screen at title-abstract (the de-duplicated works)."""
    decided: int
    """Works with a final outcome (include or exclude)."""
    includes: int
    """Works finally included."""
    excludes_in_a_row: int
    """The latest final outcomes that were all excludes, counted back from the newest."""
    switch_suggested: bool
    """The run of excludes is long enough to start random sampling (ranked phase only)."""
    population: int | None = None
    """Works in the random sample (unscreened when sampling began)."""
    sampled: int | None = None
    """Works of the sample, in its order, all with a final outcome (the test's ``n``)."""
    includes_in_sample: int | None = None
    includes_before: int | None = None
    test: StopTest | None = None
    automation: int = 0
    """Works excluded by the stopping rule (after a stop)."""
    outside_sample: int = 0
    """Works added after sampling began and not decided: the test does not cover them."""
    events: tuple[tables.StopEvent, ...] = ()
    ranked_test: RankedTest | None = None
    """The same test on the latest ranked decisions, with no random sample (ranked phase):
    valid if the ranking put includes no later than a random order would."""
    excludes_needed: int | None = None
    """What the rule needs next: this many more sampled works, all excludes, would meet it
    (``None`` before any include is found, when the test cannot pass on any sample)."""
    default_test: RateTest | None = None
    """The default rule (no guarantee) on the final decisions in the order they were made
    (ranked phase, and after a stop by it)."""
    stopped_by: str | None = None
    """After a stop: ``"default"`` (the rate bound, no guarantee) or ``"sample"`` (the
    random-sample rule)."""

    @property
    def small_review(self) -> bool:
        """Under :data:`SMALL_REVIEW` works: no rule with a guarantee saves much."""
        return self.works < SMALL_REVIEW

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.to_dict(),
            "phase": self.phase,
            "works": self.works,
            "decided": self.decided,
            "includes": self.includes,
            "excludes_in_a_row": self.excludes_in_a_row,
            "switch_suggested": self.switch_suggested,
            "population": self.population,
            "sampled": self.sampled,
            "includes_in_sample": self.includes_in_sample,
            "includes_before": self.includes_before,
            "test": self.test.to_dict() if self.test is not None else None,
            "automation": self.automation,
            "outside_sample": self.outside_sample,
            "excludes_needed": self.excludes_needed,
            "ranked_test": asdict(self.ranked_test) if self.ranked_test is not None else None,
            "default_rule": {
                "description": default_rule(self.rule).describe(),
                "guarantee": False,
                "test": asdict(self.default_test) if self.default_test is not None else None,
            },
            "stopped_by": self.stopped_by,
            "small_review": self.small_review,
        }


def default_rule(rule: StoppingRule) -> RateBound:
    """The default stopping rule for the protocol's target and confidence: the one
    ``scoping simulate`` uses (:func:`scoping.screen.stop_methods.default_method`)."""
    from scoping.screen.stop_methods import default_method  # scipy: only when asked

    return default_method(rule.recall_target, rule.confidence)


def _rule(protocol: Protocol) -> StoppingRule:
    if protocol.stopping is None:
        raise UsageError(
            f"{protocol.source} has no [stopping] section; add one with "
            "recall_target and confidence (e.g. 0.95 and 0.95) to use the stopping rule"
        )
    return protocol.stopping


def _final_order(store: Store, outcomes: dict[int, rules.Outcome]) -> list[int]:
    """Works with a final include/exclude, in the order they became final (oldest first)."""
    when: dict[int, str] = {}
    for (work, _), row in tables.current_decisions(store, TITLE_ABSTRACT).items():
        if row.decided_at > when.get(work, ""):
            when[work] = row.decided_at
    for work, resolution in tables.current_resolutions(store, TITLE_ABSTRACT).items():
        when[work] = max(when.get(work, ""), resolution.decided_at)
    final = [w for w, o in outcomes.items() if o.outcome in ("include", "exclude")]
    return sorted(final, key=lambda w: (when.get(w, ""), w))


def stopping_status(
    store: Store, protocol: Protocol, viewer: str, *, heuristic: SwitchHeuristic | None = None
) -> StoppingStatus:
    """The stopping rule's state at title-abstract (leads only)."""
    protocol.lead(viewer)
    rule = _rule(protocol)
    heuristic = heuristic or SwitchHeuristic()
    events = tables.stop_events(store, TITLE_ABSTRACT)
    sample_event, stop_event = rules.standing_stop(events)
    works = tables.work_ids(store)
    outcomes = rules.final_outcomes(store, TITLE_ABSTRACT)
    order = _final_order(store, outcomes)
    includes = sum(1 for o in outcomes.values() if o.outcome == "include")
    run = 0
    for work in reversed(order):
        if outcomes[work].outcome != "exclude":
            break
        run += 1
    common: dict[str, Any] = {
        "rule": rule,
        "works": len(works),
        "decided": len(order),
        "includes": includes,
        "excludes_in_a_row": run,
        "events": tuple(events),
    }
    if sample_event is None:
        from scoping.screen.stop_methods import HypergeometricRanked  # scipy: only when asked

        labels = [int(outcomes[w].outcome == "include") for w in order]
        if stop_event is not None:  # stopped by the default rule: the rule on the decisions now
            return StoppingStatus(
                phase="stopped",
                switch_suggested=False,
                automation=len(rules.automation_excluded(store)),
                default_test=default_rule(rule).test(labels, len(works)),
                stopped_by="default",
                **common,
            )
        switch = heuristic.should_switch(
            n_total=len(works), n_screened=len(order), includes_found=includes, excludes_in_a_row=run
        )
        left = len(works) - len(order)
        needed = (
            rule.excludes_needed(population=left, includes_before=includes) if includes and left else None
        )
        ranked = HypergeometricRanked(rule=rule).test(labels, len(works))
        return StoppingStatus(
            phase="ranked",
            switch_suggested=switch,
            excludes_needed=needed,
            ranked_test=ranked,
            default_test=default_rule(rule).test(labels, len(works)),
            **common,
        )
    sample = tables.stop_sample(store, sample_event.id)
    in_sample = set(sample)
    existing = set(works)
    n = k = 0
    for work in sample:
        if work not in existing:  # joined to another work by de-duplication: not a draw
            continue
        outcome = outcomes.get(work)
        if outcome is None or outcome.outcome not in ("include", "exclude"):
            break
        n += 1
        k += outcome.outcome == "include"
    population = sum(1 for w in sample if w in existing)
    before = sum(1 for w, o in outcomes.items() if o.outcome == "include" and w not in in_sample)
    test = rule.test(population=population, n_sampled=n, includes_in_sample=k, includes_before=before)
    automation = len(rules.automation_excluded(store)) if stop_event is not None else 0
    touched = rules.touched_works(store, TITLE_ABSTRACT)
    outside = sum(1 for w in works if w not in in_sample and w not in touched)
    needed = rule.excludes_needed(
        population=population, includes_before=before, n_sampled=n, includes_in_sample=k
    )
    return StoppingStatus(
        phase="stopped" if stop_event is not None else "sampling",
        stopped_by="sample" if stop_event is not None else None,
        excludes_needed=needed,
        switch_suggested=False,
        population=population,
        sampled=n,
        includes_in_sample=k,
        includes_before=before,
        test=test,
        automation=automation,
        outside_sample=outside,
        **common,
    )


def sample_order(work_ids: Sequence[int], seed: int) -> list[int]:
    """A uniformly random order of ``work_ids`` (sorted first, so the order depends only on
    the set and the seed)."""
    import numpy as np  # here, not at the top: every command of the CLI imports this module

    ids = np.array(sorted(int(w) for w in work_ids), dtype=np.int64)
    return [int(w) for w in np.random.default_rng(seed).permutation(ids)]


def start_sampling(store: Store, protocol: Protocol, lead: str) -> StoppingStatus:
    """Begin the random sample: the works nobody has decided on yet, in a seeded random order.

    From now on reviewers screen what they have left from before, then the sample in its order.
    """
    person = protocol.lead(lead)
    status = stopping_status(store, protocol, person.name)
    if status.stopped_by == "default":
        raise UsageError(
            "screening was stopped by the default rule; take the stop back first with "
            f"'scoping stop --reviewer {person.name} --resume', then start the sample"
        )
    if status.phase != "ranked":
        raise UsageError(
            f"random sampling has already begun; see 'scoping stop --reviewer {person.name}' for the test"
        )
    touched = rules.touched_works(store, TITLE_ABSTRACT)
    untouched = [w for w in tables.work_ids(store) if w not in touched]
    if not untouched:
        raise UsageError(
            "every work has a decision already: there is nothing left to sample, and no need to stop early"
        )
    seed = protocol.allocation.seed * 1000 + len(status.events)
    order = sample_order(untouched, seed)
    tables.add_stop_event(
        store,
        stage=TITLE_ABSTRACT,
        event="sample",
        by=person.name,
        details={
            "seed": seed,
            "population": len(order),
            "decided_before": status.decided,
            "includes_before": status.includes,
            "excludes_in_a_row": status.excludes_in_a_row,
            "switch_suggested": status.switch_suggested,
            **status.rule.to_dict(),
        },
        sample=order,
    )
    return stopping_status(store, protocol, person.name)


def apply_stop(store: Store, protocol: Protocol, lead: str) -> StoppingStatus:
    """Stop screening the sample: allowed only when the test is met. The sample's works nobody
    has decided on are excluded by automation (recorded with the rule and the test)."""
    person = protocol.lead(lead)
    status = stopping_status(store, protocol, person.name)
    if status.phase == "ranked":
        return _apply_default(store, protocol, status, person.name)
    if status.phase == "stopped":
        raise UsageError(
            "screening has already been stopped by the rule; take it back with "
            f"'scoping stop --reviewer {person.name} --resume'"
        )
    test = status.test
    assert test is not None and status.population is not None and status.sampled is not None
    if not test.met:
        raise UsageError(
            f"the stopping rule is not met yet (p = {test.p_value:.4f}, needs below "
            f"{status.rule.alpha:.2f}, after {status.sampled:,} of "
            f"{status.population:,} sampled works); keep screening the sample"
        )
    touched = rules.touched_works(store, TITLE_ABSTRACT)
    sample_event, _ = rules.standing_stop(status.events)
    assert sample_event is not None
    left = [w for w in tables.stop_sample(store, sample_event.id) if w not in touched]
    details = status.rule.automation_exclusion(test, len(left))
    tables.add_stop_event(
        store,
        stage=TITLE_ABSTRACT,
        event="stop",
        by=person.name,
        details={**details, "excludes_in_a_row": status.excludes_in_a_row},
    )
    return stopping_status(store, protocol, person.name)


def _apply_default(store: Store, protocol: Protocol, status: StoppingStatus, lead: str) -> StoppingStatus:
    """Stop by the default rule (ranked phase): the works nobody has decided on are excluded by
    automation; refused unless the rule is met now."""
    test = status.default_test
    assert test is not None
    method = default_rule(status.rule)
    if not test.met:
        if test.excludes_needed is None:
            more = "no run of excludes would meet it yet (it needs an include first)"
        else:
            more = f"{test.excludes_needed:,} more excludes in a row would meet it"
        raise UsageError(
            "the default stopping rule is not met yet (recall is at least "
            f"{test.recall_bound:.1%} under its bound, needs {status.rule.recall_target:.0%}; {more}); "
            "keep screening in ranked order, or start the random sample for a rule with a guarantee "
            f"('scoping stop --reviewer {lead} --start-sampling')"
        )
    touched = rules.touched_works(store, TITLE_ABSTRACT)
    left = [w for w in tables.work_ids(store) if w not in touched]
    note = (
        f"{method.describe()} (the default rule, calibrated on labelled reviews; NO statistical "
        f"guarantee: it assumes the ranking served includes first); target recall "
        f"{status.rule.recall_target:.0%}; after {test.screened:,} decisions, {test.includes:,} "
        f"includes, at most {test.missed_bound:.1f} includes estimated among the "
        f"{len(left):,} works left (recall at least {test.recall_bound:.1%} under the bound)"
    )
    tables.add_stop_event(
        store,
        stage=TITLE_ABSTRACT,
        event="stop",
        by=lead,
        details={
            "count": len(left),
            "category": "excluded by automation tools",
            "note": note,
            "rule": "rate-bound (default)",
            "description": method.describe(),
            "guarantee": False,
            "recall_target": status.rule.recall_target,
            "level": method.confidence,
            "test": asdict(test),
            "excludes_in_a_row": status.excludes_in_a_row,
        },
        works=left,
    )
    return stopping_status(store, protocol, lead)


def cancel_sampling(store: Store, protocol: Protocol, lead: str) -> StoppingStatus:
    """Call off the random sample before any stop: queues follow the ranked order again.

    Nothing decided is lost: the sample's works screened so far keep their decisions and
    count, for any later sample, as screened before it (a later sample is a new random order
    of the works nobody has decided by then, with its own seed).
    """
    person = protocol.lead(lead)
    status = stopping_status(store, protocol, person.name)
    if status.phase == "ranked" or status.stopped_by == "default":
        raise UsageError("random sampling has not begun; there is no sample to cancel")
    if status.phase == "stopped":
        raise UsageError(
            "screening was stopped by the rule; take the stop back first with "
            f"'scoping stop --reviewer {person.name} --resume', then cancel the sample"
        )
    tables.add_stop_event(
        store,
        stage=TITLE_ABSTRACT,
        event="cancel",
        by=person.name,
        details={"sampled": status.sampled, "population": status.population},
    )
    return stopping_status(store, protocol, person.name)


def resume_screening(store: Store, protocol: Protocol, lead: str) -> StoppingStatus:
    """Take back a stop: the works it excluded return to the reviewers' queues."""
    person = protocol.lead(lead)
    status = stopping_status(store, protocol, person.name)
    if status.phase != "stopped":
        raise UsageError("screening has not been stopped by the rule; there is nothing to resume")
    tables.add_stop_event(
        store,
        stage=TITLE_ABSTRACT,
        event="resume",
        by=person.name,
        details={"automation_taken_back": status.automation},
    )
    return stopping_status(store, protocol, person.name)
