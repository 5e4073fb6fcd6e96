"""Outcomes against identified needs, the claim rule, overrides and determinism."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime

from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, Member
from engine.rules.results import Override
from tests.rules.frameworks import CHILD, MUM, FactMaker, attendance, family, framework

COMPILED = compile_framework(framework(minimum=1))
BAD_YEAR = [(date(2021, 9, 1), date(2021, 12, 17), 100, 70), (date(2022, 1, 5), date(2022, 3, 31), 100, 72),
            (date(2022, 4, 19), date(2022, 7, 20), 100, 75)]
GOOD_YEAR = [(date(2022, 9, 1), date(2022, 12, 20), 100, 96), (date(2023, 1, 4), date(2023, 3, 31), 100, 95),
             (date(2023, 4, 17), date(2023, 7, 21), 100, 94)]
CASE = CaseDates(identified=date(2022, 9, 1), attached=date(2022, 9, 10), closed=date(2023, 1, 15))


def _family(extra=(), case=CASE, good=GOOD_YEAR):
    make = FactMaker()
    facts = attendance(make, "child1", BAD_YEAR + list(good))
    facts.append(make("rent_account", "mum", date(2021, 8, 1), statement_date=date(2021, 8, 1), arrears=0))
    return family([CHILD, MUM], facts + [f(make) for f in extra], case=case)


def _exclusion(day: date):
    return lambda make: make("exclusion", "child1", day, exclusion_date=day, kind="fixed_term", days=1)


def test_outcome_is_judged_for_the_need_identified_at_identification():
    """The need met in 2022 is achieved by good attendance since and sustained with no exclusion after closure."""
    result = COMPILED.evaluate(_family(), date(2023, 9, 1))
    assert result.identified_as_of == date(2022, 9, 1)
    assert result.needs["EDU_PERSISTENT_ABSENCE"].value == "not_met"  # no longer absent today
    outcome = result.outcomes["EDU_PERSISTENT_ABSENCE"]
    assert (outcome.applicable, outcome.achieved.value, outcome.sustained.value, outcome.value) == (
        "met", "met", "met", "met")
    assert outcome.members["child1"]["achieved"].value == "met"
    assert result.claimable.value == "met"


def test_an_exclusion_after_closure_breaks_sustainment():
    """One exclusion within 6 months of closure: achieved but not sustained, so not claimable."""
    result = COMPILED.evaluate(_family([_exclusion(date(2023, 3, 1))]), date(2023, 9, 1))
    outcome = result.outcomes["EDU_PERSISTENT_ABSENCE"]
    assert (outcome.achieved.value, outcome.sustained.value, outcome.value) == ("met", "not_met", "not_met")
    assert result.claimable.value == "not_met"
    assert [e.fact_type for e in outcome.sustained.evidence] == ["exclusion"]


def test_sustainment_is_unknown_until_the_window_has_passed():
    """Before six months after closure the sustainment window has not ended: unknown, not met."""
    result = COMPILED.evaluate(_family(), date(2023, 5, 1))
    sustained = result.outcomes["EDU_PERSISTENT_ABSENCE"].sustained
    assert sustained.value == "unknown"
    assert any("has not ended by the evaluation date 2023-05-01" in r for r in sustained.unknowns)
    # summer 2022 (75%) is still one of the last 3 complete terms, so the outcome is not yet achieved
    assert result.outcomes["EDU_PERSISTENT_ABSENCE"].achieved.value == "not_met"
    assert result.claimable.value == "not_met"
    open_case = COMPILED.evaluate(_family(case=CaseDates(identified=date(2022, 9, 1))), date(2023, 9, 1))
    assert "the case has no closure date yet" in open_case.outcomes["EDU_PERSISTENT_ABSENCE"].sustained.unknowns


def test_a_missed_term_leaves_the_outcome_unknown_and_a_bad_term_breaks_it():
    """'every attendance in each of last 3 terms' needs all three terms present and good."""
    missing = COMPILED.evaluate(_family(good=GOOD_YEAR[:1] + GOOD_YEAR[2:]), date(2023, 9, 1))
    assert missing.outcomes["EDU_PERSISTENT_ABSENCE"].achieved.value == "unknown"
    poor = [GOOD_YEAR[0], (date(2023, 1, 4), date(2023, 3, 31), 100, 80), GOOD_YEAR[2]]
    broken = COMPILED.evaluate(_family(good=poor), date(2023, 9, 1))
    assert broken.outcomes["EDU_PERSISTENT_ABSENCE"].achieved.value == "not_met"


def test_no_identified_needs_is_never_claimable():
    """A family with no needs has nothing to claim for, and outcomes are not applicable."""
    make = FactMaker()
    facts = attendance(make, "child1", GOOD_YEAR) + [
        make("rent_account", "mum", date(2023, 8, 1), statement_date=date(2023, 8, 1), arrears=0)]
    result = COMPILED.evaluate(family([CHILD, MUM], facts), date(2023, 9, 1))
    assert result.outcomes["EDU_PERSISTENT_ABSENCE"].applicable == "not_met"
    assert result.claimable.value == "not_met"


def test_override_replaces_a_criterion_and_is_recorded():
    """A manager's override sets a member's need; the family need, eligibility and record follow."""
    at = datetime(2023, 9, 2, 9, 30)
    override = Override("EDU_PERSISTENT_ABSENCE", "F1", "child1", "not_met", "medical absence agreed", "mgr1", at)
    other_family = replace(override, family_id="F2", value="met")
    result = COMPILED.evaluate(_family(case=CaseDates()), date(2022, 9, 1), overrides=[override, other_family])
    member = result.needs["EDU_PERSISTENT_ABSENCE"].members["child1"]
    assert (member.value, member.overridden_from, member.override.reason) == ("not_met", "met", "medical absence agreed")
    assert result.needs["EDU_PERSISTENT_ABSENCE"].value == "not_met"
    assert result.overrides == [override]
    assert result.to_dict()["overrides"][0]["actor"] == "mgr1"
    family_level = Override("eligible", "F1", None, "met", "panel decision", "mgr2", at)
    forced = COMPILED.evaluate(_family(case=CaseDates()), date(2023, 9, 1), overrides=[family_level])
    assert (forced.eligible.value, forced.eligible.overridden_from) == ("met", "not_met")


def test_results_are_byte_identical_whatever_the_input_order():
    """Shuffling facts and members changes nothing in the canonical JSON."""
    base = _family([_exclusion(date(2023, 3, 1)), _exclusion(date(2022, 11, 1))])
    expected = COMPILED.evaluate(base, date(2023, 9, 1)).to_json()
    rng = random.Random(7)
    for _ in range(5):
        facts, members = list(base.facts), list(base.members) + [Member("zed", date_of_birth=date(1990, 1, 1))]
        rng.shuffle(facts)
        rng.shuffle(members)
        shuffled = replace(base, facts=tuple(facts), members=tuple(members))
        with_zed = replace(base, members=(*base.members, Member("zed", date_of_birth=date(1990, 1, 1))))
        assert COMPILED.evaluate(shuffled, date(2023, 9, 1)).to_json() == COMPILED.evaluate(with_zed, date(2023, 9, 1)).to_json()
    assert COMPILED.evaluate(base, date(2023, 9, 1)).to_json() == expected


def test_bulk_and_traced_evaluations_agree_on_every_value_and_fact():
    """trace=False only drops the sub-criteria tree: values, evidence and reasons are the same."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("children", "detail")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    base = _family([_exclusion(date(2023, 3, 1))])
    traced = COMPILED.evaluate(base, date(2023, 9, 1), trace=True).to_dict()
    bulk = COMPILED.evaluate(base, date(2023, 9, 1), trace=False).to_dict()
    assert traced["eligible"]["children"] and not bulk["eligible"]["children"]
    assert strip(traced) == strip(bulk)
