"""Each broken framework in tests/dsl/bad/ gets exactly its expected diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dsl import DslError, check_paths, load_framework

BAD = Path(__file__).parent / "bad"
EXPECTED: dict[str, dict] = yaml.safe_load((BAD / "expected.yaml").read_text())


def test_every_fixture_has_an_expectation() -> None:
    """No fixture is left unchecked, and no expectation names a missing file."""
    assert sorted(p.name for p in BAD.glob("*.hearth")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_fixture(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` reports the expected number of errors, located, with the expected message fragments."""
    monkeypatch.chdir(BAD)
    expected = EXPECTED[name]
    diagnostics = check_paths([name])
    rendered = "\n".join(d.render() for d in diagnostics)
    assert sum(d.is_error for d in diagnostics) == expected["errors"], rendered
    for fragment in expected["contains"]:
        assert fragment in rendered, f"{fragment!r} not in:\n{rendered}"
    if expected["errors"]:
        with pytest.raises(DslError) as caught:
            load_framework(name)
        assert len(caught.value.errors) == expected["errors"]
    else:
        assert load_framework(name).header.id == "bad"


def test_diagnostics_show_the_source_line_and_a_caret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rendered diagnostic has the offending line and a caret under the name."""
    monkeypatch.chdir(BAD)
    [diagnostic] = [d for d in check_paths(["unknown_role.hearth"]) if d.is_error]
    lines = diagnostic.render().splitlines()
    assert lines[1] == "      for each dependant_child"
    assert lines[2] == "    " + " " * 11 + "^" * len("dependant_child")
