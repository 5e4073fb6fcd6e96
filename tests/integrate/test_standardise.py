"""Standardisation tables: names, dates, postcodes, sex and addresses as councils export them."""

from __future__ import annotations

from datetime import date

import pytest

from engine.integrate.standardise import (
    canonical_given_name,
    normalise_address,
    normalise_family_name,
    normalise_postcode,
    normalise_sex,
    parse_date,
    split_full_name,
    split_given_names,
)

GIVEN_CASES = [
    ("title and middle name", "Dr Mary-Ann Jane", ("MARY-ANN", "JANE")),
    ("accents", "Zoë", ("ZOE", None)),
    ("two titles", "Mr. Rev John", ("JOHN", None)),
    ("lower case, extra spaces", "  mohammed   ali ", ("MOHAMMED", "ALI")),
    ("empty", "  ", (None, None)),
    ("only a title", "Mrs", (None, None)),
]


@pytest.mark.parametrize(("description", "raw", "expected"), GIVEN_CASES, ids=[c[0] for c in GIVEN_CASES])
def test_given_names(description: str, raw: str, expected: tuple) -> None:
    """Given-name columns lose titles and split into the first name and the middle names."""
    assert split_given_names(raw) == expected


FAMILY_CASES = [
    ("double-barrelled with spaces round the hyphen", "Smith - Jones", "SMITH-JONES"),
    ("en dash", "Smith\u2013Jones", "SMITH-JONES"),
    ("apostrophe", "O'Brien", "OBRIEN"),
    ("accent", "Müller", "MULLER"),
    ("particle kept as a word", "van der Berg", "VAN DER BERG"),
    ("title left in surname column", "Mrs Patel", "PATEL"),
    ("surname that equals a title word stays", "Lord", "LORD"),
]


@pytest.mark.parametrize(("description", "raw", "expected"), FAMILY_CASES, ids=[c[0] for c in FAMILY_CASES])
def test_family_names(description: str, raw: str, expected: str) -> None:
    """Family names are upper-case ASCII with double-barrelled forms joined by one hyphen."""
    assert normalise_family_name(raw) == expected


FULL_NAME_CASES = [
    ("SURNAME, Forename", "SMITH-JONES, Mary Anne", "SURNAME, Forename", ("MARY", "ANNE", "SMITH-JONES")),
    ("SURNAME, Title Forename", "PATEL,  Mrs Priya", "SURNAME, Forename", ("PRIYA", None, "PATEL")),
    ("Forename Surname", "Mr William Henry Smith", "Forename Surname", ("WILLIAM", "HENRY", "SMITH")),
    ("Forename Surname, one word", "Cher", "Forename Surname", (None, None, "CHER")),
]


@pytest.mark.parametrize(
    ("description", "raw", "name_format", "expected"), FULL_NAME_CASES, ids=[c[0] for c in FULL_NAME_CASES]
)
def test_full_names(description: str, raw: str, name_format: str, expected: tuple) -> None:
    """One-column names split by the feed's declared format."""
    assert split_full_name(raw, name_format) == expected


def test_full_name_without_comma_is_an_error() -> None:
    """A 'SURNAME, Forename' column without a comma cannot be split safely."""
    with pytest.raises(ValueError, match="no comma"):
        split_full_name("Mary Smith", "SURNAME, Forename")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("BILL", "WILLIAM"), ("MO", "MOHAMMED"), ("MUHAMMAD", "MOHAMMED"), ("MOHAMED", "MOHAMMED"),
     ("LIZ", "ELIZABETH"), ("WILLIAM", "WILLIAM"), ("ZARA", "ZARA"), (None, None)],
)
def test_nicknames_resolve_to_canonical_given_name(raw: str | None, expected: str | None) -> None:
    """Nicknames and spelling variants map to one canonical given name; others pass through."""
    assert canonical_given_name(raw) == expected


DATE_CASES = [
    ("ISO", "2015-03-12", date(2015, 3, 12)),
    ("ISO datetime", "2015-03-12T10:30:00Z", date(2015, 3, 12)),
    ("dd/mm/yyyy", "12/03/2015", date(2015, 3, 12)),
    ("d/m/yyyy", "2/3/2015", date(2015, 3, 2)),
    ("dd-mm-yy recent", "12-03-15", date(2015, 3, 12)),
    ("dd-mm-yy last century", "12-03-78", date(1978, 3, 12)),
    ("dd.mm.yyyy", "12.03.2015", date(2015, 3, 12)),
    ("yyyymmdd", "20150312", date(2015, 3, 12)),
    ("Excel serial string", "42075", date(2015, 3, 12)),
    ("Excel serial number", 42075, date(2015, 3, 12)),
    ("12 Mar 2015", "12 Mar 2015", date(2015, 3, 12)),
    ("12 March 2015", "12 March 2015", date(2015, 3, 12)),
    ("12-Mar-15", "12-Mar-15", date(2015, 3, 12)),
]


@pytest.mark.parametrize(("description", "raw", "expected"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_dates(description: str, raw: object, expected: date) -> None:
    """Dates in every format councils export read day-first."""
    assert parse_date(raw, pivot_year=2026) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [("31/02/2015", "not a real date"), ("next tuesday", "cannot read"), ("", "empty"),
     ("03/2015", "cannot read"), ("99999999", "cannot read"), ("2015", "cannot read")],
)
def test_unreadable_dates_say_why(raw: str, message: str) -> None:
    """An unreadable date raises ValueError saying what was wrong."""
    with pytest.raises(ValueError, match=message):
        parse_date(raw, pivot_year=2026)


def test_declared_format_wins_over_day_first_guess() -> None:
    """A feed declaring a US-style format gets month-first reading for that column."""
    assert parse_date("03/12/2015", "%m/%d/%Y") == date(2015, 3, 12)
    assert parse_date("03/12/2015") == date(2015, 12, 3)


POSTCODE_CASES = [
    ("lower, no space", "sw1a1aa", "SW1A 1AA", False),
    ("extra spaces", " M1   1AE ", "M1 1AE", False),
    ("A9 9AA", "b338th", "B33 8TH", False),
    ("GIR 0AA", "GIR0AA", "GIR 0AA", False),
    ("BFPO kept with a warning", "BFPO 801", "BFPO 801", True),
    ("bad inward letters kept with a warning", "SW1A 1AC", "SW1A 1AC", True),
    ("too short", "SW1", "SW1", True),
    ("empty", "  ", None, False),
]


@pytest.mark.parametrize(
    ("description", "raw", "expected", "warns"), POSTCODE_CASES, ids=[c[0] for c in POSTCODE_CASES]
)
def test_postcodes(description: str, raw: str, expected: str | None, warns: bool) -> None:
    """Postcodes normalise; failing the strict pattern is a warning, never a rejection."""
    value, warning = normalise_postcode(raw)
    assert value == expected
    assert (warning is not None) == warns


@pytest.mark.parametrize(
    ("raw", "expected"), [("f", "F"), ("Female", "F"), ("1", "M"), ("MALE", "M"), ("x", "X"),
                          ("Not known", "U"), ("", None)],
)
def test_sex_codes(raw: str, expected: str | None) -> None:
    """Sex codes map to F, M, X or U."""
    assert normalise_sex(raw) == expected


def test_unknown_sex_code_is_an_error() -> None:
    """An unrecognised sex code raises with the accepted values listed."""
    with pytest.raises(ValueError, match="F, M, X, U"):
        normalise_sex("Q")


def test_address_normalises_punctuation_and_abbreviations() -> None:
    """Address lines join into one comparable line."""
    assert normalise_address(["Flat 2, 14 Acacia Rd.", None, "Leeds"]) == "FLAT 2 14 ACACIA ROAD LEEDS"
    assert normalise_address(["14 acacia road", "leeds"]) == normalise_address(["14 Acacia Rd", "LEEDS"])
    assert normalise_address([None, " "]) is None
