"""Compiling to the IR: each construct becomes the node documented in engine/rules/ir.py."""

from __future__ import annotations

import shutil
from datetime import date

from dsl import load_framework
from engine.rules import ir


def test_sketch_compiles_with_relative_spans_and_sources(sketch_dir) -> None:
    """Spans name files relative to the framework folder; `sources` holds every file's text."""
    fw = load_framework(sketch_dir)
    assert fw.header.id == "sf_phase3" and fw.header.effective_to == date(2025, 3, 31)
    assert set(fw.sources) == {"framework.hearth", "extra.hearth"}
    assert fw.sources["extra.hearth"] == (sketch_dir / "extra.hearth").read_text()
    need = fw.need("EDU_PERSISTENT_ABSENCE")
    assert need.span.file == "framework.hearth" and need.span.line == 82
    assert (need.headline, need.subject, need.role, need.title) == (
        "EDUCATION", "person", "dependent_child", "Persistent absence from school")
    assert need.citations[0].confidence == "believed"


def test_parameters_keep_dated_values_oldest_first(sketch_dir) -> None:
    """A parameter with two dated values is one parameter; each value keeps its citation."""
    fw = load_framework(sketch_dir)
    p = fw.parameter("attendance_threshold")
    assert p.unit == "percent"
    assert [(v.effective_from, v.value) for v in p.values] == [(date(2012, 4, 1), 85), (date(2015, 9, 1), 90)]
    assert p.values[1].citation.text == "DfE persistent absence definition"
    assert fw.parameter("offending_window").values[0].value == ir.Duration(amount=12, unit="months")
    assert fw.parameter("arrears_threshold").values[0].value == 500


def test_expression_translations(sketch_dir) -> None:
    """rate/per, windows, member quantifiers, rule refs, roles and codes compile as the IR documents."""
    fw = load_framework(sketch_dir)
    absence = fw.need("EDU_PERSISTENT_ABSENCE").condition
    assert absence == ir.Compare(op="<", left=ir.Aggregate(
        fn="rate", fact="attendance", field="attended_sessions", per_field="possible_sessions",
        window=ir.Window(length=ir.Duration(amount=3, unit="terms"))), right=ir.ParamRef(name="attendance_threshold"))
    crime = fw.need("CRIME_OFFENDING").condition
    assert crime.args[0] == ir.RuleRef(name="has_recent_offence")
    assert crime.args[1].window.length == ir.ParamRef(name="offending_window")
    recent = next(r for r in fw.rules if r.name == "has_recent_offence").condition
    assert recent.where.right == ir.ListLit(items=(ir.Lit(value="proven", unit="code"), ir.Lit(value="caution", unit="code")))
    assert recent.where.left == ir.FieldRef(name="outcome")
    family = next(r for r in fw.rules if r.name == "family_definition").condition
    assert family == ir.Or(args=(ir.Members(quant="any", role="dependent_child"),
                                 ir.Members(quant="any", role="expectant_parent")))
    outcome = next(o for o in fw.outcomes if o.need == "EDU_PERSISTENT_ABSENCE")
    assert outcome.achieved.fn == "all" and outcome.achieved.window.consecutive is True
    assert outcome.sustained == ir.Aggregate(fn="none", fact="exclusion", window=ir.Window(
        length=ir.Duration(amount=6, unit="months"), anchor="closed", direction="after"))
    arrears = fw.need("HOUSING_ARREARS")
    assert arrears.subject == "family" and arrears.condition.left.fn == "latest"
    dependent = fw.role("dependent_child").condition
    assert dependent.args[0].left == ir.PersonAttr(name="age")


def test_eligibility_claim_score_and_lifecycle(sketch_dir) -> None:
    """Eligibility counts needs, the claim calls all_outcomes_sustained, guards stay names."""
    fw = load_framework(sketch_dir)
    assert fw.eligibility.condition == ir.Compare(op=">=", left=ir.NeedCount(), right=ir.ParamRef(name="minimum_needs"))
    assert fw.eligibility.family_definition.kind == "or"
    assert fw.claim.condition == ir.Call(fn="all_outcomes_sustained", args=())
    [score] = fw.scores
    assert [(w.target, w.target_kind, w.weight) for w in score.weights] == [
        ("EDUCATION", "headline", 2.0), ("CRIME", "headline", 3.0), ("EDU_PERSISTENT_ABSENCE", "need", 1.0)]
    assert [(b.rating, b.min_score) for b in score.bands] == [("red", 8.0), ("amber", 4.0), ("green", 0.0)]
    lc = fw.lifecycle
    transitions = {t.name: t for t in lc.transitions}
    assert transitions["outcomes_achieved"].guard == ("all_outcomes_achieved",)
    assert transitions["outcomes_achieved"].automatic is True
    assert transitions["close"].reasons == lc.closure_reasons and "reason" in transitions["close"].requires
    timers = {t.name: t for t in lc.timers}
    assert (timers["review_due"].state, timers["review_due"].states, timers["review_due"].repeat) == (
        "attached", ("attached", "tracking"), True)
    assert timers["sustainment"].after == ir.ParamRef(name="sustainment_period")
    assert timers["sustainment"].restart_on == ("offence", "domestic_abuse_incident")
    assert (timers["inactivity"].transition, timers["inactivity"].reason) == ("close", "no_longer_eligible")


def test_ir_round_trips_through_json(sketch_dir) -> None:
    """The compiled framework survives its own canonical JSON (what the decision store keeps)."""
    fw = load_framework(sketch_dir)
    again = ir.Framework.model_validate_json(fw.canonical_json())
    assert again == fw and again.content_hash() == fw.content_hash()


def test_claim_alternatives_and_anchor_dates(tmp_path) -> None:
    """`... or continuous_employment` lists the rule as a claim alternative; `evaluation date` is AsOf."""
    (tmp_path / "f.hearth").write_text('''framework p2 "Phase 2"
  phase "2"
  version "1"
end
rule continuous_employment about family
  any member has days_between(attachment date, evaluation date) > 180
  source "Phase 2 guidance" verified
end
claim
  met when all needs have achieved outcomes or continuous_employment
  source "Phase 2 guidance" verified
end
''')
    fw = load_framework(tmp_path / "f.hearth")
    assert fw.claim.condition == ir.Or(args=(ir.Call(fn="all_outcomes_achieved", args=()),
                                             ir.RuleRef(name="continuous_employment")))
    assert [r.name for r in fw.claim.alternatives] == ["continuous_employment"]
    test = fw.rules[0].condition.test
    assert test.left.args == (ir.AsOf(anchor="attached"), ir.AsOf(anchor="as_of"))


def test_override_roles_and_the_hash_of_a_framework_without_them(sketch_dir, tmp_path) -> None:
    """`overrides by` compiles to the lifecycle's override roles. A framework without the line keeps the
    JSON (so the content hash) it had before the line existed: the empty field is left out."""
    fw = load_framework(sketch_dir)
    assert fw.lifecycle.override_roles == () and "override_roles" not in fw.canonical_json()
    copy = tmp_path / "sketch"
    shutil.copytree(sketch_dir, copy)
    source = (copy / "framework.hearth").read_text()
    with_line = source.replace("  roles keyworker, manager, auditor, system\n",
                               "  roles keyworker, manager, auditor, system\n  overrides by manager, auditor\n", 1)
    assert with_line != source
    (copy / "framework.hearth").write_text(with_line)
    authorised = load_framework(copy)
    assert authorised.lifecycle.override_roles == ("manager", "auditor")
    again = ir.Framework.model_validate_json(authorised.canonical_json())
    assert again.lifecycle.override_roles == ("manager", "auditor") and again.content_hash() == authorised.content_hash()
