"""No input produces anything but a DslError: random bytes, token soup, truncations, deep nesting, huge files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import DslError, check_paths, format_text, load_framework, parse_text
from dsl.parser import MAX_FILE_BYTES, decode_source

SKETCH = (Path(__file__).parent / "good" / "sketch" / "framework.hearth").read_text()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# words and symbols of the language, so random text reaches deep into the parser and checker
TOKENS = [
    "framework", "parameter", "fact", "role", "rule", "need", "outcome", "headline", "eligibility", "claim",
    "score", "lifecycle", "family", "definition", "end", "source", "url", "verified", "about", "person",
    "for", "each", "member", "met", "when", "achieved", "sustained", "under", "any", "no", "every", "count",
    "of", "sum", "latest", "rate", "per", "where", "has", "is", "in", "over", "last", "after", "closure",
    "and", "or", "not", "(", ")", ",", "=", "<", ">=", "+", "-", "*", "/", ":", ".", "3", "90%", "£500",
    "2023-01-01", "12 months", "3 terms", '"text"', "x", "offence", "age", "dependent_child", "override",
    "label", "priority", "state", "transition", "timer", "from", "to", "by", "automatically", "take",
    "evaluation date", "all needs have sustained outcomes", "count of needs", "code (a, b)", "date", "#",
    "\n", "£", "%", '"', "\x00",
]


def only_dsl_errors(text: str, tmp_path: Path | None = None) -> None:
    try:
        parse_text(text, "fuzz.hearth")
    except DslError:
        return
    if tmp_path is not None:  # it parsed: the checker must cope too
        (tmp_path / "fuzz.hearth").write_text(text, encoding="utf-8")
        check_paths([tmp_path / "fuzz.hearth"])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    """Undecodable or junk bytes become a DslError with a place, never a traceback."""
    try:
        text = decode_source(data, "junk.hearth")
    except DslError as exc:
        assert exc.diagnostics[0].span.file == "junk.hearth"
        return
    only_dsl_errors(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_token_soup_through_parser_and_checker(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """Random sequences of the language's own words never crash the parser or the checker."""
    only_dsl_errors(text, tmp_path_factory.mktemp("soup"))


@settings(FUZZ, max_examples=60)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_inside_a_need(tmp_path_factory: pytest.TempPathFactory, soup: str) -> None:
    """Random expressions in a real framework are checked without crashing."""
    text = SKETCH.replace("met when has_recent_offence or any asb_incident in last offending_window",
                          f"met when {soup}")
    only_dsl_errors(text, tmp_path_factory.mktemp("need"))


def test_truncations_of_a_real_file(tmp_path: Path) -> None:
    """The sketch cut at many positions parses or fails cleanly; some cuts are also fully checked."""
    for index, cut in enumerate(range(0, len(SKETCH), 23)):
        only_dsl_errors(SKETCH[:cut], tmp_path if index % 25 == 0 else None)


@pytest.mark.parametrize("expression", [
    "(" * 10_000 + "age" + ")" * 10_000,
    "not " * 10_000 + "age",
    " + ".join(["1"] * 10_000) + " > 3",
    "any offence where " * 3_000 + "age > 3",
])
def test_deep_nesting_never_overflows(expression: str) -> None:
    """Deep nesting either parses (redundant parentheses leave no trace in the tree) and then formats
    and checks, or is refused as too deeply nested; never a RecursionError."""
    text = f'framework f "F"\n  phase "1"\n  version "1"\nend\nrole r "R"\n  {expression}\nend\n'
    try:
        module = parse_text(text, "deep.hearth")
    except DslError as exc:
        assert "nested more than" in str(exc)
        return
    assert module.declarations[1].condition == parse_text('role r "R"\n  age\nend\n').declarations[0].condition
    assert format_text(text).count("age") == 1


def test_huge_file_is_refused(tmp_path: Path) -> None:
    """A 5 MB file is refused by size before parsing."""
    big = tmp_path / "big.hearth"
    big.write_text("# padding\n" * 500_000)
    assert big.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(DslError) as caught:
        load_framework(big)
    assert "MB" in str(caught.value)


def test_binary_file_in_a_framework_folder(tmp_path: Path) -> None:
    """A binary file among the framework's files is reported with its name, alongside the others."""
    (tmp_path / "a.hearth").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "b.hearth").write_text('framework f "F"\n  phase "1"\n  version "1"\nend\n')
    diagnostics = check_paths([tmp_path])
    assert [d.span.file.endswith("a.hearth") for d in diagnostics if d.is_error] == [True]


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    """Any Unicode text (control characters, lone surrogates, odd spaces) parses or fails as a DslError."""
    only_dsl_errors(text)


def test_nesting_just_under_the_limit_loads_end_to_end(tmp_path: Path) -> None:
    """Expressions nested almost to the limit still check, compile, serialise and format."""
    chain = " + ".join(["age"] * 190) + " > 3"
    (tmp_path / "f.hearth").write_text(f'framework f "F"\n  phase "1"\n  version "1"\nend\n'
                                       f'role r "R"\n  {chain}\n  source "x" local\nend\n')
    framework = load_framework(tmp_path)
    assert framework.model_validate_json(framework.canonical_json()) == framework
    assert format_text((tmp_path / "f.hearth").read_text()).count("age") == 190
