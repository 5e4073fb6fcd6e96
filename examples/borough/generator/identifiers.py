"""UK identifiers for synthetic people: valid by construction, unique within a borough.

The check functions are local copies of the rules in docs/reference (domain.md section 5) so the
generator never depends on the ingest code it is meant to exercise.
"""

from __future__ import annotations

import re

import numpy as np

#: letters a UPN check letter (and a temporary UPN's last character) is drawn from: no I, O or S
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
NINO_PATTERN = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
POSTCODE_PATTERN = re.compile(
    r"^(GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
UPRN_PATTERN = re.compile(r"^[1-9]\d{0,11}$")
#: letters allowed in a postcode's inward code
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
#: the fictional borough's local-authority number inside UPNs (unallocated by DfE, so never a real pupil)
BOROUGH_LA_CODE = "999"

_NHS_WEIGHTS = np.arange(10, 1, -1)
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_PREFIXES = tuple(
    a + b for a in _NINO_FIRST for b in _NINO_SECOND if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
)


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine NHS-number digits, or None when no digit can be valid.

    Examples:
        >>> nhs_check_digit("943476591")
        9
        >>> nhs_check_digit("987654432") is None or nhs_check_digit("987654432") != 1
        True
    """
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """True when ``value`` (spaces allowed) is ten digits whose last digit is the mod-11 check.

    Examples:
        >>> is_valid_nhs_number("943 476 5919")
        True
        >>> is_valid_nhs_number("987 654 4321")
        False
    """
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def nhs_numbers_in_test_range(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct valid NHS numbers from the 999 test range, in random order.

    The range holds only about 909,000 valid numbers; beyond that the remainder are empty strings
    (people not yet registered with a GP), which callers must treat as "no NHS number".
    """
    bases = np.arange(1_000_000, dtype=np.int64)
    digits = np.stack([(bases // 10**k) % 10 for k in range(5, -1, -1)], axis=1)
    total = 9 * 10 + 9 * 9 + 9 * 8 + digits @ _NHS_WEIGHTS[3:]
    check = 11 - total % 11
    check[check == 11] = 0
    valid = check != 10
    numbers = 9_990_000_000 + bases[valid] * 10 + check[valid]
    chosen = rng.permutation(numbers)[:count]
    result = [str(n) for n in chosen.tolist()]
    return result + [""] * (count - len(result))


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (weights 2..13, mod 23).

    Examples:
        >>> upn_check_letter("801200005001")
        'B'
    """
    total = 0
    for position, char in enumerate(body, start=2):
        value = int(char) if char.isdigit() else UPN_ALPHABET.index(char)
        total += value * position
    return UPN_ALPHABET[total % 23]


def is_valid_upn(value: str) -> bool:
    """True for a 13-character UPN whose first letter is the check letter of the rest.

    Examples:
        >>> is_valid_upn("B801200005001")
        True
        >>> is_valid_upn("Q207000016049")
        False
    """
    if len(value) != 13 or value[0] not in UPN_ALPHABET or not value[1:12].isdigit():
        return False
    if not (value[12].isdigit() or value[12] in UPN_ALPHABET):
        return False
    return upn_check_letter(value[1:]) == value[0]


def make_upn(establishment: int, issue_year: int, serial: int) -> str:
    """A permanent UPN for the borough: LA code, school number, two-digit year and serial."""
    body = f"{BOROUGH_LA_CODE}{establishment:04d}{issue_year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def is_valid_nino(value: str) -> bool:
    """True when ``value`` (spaces allowed) has a valid NINO format.

    Examples:
        >>> is_valid_nino("AB 12 34 56 C")
        True
        >>> is_valid_nino("QQ123456A")
        False
    """
    return NINO_PATTERN.match(value.replace(" ", "").upper()) is not None


def random_ninos(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct NI numbers of valid format."""
    space = len(_NINO_PREFIXES) * 1_000_000
    codes = np.unique(rng.integers(0, space, size=int(count * 1.05) + 16))
    codes = rng.permutation(codes)[:count]
    suffixes = rng.integers(0, 4, size=len(codes))
    return [
        f"{_NINO_PREFIXES[code // 1_000_000]}{code % 1_000_000:06d}{'ABCD'[suffix]}"
        for code, suffix in zip(codes.tolist(), suffixes.tolist())
    ]


def is_valid_postcode(value: str) -> bool:
    """True when ``value`` has a valid UK postcode format (not proof that it exists)."""
    return POSTCODE_PATTERN.match(value.upper()) is not None


def is_valid_uprn(value: str) -> bool:
    """True for a UPRN: an integer of up to 12 digits without a leading zero."""
    return UPRN_PATTERN.match(value) is not None
