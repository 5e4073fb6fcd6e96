"""Minimal standardisation for matching input.

The data-integration area standardises feed rows before they reach ``source_records``; these helpers
exist so that ``hearth match`` can read any person CSV directly and so the matcher never depends on
how carefully a caller cleaned its input. They are idempotent: standardising a standardised value
returns it unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

_NON_ALNUM = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")
_TITLES = frozenset({"MR", "MRS", "MS", "MISS", "DR", "MX", "PROF", "SIR", "REV"})
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def clean_text(value: object) -> str | None:
    """Upper-case, strip accents and punctuation, collapse spaces; empty becomes ``None``.

    >>> clean_text("  O'Brien-Smith ")
    'OBRIEN SMITH'
    >>> clean_text("Zoë") , clean_text("  ")
    ('ZOE', None)
    """
    if value is None:
        return None
    text = str(value)
    if not text.isascii():  # ASCII has no accents to strip (NFKD leaves it as it is)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.upper()
    text = text.replace("'", "").replace("-", " ")
    text = _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).strip()
    return text or None


def clean_name(value: object) -> str | None:
    """A name without titles (``Mrs``, ``Dr``) and punctuation.

    >>> clean_name("Dr. Anne-Marie")
    'ANNE MARIE'
    """
    text = clean_text(value)
    if text is None:
        return None
    words = [w for w in text.split(" ") if w not in _TITLES]
    return " ".join(words) or None


def clean_date(value: object) -> str | None:
    """An ISO date string from the formats councils export; unparseable dates become ``None``.

    >>> clean_date("03/11/2012"), clean_date("19870504"), clean_date("not a date")
    ('2012-11-03', '1987-05-04', None)
    """
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None


def clean_postcode(value: object) -> str | None:
    """Upper case with one space before the inward code; anything unlike a UK postcode is kept as
    cleaned text so that other countries' codes (FEBRL's 4-digit ones) still compare exactly.

    >>> clean_postcode("sw1a1aa"), clean_postcode("2615")
    ('SW1A 1AA', '2615')
    """
    text = clean_text(value)
    if text is None:
        return None
    compact = text.replace(" ", "")
    match = _POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else compact


def clean_identifier(value: object) -> str | None:
    """Identifiers compare without spaces, hyphens or case.

    >>> clean_identifier("943 476 5919")
    '9434765919'
    """
    text = clean_text(value)
    return text.replace(" ", "") if text else None


def nhs_number_is_valid(value: str | None) -> bool:
    """Modulus-11 check (domain.md §5.1).

    >>> nhs_number_is_valid("9434765919"), nhs_number_is_valid("9876544321")
    (True, False)
    """
    if not value or len(value) != 10 or not value.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(value[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


def clean_sex(value: object) -> str | None:
    """F, M or X; unknown (U) and anything else is null, because 'unknown' agreeing is no evidence.

    >>> clean_sex("female"), clean_sex("U")
    ('F', None)
    """
    text = clean_text(value)
    if not text:
        return None
    first = text[0]
    return first if first in {"F", "M", "X"} else None


_NUMBERED_WORD = re.compile(r"[^ ]*[0-9][^ ]*")
_VOWEL_RUNS = re.compile(r"[AEIOUY]+")
_DOUBLED = re.compile(r"(.)\1+")
_SPELLING = (("PH", "F"), ("CK", "K"), ("Q", "K"), ("Z", "S"), ("W", "V"))


def name_skeleton(name: str) -> str | None:
    """A spelling-blind key for names written down from speech or transliterated from another script.

    Vowels (and Y) in a run become one ``A`` (the vowels are what transliteration varies most: O/U,
    EE/I, OU/U), doubled letters are written once, and a few English spellings of one sound are
    unified (PH/F, CK/K, Q/K, Z/S, W/V). The first letter is kept as written, so the key never
    joins names that start differently. Used as a comparison level below exact and one-typo matches,
    it catches MOHAMMED / MUHAMMAD / MOHAMED, YOUSSEF / YUSUF / YOUSEF and MAHMOOD / MAHMUD.

    >>> [name_skeleton(n) for n in ("MOHAMMED", "MUHAMMAD", "MOHAMED")]
    ['MAHAMAD', 'MAHAMAD', 'MAHAMAD']
    >>> name_skeleton("YOUSSEF") == name_skeleton("YUSUF"), name_skeleton("AMIR") == name_skeleton("AMIRA")
    (True, False)
    """
    first, rest = name[:1], name[1:]
    for written, sound in _SPELLING:
        rest = rest.replace(written, sound)
    rest = _VOWEL_RUNS.sub("A", _DOUBLED.sub(r"\1", rest))
    key = _DOUBLED.sub(r"\1", first + rest)
    return key.replace(" ", "") or None


def address_numbers(address: str) -> str | None:
    """The house and flat numbers of an address, in order of value: with a postcode they identify a
    dwelling (UK addressing), whatever the feed did to the street words.

    >>> address_numbers("FLAT 11 BIRCH LODGE BIRCH ROAD"), address_numbers("12 HIGH STREET FLAT 2")
    ('11', '2 12')
    >>> address_numbers("ROSE COTTAGE") is None
    True
    """
    # one regex pass finds the words holding a digit (a word-by-word, letter-by-letter test cost
    # more than all the other first-use caches together); str.isdigit also counts digits outside
    # ASCII, so other text keeps the letter test
    words = (_NUMBERED_WORD.findall(address) if address.isascii()
             else [t for t in address.split(" ") if any(ch.isdigit() for ch in t)])
    return " ".join(sorted(words, key=lambda t: (len(t), t))) or None
