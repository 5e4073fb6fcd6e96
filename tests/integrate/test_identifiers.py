"""Identifier validation as tables of (description, raw value, expected canonical value or None)."""

from __future__ import annotations

import pytest

from engine.integrate.identifiers import (
    clean_ni_number,
    clean_nhs_number,
    clean_upn,
    clean_uprn,
    nhs_check_digit,
    upn_check_letter,
)

NHS_CASES = [
    ("worked example, spaced 3-3-4", "943 476 5919", "9434765919"),
    ("worked example, hyphenated", "943-476-5919", "9434765919"),
    ("worked example, compact", "9434765919", "9434765919"),
    ("spreadsheet float", "9434765919.0", "9434765919"),
    ("often-quoted format example fails the checksum", "987 654 4321", None),
    ("check digit one off", "943 476 5918", None),
    ("nine digits", "943476591", None),
    ("letters", "94347659AB", None),
    ("remainder 10 admits no check digit", "0000000060", None),
    ("remainder 0: check digit 11 becomes 0", "0000000620", "0000000620"),
]



def test_nhs_check_digit_rules() -> None:
    """11 - (sum mod 11) gives the digit; 11 maps to 0 and 10 means no valid number."""
    assert nhs_check_digit("943476591") == 9
    assert nhs_check_digit("987654432") == 2  # so 987 654 4321 is invalid, as domain.md says
    assert nhs_check_digit("000000062") == 0
    assert nhs_check_digit("000000001") == 9
    assert nhs_check_digit("000000000") == 0
    assert nhs_check_digit("000000006") is None


def test_nhs_problem_names_expected_digit() -> None:
    """The reason for a bad NHS number says which check digit was expected."""
    _, problem = clean_nhs_number("987 654 4321")
    assert "mod-11" in problem and "should be 2" in problem


UPN_CASES = [
    ("valid permanent UPN", "B801200005001", "B801200005001"),
    ("lower case with spaces", "b801 2000 05001", "B801200005001"),
    ("vendor example has the wrong letter", "Q207000016049", None),
    ("vendor example corrected", "P207000016049", "P207000016049"),
    ("letter I is never used", "I801200005001", None),
    ("twelve characters", "B80120000500", None),
    ("digit where the check letter goes", "1801200005001", None),
]



def test_upn_check_letter_worked_examples() -> None:
    """The worked sums from domain.md: B801200005001 -> B; Q207000016049 sums to 266 -> P."""
    assert upn_check_letter("B801200005001") == "B"
    assert upn_check_letter("Q207000016049") == "P"


def test_temporary_upn_final_letter_counts_by_alphabet_index() -> None:
    """A temporary UPN's final letter takes its index in the 23-letter alphabet (A=0 ... Z=22)."""
    body = "80120000500"  # positions 2..12
    for final in "AZ":
        letter = upn_check_letter("?" + body + final)
        value, problem = clean_upn(letter + body + final)
        assert problem is None and value == letter + body + final
    assert upn_check_letter("?" + body + "A") != upn_check_letter("?" + body + "Z")


NINO_CASES = [
    ("valid compact", "AB123456C", "AB123456C"),
    ("valid printed with spaces", "ab 12 34 56 c", "AB123456C"),
    ("suffix dropped by the source system", "AB123456", "AB123456"),
    ("Q never a prefix letter", "QQ123456A", None),
    ("BG not allocated", "BG123456A", None),
    ("O never second", "AO123456A", None),
    ("suffix E not allowed", "AB123456E", None),
    ("ZZ administrative", "ZZ123456A", None),
    ("five digits", "AB12345C", None),
]



UPRN_CASES = [
    ("twelve digits", "100062410143", 100062410143),
    ("short", "17", 17),
    ("spreadsheet float", "100062410143.0", 100062410143),
    ("leading zero", "0100062410143", None),
    ("thirteen digits", "1000624101431", None),
    ("not a number", "12A", None),
]



CLEANERS = {"NHS": clean_nhs_number, "UPN": clean_upn, "NINO": clean_ni_number, "UPRN": clean_uprn}
ALL_CASES = [
    (kind, *case)
    for kind, cases in (("NHS", NHS_CASES), ("UPN", UPN_CASES), ("NINO", NINO_CASES), ("UPRN", UPRN_CASES))
    for case in cases
]


@pytest.mark.parametrize(
    ("kind", "description", "raw", "expected"), ALL_CASES, ids=[f"{c[0]}: {c[1]}" for c in ALL_CASES]
)
def test_identifier_table(kind: str, description: str, raw: str, expected: object) -> None:
    """Each identifier cleans to its canonical form when valid, else to None with a reason."""
    value, problem = CLEANERS[kind](raw)
    assert value == expected
    assert (problem is None) == (expected is not None), problem
