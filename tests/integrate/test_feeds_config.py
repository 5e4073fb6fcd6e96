"""Feed declarations: one broken YAML per failure, each error naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.integrate.feeds import load_feeds
from tests.integrate.conftest import DEMO

BASE = """\
feeds:
  - name: pupils
    source: {type: csv, path: "*.csv"}
    extract_date: {value: 2024-01-31}
    schema: {type: object}
    record_id: id
    identity:
      given_name: forename
    facts:
      - type: exclusion
        id: id
        fields:
          exclusion_date: date
"""

BROKEN = [
    ("unknown key", BASE.replace("    record_id: id\n", "    record_id: id\n    recordid: id\n"), 7, "unknown key 'recordid'"),
    ("unknown source type", BASE.replace("type: csv", "type: parquet"), 3, "'csv', 'json', 'jsonl', 'excel' or 'sql'"),
    ("unknown fact type", BASE.replace("type: exclusion", "type: exclusions"), 10, "unknown fact type 'exclusions'"),
    ("unknown fact field", BASE.replace("exclusion_date: date", "exclusion_date: date\n          reason: why"), 10,
     "exclusion has no field(s) reason"),
    ("fact date not mapped", BASE.replace("exclusion_date: date", "days: days"), 10, "needs its date field 'exclusion_date'"),
    ("missing record id", BASE.replace("    record_id: id\n", ""), 2, "missing key 'record_id'"),
    ("sql without query", BASE.replace('{type: csv, path: "*.csv"}', "{type: sql, url: 'sqlite://'}"), 3, "needs 'url'"),
    ("extract date twice", BASE.replace("{value: 2024-01-31}", "{value: 2024-01-31, column: d}"), 4, "exactly one"),
    ("full name without format", BASE.replace("given_name: forename", "full_name: name"), 7, "full_name needs format"),
    ("bad feed name", BASE.replace("name: pupils", "name: Pupils"), 2, "should match pattern"),
    ("invalid schema", BASE.replace("schema: {type: object}", "schema: {type: objekt}"), 5, "not a valid JSON Schema"),
    ("missing schema file", BASE.replace("schema: {type: object}", "schema: nowhere.json"), 5, "cannot read JSON Schema"),
    ("not yaml", "feeds:\n  - name: [unclosed\n", 3, "not valid YAML"),
    ("parent feed unknown", BASE + "    relationships:\n      - {kind: parent_of, column: p, feed: housing}\n", 15,
     "no feed named 'housing'"),
]


@pytest.mark.parametrize(("description", "text", "line", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_feed_files(tmp_path: Path, description: str, text: str, line: int, message: str) -> None:
    """Each broken declaration fails with the file, the line of the offending key and a helpful message."""
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_feeds(path)
    rendered = info.value.render()
    assert f"{path}:{line}:" in rendered, rendered
    assert message in rendered, rendered


def test_duplicate_feed_names(tmp_path: Path) -> None:
    """Two feeds with one name are an error pointing at the second."""
    second = BASE.split("feeds:\n", 1)[1]
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE + second)
    with pytest.raises(ConfigError, match=r"feeds.yaml:14:\d+: feeds\[1\].name: duplicate feed name 'pupils'"):
        load_feeds(path)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes come back in one error, one line each."""
    path = tmp_path / "feeds.yaml"
    path.write_text(BASE.replace("type: csv", "type: parquet").replace("type: exclusion", "type: nope"))
    with pytest.raises(ConfigError) as info:
        load_feeds(path)
    assert "parquet" in str(info.value) and "nope" in str(info.value)


def test_demo_feeds_file_is_valid() -> None:
    """The shipped demo declares three feeds with their fact types."""
    feeds = load_feeds(DEMO / "feeds.yaml")
    assert {f.name: f.fact_types for f in feeds.feeds} == {
        "school_census": ("attendance",), "social_care": ("social_care_episode",), "housing": ("rent_account",)}
