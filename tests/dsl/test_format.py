"""Formatting: idempotent, meaning-preserving, comment-preserving; for repo files and generated trees."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import ast as a
from dsl import format_text, parse_text
from dsl.format_expr import render

REPO = Path(__file__).resolve().parents[2]
# the repository's framework files: not hidden folders (.venv, nor .hearth, the home `hearth demo` makes -
# itself named like a framework file) and not the deliberately bad fixtures
HEARTH_FILES = sorted(p for p in REPO.rglob("*.hearth") if p.is_file() and "bad" not in p.parts
                      and not any(part.startswith(".") for part in p.relative_to(REPO).parts))


@pytest.mark.parametrize("path", HEARTH_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_repo_files_round_trip(path: Path) -> None:
    """format(format(x)) == format(x), the tree is unchanged and every comment survives."""
    text = path.read_text()
    once = format_text(text, path.name)
    assert format_text(once, path.name) == once
    before, after = parse_text(text, path.name), parse_text(once, path.name)
    assert after.declarations == before.declarations
    assert [c[2] for c in after.comments] == [c[2] for c in before.comments]


def test_canonical_layout() -> None:
    """Indentation, spacing and blank lines are normalised; trailing comments stay on their line."""
    messy = ('# top\n\n\n   need   X  "T"   under H   # why\n for   each  child\n'
             '      met   when  a>=3   and(b or c)\n\n\n  source  "S"  local\n    end\n')
    assert format_text(messy) == ('# top\n\nneed X "T" under H  # why\n  for each child\n'
                                  '  met when a >= 3 and (b or c)\n\n  source "S" local\nend\n')


def test_long_conditions_break_before_or() -> None:
    """A condition longer than the line width breaks before its top-level `or`s."""
    long = " or ".join(f"any very_long_fact_name_{i} in last 12 months" for i in range(4))
    out = format_text(f'need X "T" under H\n  for family\n  met when {long}\nend\n')
    lines = out.splitlines()
    assert lines[2].startswith("  met when any very_long_fact_name_0")
    assert all(len(line) <= 100 for line in lines)
    assert lines[3].lstrip().startswith("or any")


# -- generated expressions ---------------------------------------------------------------------

NAMES = st.sampled_from(["age", "x", "offence", "outcome", "threshold", "dependent_child", "kind"])
WINDOWS = st.one_of(
    st.builds(a.Window, st.just("last"), st.builds(a.DurationLit, st.integers(1, 24), st.sampled_from(["months", "terms"]))),
    st.builds(a.Window, st.just("each"), st.builds(a.Name, NAMES)),
    st.builds(a.Window, st.just("after"), st.builds(a.DurationLit, st.integers(1, 9), st.just("months")),
              st.sampled_from(["closure", "attachment"]), st.sampled_from(["in", "over"])),
)
LEAVES = st.one_of(
    st.builds(a.Name, NAMES), st.builds(a.Number, st.integers(0, 999)), st.builds(a.Percent, st.integers(0, 100)),
    st.builds(a.Money, st.integers(0, 5000)), st.builds(a.DateLit, st.dates(date(2000, 1, 1), date(2030, 1, 1))),
    st.builds(a.DurationLit, st.integers(2, 30), st.sampled_from(["days", "weeks", "months", "years", "terms"])),
    st.builds(a.BoolLit, st.booleans()), st.builds(a.AnchorDate, st.sampled_from(["evaluation", "closure"])),
    st.builds(a.AllOutcomes, st.sampled_from(["achieved", "sustained"])), st.builds(a.CountNeeds, st.booleans()),
    st.builds(a.MemberQuantified, st.sampled_from(["any", "no", "every"]), st.builds(a.Name, NAMES)),
    st.builds(a.CountMembers, st.one_of(st.none(), st.builds(a.Name, NAMES))),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    maybe = st.one_of(st.none(), children)
    return st.one_of(
        st.builds(a.BinOp, st.sampled_from(["and", "or", "+", "-", "*", "/"]), children, children),
        st.builds(a.Compare, st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), children, children),
        st.builds(a.Compare, st.sampled_from(["in", "not in"]), children,
                  st.builds(a.ListExpr, st.lists(st.builds(a.Name, NAMES), min_size=1, max_size=3).map(tuple))),
        st.builds(a.Unary, st.sampled_from(["not", "-"]), children),
        st.builds(a.Quantified, st.sampled_from(["any", "no", "every"]), st.builds(a.Name, NAMES), st.booleans(),
                  maybe, st.one_of(st.none(), WINDOWS), maybe),
        st.builds(a.CountFacts, st.builds(a.Name, NAMES), st.booleans(), maybe, st.one_of(st.none(), WINDOWS)),
        st.builds(a.Aggregate, st.sampled_from(["sum", "latest", "max"]), st.builds(a.Name, NAMES),
                  st.builds(a.Name, NAMES), st.none(), st.none(), st.booleans(), maybe, st.one_of(st.none(), WINDOWS),
                  st.booleans()),
        st.builds(a.MemberQuantified, st.sampled_from(["any", "every"]), st.none(), children),
        st.builds(a.CallExpr, st.sampled_from(["days_between", "max"]), st.lists(children, min_size=1, max_size=3).map(tuple)),
    )


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=12)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # the recursive strategy's long repr
@settings(max_examples=200, deadline=None)
@given(EXPRESSIONS)
def test_generated_expressions_print_and_parse_back(expr: a.Expr) -> None:
    """Any expression tree prints to text that parses back to the same tree (parentheses where needed)."""
    text = render(expr)
    parsed = parse_text(f'role r "R"\n  {text}\nend\n', "gen.hearth").declarations[0].condition
    assert parsed == expr, text


@pytest.mark.parametrize("expr", [
    a.Quantified("any", a.Name("x"), where=a.Quantified("any", a.Name("y")), has=a.Name("z")),
    a.BinOp("or", a.Quantified("any", a.Name("x"), where=a.Name("y")), a.Name("z")),
    a.Quantified("any", a.Name("x"), where=a.CountFacts(a.Name("y")), window=a.Window("last", a.Name("w"))),
    a.CallExpr("f", (a.CountNeeds(False, (a.Name("H"),)), a.Name("z"))),
])
def test_greedy_tails_get_parentheses(expr: a.Expr) -> None:
    """Trees whose inner aggregation would swallow what follows print with parentheses (found by fuzzing)."""
    text = render(expr)
    assert "(" in text
    assert parse_text(f'role r "R"\n  {text}\nend\n').declarations[0].condition == expr


@pytest.mark.parametrize(("written", "printed"), [
    # brackets the author added for clarity stay, though precedence would not need them
    ("(a and b) or c", "(a and b) or c"),
    ("a or (b and c)", "a or (b and c)"),
    ("not (x >= 3)", "not (x >= 3)"),
    ("(age >= 16)", "(age >= 16)"),
    # repeated brackets collapse to one pair; spacing inside them is normalised
    ("((a  and b)) or c", "(a and b) or c"),
    ("(  a or b )", "(a or b)"),
    # brackets precedence needs are still added where the author left them out
    ("not a or b", "not a or b"),
])
def test_author_brackets_are_kept(written: str, printed: str) -> None:
    """`hearth fmt` keeps a policy lead's clarifying brackets (one pair), and still adds needed ones."""
    out = format_text(f'need X "T" under H\n  for family\n  met when {written}\nend\n')
    assert out.splitlines()[2] == f"  met when {printed}"
    assert format_text(out) == out


def test_broken_bracketed_operand_is_not_double_bracketed() -> None:
    """A long bracketed `and` inside an `or`, broken over lines, gets one pair of brackets."""
    part = " and ".join(f"any very_long_fact_name_{i} in last 12 months" for i in range(3))
    out = format_text(f'need X "T" under H\n  for family\n  met when ({part}) or other_rule\nend\n')
    assert "((" not in out and "))" not in out
    assert format_text(out) == out
    body = " ".join(line.strip() for line in out.splitlines()[2:-1])
    assert body.count("(") == body.count(")") == 1


def test_bracketed_whole_condition_keeps_its_brackets_when_broken() -> None:
    """A bracketed condition too long for one line is broken inside its (single) pair of brackets."""
    part = " and ".join(f"any very_long_fact_name_{i} in last 12 months" for i in range(3))
    out = format_text(f'need X "T" under H\n  for family\n  met when ({part})\nend\n')
    lines = out.splitlines()
    assert lines[2].startswith("  met when (any") and lines[4].endswith("months)")
    assert format_text(out) == out
