"""``hearth match`` on small synthetic CSVs, and its error messages."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.errors import HearthError
from engine.matching.synthetic import generate
from workflows.cli import build_app

MAPS = ["--map", "given_name=forename", "--map", "family_name=surname", "--map", "date_of_birth=dob",
        "--map", "address=street,town", "--map", "postcode=postcode", "--map", "sex=sex",
        "--extra-id", "nhs"]


def _write(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "forename", "surname", "dob", "street", "town", "postcode", "sex", "nhs"])
        for row in rows:
            street, _, town = row["address"].rpartition(" ")
            day = row["date_of_birth"]
            dob = f"{day[8:10]}/{day[5:7]}/{day[:4]}" if day else ""  # councils export dd/mm/yyyy
            writer.writerow([row["record_id"], row["given_name"].title(), row["family_name"], dob, street, town,
                             row["postcode"].replace(" ", "").lower(), row["sex"], row["nhs_number"]])


def _run(argv: list[str]) -> tuple[int, str]:
    """Run the CLI in-process (``main`` itself may leave with ``os._exit``); returns (code, error text)."""
    result = CliRunner().invoke(build_app(), argv)
    if isinstance(result.exception, HearthError):
        return result.exception.exit_code, result.exception.render()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _score(out: Path, truth: set[tuple[str, str]]) -> tuple[float, float, int]:
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["person_id"], []).append(f"{row['source']}:{row['record_id']}")
    predicted = {(a, b) for keys in groups.values() for a in sorted(keys) for b in sorted(keys) if a < b}
    hits = len(predicted & truth)
    return hits / max(len(predicted), 1), hits / len(truth), len(rows)


@pytest.fixture(scope="module")
def people():
    return generate(1200, seed=3)


def test_one_file_deduplicates(tmp_path: Path, people) -> None:
    """One file: every record gets a person id, duplicates share one."""
    source = tmp_path / "census.csv"
    _write(source, people.rows)
    out = tmp_path / "clusters.csv"
    assert _run(["match", str(source), "--id-column", "ref", *MAPS, "--out", str(out)])[0] == 0
    truth = {(f"census:{a}", f"census:{b}") for a, b in people.true_pairs()}
    precision, recall, rows = _score(out, truth)
    assert rows == len(people.rows)
    assert precision > 0.97 and recall > 0.9


def test_two_files_link_and_deduplicate(tmp_path: Path, people) -> None:
    """Several files: a person split across files gets one id in both."""
    first, second = tmp_path / "school.csv", tmp_path / "police.csv"
    halves = [people.rows[0::2], people.rows[1::2]]
    _write(first, halves[0])
    _write(second, halves[1])
    source_of = {row["record_id"]: "school" for row in halves[0]} | {row["record_id"]: "police" for row in halves[1]}
    truth = {tuple(sorted((f"{source_of[a]}:{a}", f"{source_of[b]}:{b}"))) for a, b in people.true_pairs()}
    out = tmp_path / "clusters.csv"
    assert _run(["match", str(first), str(second), "--id-column", "ref", *MAPS, "--out", str(out)])[0] == 0
    precision, recall, rows = _score(out, truth)
    assert rows == len(people.rows)
    assert precision > 0.97 and recall > 0.9


BAD_ARGS = [
    ("unknown field", ["--map", "surname=surname"], "unknown field 'surname'"),
    ("missing column", ["--map", "family_name=last_name"], "column(s) 'last_name' not found"),
    ("missing id column", ["--map", "family_name=surname", "--id-column", "pupil"], "'pupil' not found"),
    ("two columns for a name", ["--map", "family_name=surname,forename"], "only address may join"),
    ("not FIELD=COLUMN", ["--map", "family_name"], "is not FIELD=COLUMN"),
]


@pytest.mark.parametrize(("description", "args", "message"), BAD_ARGS, ids=[b[0] for b in BAD_ARGS])
def test_bad_arguments_name_the_problem(tmp_path: Path, people, description, args, message) -> None:
    """Mistakes raise a Hearth error (exit code 2) whose message names the field or column."""
    source = tmp_path / "census.csv"
    _write(source, people.rows[:20])
    id_args = [] if "--id-column" in args else ["--id-column", "ref"]
    code, err = _run(["match", str(source), *id_args, *args, "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert message in err
    if "not found" in message:
        assert "census.csv" in err


def test_repeated_record_id_is_reported_with_its_line(tmp_path: Path) -> None:
    """A record id must identify one row; the message gives both lines, printed without a traceback."""
    source = tmp_path / "dupes.csv"
    source.write_text("ref,surname\n1,SMITH\n2,JONES\n1,SMYTH\n", encoding="utf-8")
    hearth = Path(sys.executable).with_name("hearth")
    done = subprocess.run([str(hearth), "match", str(source), "--id-column", "ref", "--map", "family_name=surname",
                           "--out", str(tmp_path / "o.csv")], capture_output=True, text=True)
    err = " ".join(done.stderr.split())
    assert done.returncode == 2 and "dupes.csv:4" in err and "repeats row 2" in err
    assert "Traceback" not in done.stderr
