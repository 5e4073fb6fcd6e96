"""The table of common syntax mistakes names each of its own examples, wherever it appears in a file."""

from __future__ import annotations

import pytest

from dsl import DslSyntaxError, parse_text
from dsl._error_examples import ERROR_EXAMPLES

CASES = [(label, example) for label, examples in ERROR_EXAMPLES.items() for example in examples]


@pytest.mark.parametrize(("label", "example"), CASES)
@pytest.mark.parametrize("preceded", [False, True], ids=["first", "after-another-block"])
def test_example_is_named(label: str, example: str, preceded: bool) -> None:
    """Each example fails with its label, both as a file's first block and after another block."""
    text = ('parameter earlier: count\n  1 from 2020-01-01\nend\n' if preceded else "") + example
    with pytest.raises(DslSyntaxError) as caught:
        parse_text(text, "mistake.hearth")
    assert caught.value.label == label
    assert caught.value.render().startswith("mistake.hearth:")


def test_unnamed_mistake_lists_what_was_expected() -> None:
    """A mistake without a label still says what was found and what could come there."""
    with pytest.raises(DslSyntaxError) as caught:
        parse_text('role r "R"\n  age < 16 and\nend\n', "r.hearth")
    assert caught.value.label is None
    assert "unexpected `end`" in str(caught.value)
    assert "a name" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (3, 1)


def test_syntax_error_is_a_python_syntax_error_with_position() -> None:
    """DslSyntaxError subclasses SyntaxError and fills its standard attributes."""
    with pytest.raises(SyntaxError) as caught:
        parse_text('headline H "h"\n  also Education\nend\n', "h.hearth")
    assert (caught.value.filename, caught.value.lineno, caught.value.offset) == ("h.hearth", 2, 8)
