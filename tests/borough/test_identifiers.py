"""Identifier checks (worked examples from the domain reference) and validity of every generated id."""

from __future__ import annotations

import numpy as np
import pytest

from borough.generator import identifiers as ids  # examples/ is put on sys.path by conftest

from .conftest import read_csv


@pytest.mark.parametrize(("number", "valid"), [
    ("943 476 5919", True), ("9434765919", True), ("987 654 4321", False), ("943476591", False),
    ("94347659x9", False),
])
def test_nhs_number_check(number, valid):
    """The mod-11 check accepts the reference's valid example and rejects the famous invalid one."""
    assert ids.is_valid_nhs_number(number) is valid


@pytest.mark.parametrize(("upn", "valid"), [
    ("B801200005001", True), ("Q207000016049", False), ("P207000016049", True), ("B80120000500", False),
])
def test_upn_check_letter(upn, valid):
    """The UPN check letter follows weights 2..13 mod 23 (the vendor example with Q is wrong: it is P)."""
    assert ids.is_valid_upn(upn) is valid


@pytest.mark.parametrize(("nino", "valid"), [
    ("AB123456C", True), ("AB 12 34 56 C", True), ("QQ123456A", False), ("BG123456A", False),
    ("AO123456A", False), ("AB123456E", False),
])
def test_nino_format(nino, valid):
    """NINO prefixes and suffix letters follow HMRC's allocation rules."""
    assert ids.is_valid_nino(nino) is valid


def test_test_range_nhs_numbers_are_distinct_and_valid():
    """Drawn NHS numbers are unique, in the 999 range and pass mod 11."""
    numbers = ids.nhs_numbers_in_test_range(np.random.default_rng(5), 20000)
    assert len(set(numbers)) == 20000
    assert all(n.startswith("999") and ids.is_valid_nhs_number(n) for n in numbers)


def test_every_person_has_valid_identifiers(borough):
    """Truth persons: NHS numbers 999 + mod 11, UPNs with correct check letters, NINOs of valid format."""
    persons = read_csv(borough / "truth" / "persons.csv")
    nhs = [p["nhs_number"] for p in persons]
    assert all(len(n) == 10 and n.startswith("999") and ids.is_valid_nhs_number(n) for n in nhs)
    assert len(set(nhs)) == len(nhs)
    upns = [p["upn"] for p in persons if p["upn"]]
    assert len(upns) > len(persons) * 0.08
    assert all(ids.is_valid_upn(u) for u in upns) and len(set(upns)) == len(upns)
    ninos = [p["ni_number"] for p in persons if p["ni_number"]]
    assert len(ninos) > len(persons) * 0.6
    assert all(ids.is_valid_nino(n) for n in ninos) and len(set(ninos)) == len(ninos)


def test_addresses_have_valid_postcodes_and_uprns(borough):
    """Every address in the truth has a valid-format postcode and UPRN."""
    addresses = read_csv(borough / "truth" / "addresses.csv")
    assert addresses
    assert all(ids.is_valid_postcode(a["postcode"]) and ids.is_valid_uprn(a["uprn"]) for a in addresses)


def test_upns_differ_in_check_letters():
    """Check letters vary with the body, so a one-digit change is caught."""
    first, second = ids.make_upn(2001, 2019, 1), ids.make_upn(2001, 2019, 2)
    assert first[1:-1] == second[1:-1] and first[0] != second[0]
    assert ids.is_valid_upn(first) and ids.is_valid_upn(second)
