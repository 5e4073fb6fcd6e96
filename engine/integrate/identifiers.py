"""UK identifiers: NHS number, UPN, National Insurance number, UPRN (rules from domain reference §5).

Each ``clean_*`` function takes a raw value and returns ``(value, problem)``: the canonical form when
it is valid, otherwise ``None`` and a sentence saying what is wrong. Ingest keeps the row and drops an
invalid identifier (with a warning), because a mistyped NHS number must not lose the row's facts.

Examples:
    >>> clean_nhs_number("943 476 5919")
    ('9434765919', None)
    >>> upn_check_letter("Q207000016049")
    'P'
"""

from __future__ import annotations

import re

Cleaned = tuple[str | None, str | None]

_SEPARATORS = re.compile(r"[\s\-]+")


def _compact(value: object) -> str:
    text = str(value).strip()
    # Spreadsheets turn long numbers into floats: "9434765919.0".
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return _SEPARATORS.sub("", text).upper()


# --- NHS number -------------------------------------------------------------------------------------


def nhs_check_digit(first_nine: str) -> int | None:
    """The mod-11 check digit for nine digits, or None when no digit can be valid (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def clean_nhs_number(value: object) -> Cleaned:
    """Ten digits (spaces and hyphens ignored) whose last digit is the mod-11 check digit."""
    text = _compact(value)
    if not re.fullmatch(r"\d{10}", text):
        return None, f"NHS number {value!r} is not 10 digits (e.g. 943 476 5919)"
    expected = nhs_check_digit(text[:9])
    if expected is None:
        return None, f"NHS number {value!r} is invalid: its first nine digits admit no check digit"
    if expected != int(text[9]):
        return None, f"NHS number {value!r} fails the mod-11 check (check digit should be {expected})"
    return text, None


# --- UPN (Unique Pupil Number) ----------------------------------------------------------------------

#: 23 letters: the alphabet without I, O and S; a letter's index is its value.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_SHAPE = re.compile(rf"[{UPN_LETTERS}]\d{{11}}[\d{UPN_LETTERS}]")


def upn_check_letter(upn: str) -> str:
    """The check letter for positions 2..13 of a UPN: sum(value * position) mod 23, as a letter."""
    total = 0
    for position, char in enumerate(upn[1:13], start=2):
        value = int(char) if char.isdigit() else UPN_LETTERS.index(char)
        total += value * position
    return UPN_LETTERS[total % 23]


def clean_upn(value: object) -> Cleaned:
    """13 characters: check letter, 11 digits, then a digit (permanent) or letter (temporary UPN)."""
    text = _compact(value)
    if not _UPN_SHAPE.fullmatch(text):
        return None, (
            f"UPN {value!r} is not a letter, 11 digits and a final digit or letter "
            f"(letters from {UPN_LETTERS}; e.g. B801200005001)"
        )
    expected = upn_check_letter(text)
    if text[0] != expected:
        return None, f"UPN {value!r} has check letter {text[0]}, expected {expected}"
    return text, None


# --- National Insurance number ----------------------------------------------------------------------

_NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]?")


def clean_ni_number(value: object) -> Cleaned:
    """Two prefix letters, six digits, suffix A-D (a missing suffix is accepted: some systems drop it).

    There is no check digit; the prefix rules exclude D, F, I, Q, U, V, O-second and unallocated pairs.
    """
    text = _compact(value)
    if not _NINO.fullmatch(text):
        return None, (
            f"NI number {value!r} is not a valid format (two allowed prefix letters, six digits, "
            "suffix A-D; e.g. AB 12 34 56 C)"
        )
    return text, None


# --- UPRN -------------------------------------------------------------------------------------------

_UPRN = re.compile(r"[1-9]\d{0,11}")


def clean_uprn(value: object) -> tuple[int | None, str | None]:
    """An integer of up to 12 digits with no leading zero; no check digit exists."""
    text = _compact(value)
    if not _UPRN.fullmatch(text):
        return None, f"UPRN {value!r} is not an integer of 1 to 12 digits without a leading zero"
    return int(text), None
