"""The protocol file: the shipped ones parse, and every mistake is one line naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from scoping.errors import ConfigError, UsageError
from scoping.screen import FULL_TEXT, TITLE_ABSTRACT, load_protocol, parse_protocol
from test_screen_support import PROTOCOL

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [REPO / "screening" / "protocol.toml", REPO / "src" / "scoping" / "templates" / "protocol.toml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_shipped_protocols_parse(path: Path) -> None:
    protocol = load_protocol(path)
    assert [r.name for r in protocol.leads] == ["lead"]
    assert [r.name for r in protocol.screeners] == ["reviewer1", "reviewer2"]
    assert protocol.stage(TITLE_ABSTRACT).reason_required is False
    assert protocol.stage(FULL_TEXT).reason_required is True
    assert protocol.stage(FULL_TEXT).exclusion_reasons


def _keys(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        out = set()
        for key, inner in value.items():
            out |= {f"{prefix}{key}"} | _keys(inner, f"{prefix}{key}.")
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return set().union(*(_keys(v, prefix) for v in value))
    return set()


def test_template_and_worked_example_have_the_same_keys() -> None:
    worked, template = (tomllib.loads(p.read_text(encoding="utf-8")) for p in SHIPPED)
    assert _keys(worked) == _keys(template)


def test_the_test_protocol() -> None:
    protocol = parse_protocol(PROTOCOL)
    assert protocol.title.startswith("Cardiac")
    assert protocol.allocation.dual_fraction == 1.0 and protocol.allocation.seed == 7
    assert protocol.highlight.exclude == ("brain", "kidney")
    assert protocol.reviewer("alice").screens and not protocol.reviewer("lena").screens
    assert protocol.lead("lena").is_lead


def test_unknown_reviewer_is_refused_without_naming_anyone() -> None:
    protocol = parse_protocol(PROTOCOL, source="screening/protocol.toml")
    with pytest.raises(UsageError) as caught:
        protocol.reviewer("mallory")
    message = str(caught.value)
    assert "'mallory' is not a reviewer in screening/protocol.toml" in message
    for name in ("alice", "bob", "lena"):
        assert name not in message
    with pytest.raises(UsageError, match="say who you are"):
        protocol.reviewer(None)
    with pytest.raises(UsageError, match="only a lead may do this"):
        protocol.lead("alice")
    with pytest.raises(UsageError, match="case-sensitive"):
        protocol.reviewer("Alice")


def _swap(old: str, new: str) -> str:
    assert old in PROTOCOL
    return PROTOCOL.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title = ", "p.toml: the protocol is not valid TOML at line 1, column 9"),
        (
            _swap("[review]", "[reveiw]"),
            "p.toml: reveiw is not a known key; the keys here are review, "
            "reviewer, allocation, stages, highlight",
        ),
        (_swap('role = "lead"', 'role = "boss"'), "p.toml: reviewer[3].role is 'boss'; use"),
        (_swap('name = "bob"', 'name = "Alice"'), "reviewer[2].name repeats the name 'alice'"),
        (_swap('name = "bob"', 'name = ""'), "reviewer[2].name is empty"),
        (_swap('name = "bob"', "name = 3"), "reviewer[2].name must be text, not 3"),
        (_swap('role = "lead"', 'role = "reviewer"'), "reviewer has no lead"),
        (
            _swap('role = "lead"', 'role = "lead"\nscreens = "yes"'),
            "reviewer[3].screens must be true or false",
        ),
        (_swap('role = "lead"', 'role = "lead"\nemail = "x"'), "reviewer[3].email is not a known key"),
        (
            _swap("dual_fraction = 1.0", "dual_fraction = 1.5"),
            "allocation.dual_fraction must be a number from 0 to 1",
        ),
        (_swap("dual_fraction = 1.0", "dual_fraction = true"), "allocation.dual_fraction must be a number"),
        (_swap("seed = 7", 'seed = "7"'), "allocation.seed must be a whole number, not '7'"),
        (_swap("[stages.title-abstract]", "[stages.abstracts]"), "stages.abstracts is not a known key"),
        (
            _swap('"wrong design", "no outcome data"]', "]").replace(
                'exclusion_reasons = ["wrong population", "wrong intervention", ]', "exclusion_reasons = []"
            ),
            "stages.full-text.exclusion_reasons is empty; a reason is required",
        ),
        (
            _swap(
                '"wrong population", "wrong intervention", "wrong design"]',
                '"wrong population", "Wrong population"]',
            ),
            "stages.title-abstract.exclusion_reasons lists 'Wrong population' twice",
        ),
        (_swap('include = ["ischaemia"', 'include = [1, "ischaemia"'), "highlight.include[0] must be text"),
        ("highlight = 3\n" + PROTOCOL[: PROTOCOL.index("[highlight]")], "highlight must be a table"),
    ],
)
def test_mistakes_are_one_line_naming_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_protocol(text, source="p.toml")
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message.strip() or "TOML" in message


def test_structure_problems() -> None:
    only_lead = '[[reviewer]]\nname = "lena"\nrole = "lead"\n[stages.title-abstract]\n'
    with pytest.raises(ConfigError, match="reviewer has no one who screens"):
        parse_protocol(only_lead)
    one = '[[reviewer]]\nname = "alice"\n' + only_lead
    with pytest.raises(ConfigError, match="dual_fraction is 1 but only one person screens"):
        parse_protocol(one)
    assert parse_protocol(one + "[allocation]\ndual_fraction = 0\n").allocation.dual_fraction == 0
    with pytest.raises(ConfigError, match="reviewer is missing"):
        parse_protocol("[stages.title-abstract]\n")
    with pytest.raises(ConfigError, match="stages is missing"):
        parse_protocol('[[reviewer]]\nname = "a"\nrole = "lead"\nscreens = true\n')
    with pytest.raises(ConfigError, match=r"stages\.title-abstract is missing"):
        parse_protocol(
            '[[reviewer]]\nname = "a"\nrole = "lead"\n[stages.full-text]\nexclusion_reasons = ["x"]\n'
        )
    lead_screens = (
        '[[reviewer]]\nname = "a"\nrole = "lead"\nscreens = true\n'
        "[allocation]\ndual_fraction = 0\n[stages.title-abstract]\n"
    )
    protocol = parse_protocol(lead_screens)
    assert [r.name for r in protocol.screeners] == ["a"]
    with pytest.raises(UsageError, match=r"has no \[stages.full-text\] section"):
        protocol.stage(FULL_TEXT)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; run 'scoping init'"):
        load_protocol(tmp_path / "protocol.toml")


def test_public_api() -> None:
    """The screening stage's public names: a change here is a change for every caller."""
    import scoping.screen as screen

    assert sorted(screen.__all__) == sorted(
        [
            "CSV_COLUMNS",
            "FULL_TEXT",
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
            "PairAgreement",
            "Progress",
            "Protocol",
            "Rank",
            "Reviewer",
            "ReviewerProgress",
            "ScreeningSession",
            "Span",
            "StoppingStatus",
            "SIMULATED_LEAD_NOTE",
            "SIMULATED_NOTE",
            "SIMULATED_VIA",
            "SMALL_REVIEW",
            "apply_stop",
            "cancel_sampling",
            "default_rule",
            "label_work",
            "my_labels",
            "resume_screening",
            "start_sampling",
            "stopping_status",
            "ModelRank",
            "QueueOrder",
            "queue_order",
            "StageAllocation",
            "StageRules",
            "StageStatus",
            "agreement",
            "agreement_from_table",
            "assign_works",
            "check_decision",
            "choices",
            "conflicts",
            "doubtful_pairs",
            "eligible_works",
            "final_outcomes",
            # where each work stands (screen/outcomes.py, moved out of the store)
            "OUTCOMES",
            "Outcome",
            "automation_excluded",
            "derive_outcome",
            "outcome_rows",
            "standing_stop",
            "stopping_rule_note",
            "find_terms",
            "landis_koch",
            "load_card",
            "load_cards",
            "load_decisions_csv",
            "load_protocol",
            "my_decisions",
            "new_uid",
            "order_works",
            "parse_protocol",
            "pending_works",
            "plan_allocation",
            "record_decision",
            "record_decisions",
            "resolve",
            "seeded_order",
            "status",
            "team_agreement",
            "term_counts",
            "withdraw_decision",
            "work_decisions",
            "worksheet",
        ]
    )
    for name in screen.__all__:
        assert getattr(screen, name) is not None


def test_charting_fields_do_not_stop_screening() -> None:
    """The topics stage's [charting] tables live in the same file; screening must still read it."""
    from scoping.topics.charting import parse_chart_fields

    text = PROTOCOL + (
        '\n[charting.design]\ndescription = "Study design"\nvalues = ["RCT", "qualitative"]\n'
        '\n[charting.population]\ndescription = "Who"\nmultiple = true\n'
    )
    protocol = parse_protocol(text)
    assert [r.name for r in protocol.screeners] == ["alice", "bob"]
    fields = parse_chart_fields(tomllib.loads(text))
    assert [f.name for f in fields] == ["design", "population"]
    with pytest.raises(ConfigError, match="charts is not a known key"):
        parse_protocol(PROTOCOL + '\n[charts.design]\ndescription = "x"\n')


def test_highlight_terms_find_stems_and_plurals() -> None:
    from scoping.screen import find_terms
    from scoping.screen.protocol import Highlight

    highlight = Highlight(include=("trajector*", "peer worker", "study", "HIV/AIDS"), exclude=("mouse",))
    text = "Trajectories of peer workers; a trajectory; studies of mice, one mouse; HIV/AIDS care; peerage"
    found = [(text[s.start : s.end], s.kind, s.term) for s in find_terms(text, highlight)]
    assert found == [
        ("Trajectories", "include", "trajector*"),
        ("peer workers", "include", "peer worker"),
        ("trajectory", "include", "trajector*"),
        ("studies", "include", "study"),
        ("mouse", "exclude", "mouse"),
        ("HIV/AIDS", "include", "HIV/AIDS"),
    ]
