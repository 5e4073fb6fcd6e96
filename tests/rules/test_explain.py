"""Explanations name the facts, sources, parameters, rule lines and unknowns behind each need."""

from __future__ import annotations

import json
from datetime import date, datetime

from engine.rules.evaluator import compile_framework
from engine.rules.explain import explain, explain_json
from engine.rules.inputs import Member
from engine.rules.results import Override
from tests.rules.frameworks import AS_OF, CHILD, MUM, FactMaker, attendance, covered, family, framework, terms_at

FRAMEWORK = framework()
COMPILED = compile_framework(FRAMEWORK)


def _result(**kw):
    make = FactMaker()
    coverage = covered("attendance", "exclusion", "rent_account", "education_status", "pregnancy")
    coverage.update(covered("offence", start=date(2023, 1, 1)))
    facts = attendance(make, "child1", terms_at([80, 85, 70])) + [
        make("offence", "dad", date(2023, 2, 11), offence_date=date(2023, 2, 11), outcome="proven"),
        make("rent_account", "mum", date(2023, 8, 1), statement_date=date(2023, 8, 1), arrears=700)]
    return COMPILED.evaluate(family([CHILD, MUM, Member("dad")], facts, coverage=coverage), AS_OF, **kw)


def test_explanation_cites_facts_sources_parameters_and_rule_lines():
    """A met need shows the rule's file:line, guidance, the computed rate and every attendance record read."""
    text = explain(_result(), FRAMEWORK)
    assert 'EDU_PERSISTENT_ABSENCE "Persistent absence" under Getting a good education: met  [test/needs.hearth:20:1]' in text
    assert "guidance: Guidance ch.4, Getting a good education [believed]" in text
    assert "78.3% (235 of 300)" in text
    assert ("fact: attendance on 2023-03-31 for child1 (attendance feed, record R2, batch b1): "
            "attended_sessions 85, possible_sessions 100, term_start 2023-01-04") in text
    assert "parameter: attendance threshold 90% (in force from 2015-09-01; DfE persistent absence definition)" in text
    assert "fact: offence on 2023-02-11 for dad (offence feed, record R4, batch b1): outcome proven" in text


def test_explanation_says_why_things_are_unknown():
    """Unknowns name the missing term, the missing date of birth and the uncovered period."""
    text = explain(_result(), FRAMEWORK)
    assert "dad is dependent_child: unknown" in text
    assert "unknown because: attendance for spring term 2023 missing for person dad (fact type attendance)" in text
    assert "unknown because: offence records are only known from 2023-01-01; the window starts 2022-09-02" in text
    assert "  - date of birth missing for person dad, so their age is unknown" in text


def test_overrides_are_shown_with_who_when_and_why():
    """An overridden criterion says it was overridden, by whom, and what the rules said."""
    override = Override("HOUSING_ARREARS", "F1", None, "not_met", "arrears cleared by DHP", "kw7",
                        datetime(2023, 9, 1, 12, 0))
    text = explain(_result(overrides=[override]), FRAMEWORK)
    assert "OVERRIDDEN: set to not met by kw7 on 2023-09-01 12:00 (rules said met): arrears cleared by DHP" in text
    assert "HOUSING_ARREARS set to not met by kw7" in text


def test_explain_json_is_json_and_mirrors_the_text():
    """The JSON form carries the same facts and reasons for other tools."""
    data = explain_json(_result(), FRAMEWORK)
    json.dumps(data)
    need = next(n for n in data["needs"] if n["code"] == "EDU_PERSISTENT_ABSENCE")
    child = next(m for m in need["members"] if m["person_id"] == "child1")
    assert child["value"] == "met" and len(child["facts"]) == 3
    assert child["why"][1]["detail"].startswith("78.3 < 90")
    assert data["eligible"]["value"] == "met"
