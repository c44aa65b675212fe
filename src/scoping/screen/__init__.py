"""Screening: allocation, dual independent decisions, conflicts, a lead's resolutions, agreement.

Works (de-duplicated publications) are screened at two stages, title-abstract then full text,
against the protocol in ``screening/protocol.toml`` (:mod:`~scoping.screen.protocol`).

=============================  ==================================================================
command                        library call
=============================  ==================================================================
``scoping assign``             :func:`assign_works` (:func:`plan_allocation` is the pure rule)
``scoping screen``             :class:`ScreeningSession` (queue, decide, skip, undo, progress)
``scoping screen --to-csv``    :func:`worksheet`
``scoping screen --from-csv``  :func:`load_decisions_csv`
``scoping conflicts``          :func:`conflicts`
``scoping resolve``            :func:`conflicts`, :func:`resolve`
``scoping agreement``          :func:`team_agreement` (:func:`agreement` on plain ratings)
``scoping status``             :func:`status` (and :func:`stopping_status` for a lead)
``scoping stop``               :func:`stopping_status`, :func:`start_sampling`,
                               :func:`apply_stop`, :func:`resume_screening`,
                               :func:`cancel_sampling`
=============================  ==================================================================

The order of a reviewer's queue comes from :func:`queue_order`: the stopping rule's random
sample while it is under way, a model trained on the team's decisions when the protocol says
``prioritise = true`` (:class:`ModelRank`), or a seeded random order.

Every decision is an appended row, committed before the next work is shown; the final outcome
of a work is derived from the decisions and resolutions (:func:`final_outcomes`), never typed.
Reviewers are blinded: functions that show more than a reviewer's own work take the name of
the person asking and refuse anyone but a lead.
"""

from __future__ import annotations

from scoping.screen.agreement import (
    Agreement,
    PairAgreement,
    agreement,
    agreement_from_table,
    landis_koch,
    team_agreement,
)
from scoping.screen.allocation import (
    AllocationPlan,
    StageAllocation,
    assign_works,
    doubtful_pairs,
    eligible_works,
    plan_allocation,
)
from scoping.screen.cards import (
    Card,
    Span,
    find_terms,
    load_card,
    load_cards,
    term_counts,
)
from scoping.screen.decisions import (
    CSV_COLUMNS,
    SIMULATED_LEAD_NOTE,
    SIMULATED_NOTE,
    SIMULATED_VIA,
    Conflict,
    CsvReport,
    ReviewerProgress,
    StageStatus,
    check_decision,
    choices,
    conflicts,
    load_decisions_csv,
    new_uid,
    record_decision,
    record_decisions,
    resolve,
    status,
    withdraw_decision,
    work_decisions,
)
from scoping.screen.outcomes import (
    OUTCOMES,
    Outcome,
    automation_excluded,
    derive_outcome,
    final_outcomes,
    outcome_rows,
    standing_stop,
    stopping_rule_note,
)
from scoping.screen.protocol import (
    FULL_TEXT,
    STAGES,
    TITLE_ABSTRACT,
    Allocation,
    Highlight,
    Protocol,
    Reviewer,
    StageRules,
    load_protocol,
    parse_protocol,
)
from scoping.screen.rank_order import ModelRank, QueueOrder, queue_order
from scoping.screen.session import (
    WORKSHEET_COLUMNS,
    Progress,
    Rank,
    ScreeningSession,
    label_work,
    my_decisions,
    my_labels,
    order_works,
    pending_works,
    seeded_order,
    worksheet,
)
from scoping.screen.stop_state import (
    SMALL_REVIEW,
    StoppingStatus,
    apply_stop,
    cancel_sampling,
    default_rule,
    resume_screening,
    start_sampling,
    stopping_status,
)

__all__ = [
    "CSV_COLUMNS",
    "FULL_TEXT",
    "OUTCOMES",
    "SIMULATED_LEAD_NOTE",
    "SIMULATED_NOTE",
    "SIMULATED_VIA",
    "SMALL_REVIEW",
    "STAGES",
    "TITLE_ABSTRACT",
    "WORKSHEET_COLUMNS",
    "Agreement",
    "Allocation",
    "AllocationPlan",
    "Card",
    "Conflict",
    "CsvReport",
    "Highlight",
    "ModelRank",
    "Outcome",
    "PairAgreement",
    "Progress",
    "Protocol",
    "QueueOrder",
    "Rank",
    "Reviewer",
    "ReviewerProgress",
    "ScreeningSession",
    "Span",
    "StageAllocation",
    "StageRules",
    "StageStatus",
    "StoppingStatus",
    "agreement",
    "agreement_from_table",
    "apply_stop",
    "assign_works",
    "automation_excluded",
    "cancel_sampling",
    "check_decision",
    "choices",
    "conflicts",
    "default_rule",
    "derive_outcome",
    "doubtful_pairs",
    "eligible_works",
    "final_outcomes",
    "find_terms",
    "label_work",
    "landis_koch",
    "load_card",
    "load_cards",
    "load_decisions_csv",
    "load_protocol",
    "my_decisions",
    "my_labels",
    "new_uid",
    "order_works",
    "outcome_rows",
    "parse_protocol",
    "pending_works",
    "plan_allocation",
    "queue_order",
    "record_decision",
    "record_decisions",
    "resolve",
    "resume_screening",
    "seeded_order",
    "standing_stop",
    "start_sampling",
    "status",
    "stopping_rule_note",
    "stopping_status",
    "team_agreement",
    "term_counts",
    "withdraw_decision",
    "work_decisions",
    "worksheet",
]
