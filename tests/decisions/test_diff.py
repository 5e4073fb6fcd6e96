"""Framework diff: the families a threshold change and a new need move, with the rules responsible."""

from __future__ import annotations

from engine.decisions.diff import diff_frameworks
from engine.decisions.evaluate import compile_for

from tests.decisions.builders import AS_OF, FILE, borough, framework


def _diff():
    old = compile_for(framework("1"))
    new = compile_for(framework("2", attendance_threshold=95, include_da=True))
    return diff_frameworks(old, new, borough(), AS_OF)


def test_diff_lists_exactly_the_families_that_change() -> None:
    """Stricter attendance moves F04 and F08; the new domestic-abuse need moves F05 and F08."""
    report = _diff()
    assert report.families == 8
    assert sorted(report.changes) == ["F04", "F05", "F08"]
    assert report.eligible_before["met"] == 2 and report.eligible_after["met"] == 5


def test_changes_name_the_responsible_rules_with_spans_and_citations() -> None:
    """Each change cites the rule's span and guidance; eligibility changes say which needs moved it."""
    report = _diff()
    f08 = {(c.kind, c.code): c for c in report.changes["F08"]}
    assert set(f08) == {("eligible", "eligible"), ("need", "EDU_PERSISTENT_ABSENCE"), ("need", "DA_INCIDENT")}
    absence = f08[("need", "EDU_PERSISTENT_ABSENCE")]
    assert (absence.before, absence.after, absence.span) == ("not_met", "met", f"{FILE}:10:1")
    assert absence.citations == ("Guidance ch.4: persistent absence",)
    da = f08[("need", "DA_INCIDENT")]
    assert (da.before, da.after) == ("absent", "met") and da.span == f"{FILE}:30:1"
    eligible = f08[("eligible", "eligible")]
    assert (eligible.before, eligible.after) == ("not_met", "met")
    assert "need EDU_PERSISTENT_ABSENCE not_met -> met" in eligible.because
    assert "need DA_INCIDENT absent -> met" in eligible.because


def test_a_new_need_that_is_not_met_is_not_a_change() -> None:
    """Families the new need does not apply to are not listed just because the need now exists."""
    report = _diff()
    assert "F01" not in report.changes and "F06" not in report.changes


def test_headline_counts_before_and_after() -> None:
    """Headline summary counts families with the headline met under each framework."""
    heads = _diff().headlines
    assert vars(heads["EDUCATION"]) == {"before": 4, "after": 6, "gained": 2, "lost": 0}
    assert vars(heads["CRIME"]) == {"before": 4, "after": 4, "gained": 0, "lost": 0}
    assert vars(heads["DOMESTIC_ABUSE"]) == {"before": 0, "after": 2, "gained": 2, "lost": 0}


def test_the_report_is_the_same_in_batches_and_worker_processes() -> None:
    """Two forked workers comparing batches give exactly the one-process report."""
    old = compile_for(framework("1"))
    new = compile_for(framework("2", attendance_threshold=95, include_da=True))
    one = diff_frameworks(old, new, borough(), AS_OF)
    two = diff_frameworks(old, new, list(reversed(borough())), AS_OF, workers=2)
    assert two.to_dict() == one.to_dict()
    assert list(two.changes) == sorted(two.changes)


def test_eligibility_moves_and_the_reasons_behind_them_are_counted() -> None:
    """The summary a policy lead reads: how eligibility moves, and which need changes move it in how many families."""
    report = _diff()
    assert report.eligibility_moves() == {("not_met", "met"): 3}
    reasons = report.eligibility_reasons()
    moved = {c.family_id for c in report.eligibility_changes()}
    assert moved == {"F04", "F05", "F08"}
    assert reasons["need DA_INCIDENT absent -> met"] == sum(
        "need DA_INCIDENT absent -> met" in c.because for c in report.eligibility_changes())
    assert reasons["need EDU_PERSISTENT_ABSENCE not_met -> met"] >= 1
    data = report.to_dict()
    assert data["eligibility_moves"] == {"not_met -> met": 3}
    counts = [entry["families"] for entry in data["eligibility_reasons"]]
    assert counts == sorted(counts, reverse=True) and sum(counts) == sum(reasons.values())
