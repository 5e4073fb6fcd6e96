"""Returns: quarterly progress counts, NIS opt-outs honoured, pseudonymised extract free of identifiers."""

from __future__ import annotations

import csv
from datetime import date

from engine.returns.extracts import keyed_hash, nis_extract, progress_return, pseudonymised_extract, write_progress_return
from engine.returns.rows import CohortPerson, FamilyProgress

Q_START, Q_END = date(2024, 1, 1), date(2024, 3, 31)
HEADLINES = ("EDUCATION", "CRIME", "HOUSING")


def _families() -> list[FamilyProgress]:
    return [
        FamilyProgress("F1", date(2023, 11, 1), attached_on=date(2023, 12, 1), needs=(("EDU_PA", "EDUCATION"), ("CRIME_OFF", "CRIME"))),
        FamilyProgress("F2", date(2024, 1, 5), attached_on=date(2024, 2, 1), outcomes_achieved_on=date(2024, 3, 1),
                       needs=(("EDU_PA", "EDUCATION"), ("EDU_EX", "EDUCATION"))),
        FamilyProgress("F3", date(2023, 5, 1), attached_on=date(2023, 6, 1), closed_on=date(2023, 12, 1),
                       claimed_on=date(2023, 12, 1), needs=(("HOUSING_ARR", "HOUSING"),)),
        FamilyProgress("F4", date(2024, 2, 1)),  # identified, not attached: comparison group
    ]


def _people() -> list[CohortPerson]:
    return [
        CohortPerson("P1", "F1", "Amina", "Khan", date(1985, 3, 2), "F", "1 High St", "ZZ1 1AA", "AB123456C"),
        CohortPerson("P2", "F1", "Yusuf", "Khan", date(2012, 7, 9), "M", "1 High St", "ZZ1 1AA", None),
        CohortPerson("P3", "F4", "Jo", "Smith", date(1990, 1, 1), "X", "2 Low Rd", "ZZ1 2AB", None),
        CohortPerson("P9", "F99", "Not", "Cohort", date(1970, 1, 1), "M", "3 Elm", "ZZ1 3AC", None),
    ]


def test_progress_return_counts_the_quarter() -> None:
    """Worked-with counts overlap the quarter; needs count families once per headline; claims outside are excluded."""
    rows = {(r["measure"], r["headline"]): r["value"] for r in progress_return(
        _families(), la_code="999", period_start=Q_START, period_end=Q_END, headlines=HEADLINES)}
    assert rows[("families_worked_with", "")] == 2  # F3 closed before the quarter; F4 never attached
    assert rows[("families_newly_attached", "")] == 1
    assert rows[("families_identified", "")] == 2
    assert rows[("outcomes_achieved", "")] == 1
    assert rows[("successful_outcomes_claimed", "")] == 0
    assert rows[("families_worked_with_need", "EDUCATION")] == 2
    assert rows[("families_worked_with_need", "HOUSING")] == 0


def test_progress_return_csv(tmp_path) -> None:
    """The CSV has one row per measure with the LA code and period."""
    rows = progress_return(_families(), la_code="999", period_start=Q_START, period_end=Q_END, headlines=HEADLINES)
    result = write_progress_return(rows, tmp_path / "progress.csv")
    read = list(csv.DictReader(result.path.open()))
    assert len(read) == result.rows == 5 + len(HEADLINES)
    assert {r["la_code"] for r in read} == {"999"} and len(result.sha256) == 64


def test_nis_extract_is_cohort_only_and_honours_opt_outs(tmp_path) -> None:
    """People outside the cohort never appear; an opted-out person is excluded and counted."""
    result = nis_extract(_people(), _families(), opted_out={"P2"}, path=tmp_path / "nis.csv")
    read = list(csv.DictReader(result.path.open()))
    assert [r["la_person_id"] for r in read] == ["P1", "P3"]
    assert result.excluded == 1
    assert read[0]["ni_number"] == "AB123456C" and read[0]["attached_on"] == "2023-12-01"


def test_pseudonymised_extract_has_no_direct_identifiers(tmp_path) -> None:
    """Names, dates of birth, addresses and NINOs never appear; ids are stable keyed hashes."""
    key = b"test-key-not-secret"
    result = pseudonymised_extract(_people(), _families(), HEADLINES, key, tmp_path / "pseudo.csv")
    text = result.path.read_text()
    for secret in ("Amina", "Khan", "1985-03-02", "High St", "ZZ1 1AA", "AB123456C", "P1", "F1,"):
        assert secret not in text
    read = list(csv.DictReader(result.path.open()))
    assert {r["person_pseudonym"] for r in read} == {keyed_hash(key, f"person:{p}") for p in ("P1", "P2", "P3")}
    assert keyed_hash(b"other-key", "person:P1") not in text
    amina = next(r for r in read if r["person_pseudonym"] == keyed_hash(key, "person:P1"))
    assert amina["year_of_birth"] == "1985" and amina["need_education"] == "1" and amina["need_housing"] == "0"
