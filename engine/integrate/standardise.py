"""Standard forms for names, dates, postcodes, sex and addresses as councils' systems export them.

Every function is pure and raises :class:`ValueError` (with a sentence a data officer understands)
when a value cannot be read; ingest turns that into a quarantine reason naming the row and field.

Examples:
    >>> split_full_name("SMITH-JONES, Mary Anne", "SURNAME, Forename")
    ('MARY', 'ANNE', 'SMITH-JONES')
    >>> parse_date("12 Mar 2015")
    datetime.date(2015, 3, 12)
    >>> normalise_postcode("sw1a1aa")
    ('SW1A 1AA', None)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

# --- names ------------------------------------------------------------------------------------------

TITLES = frozenset(
    "MR MRS MS MISS MX MASTER DR PROF REV REVD SIR DAME LADY LORD FR SR".split()
)

#: Nicknames and spelling variants -> the canonical given name matching compares. Names that are now
#: given in their own right (Liam, Jack, Harry, Ellie, Jamie) are deliberately absent.
NICKNAMES: dict[str, str] = {
    "BILL": "WILLIAM", "BILLY": "WILLIAM", "WILL": "WILLIAM", "WILLIE": "WILLIAM",
    "BOB": "ROBERT", "BOBBY": "ROBERT", "ROB": "ROBERT", "ROBBIE": "ROBERT",
    "DICK": "RICHARD", "RICH": "RICHARD", "RICHIE": "RICHARD", "RICKY": "RICHARD",
    "JIM": "JAMES", "JIMMY": "JAMES",
    "MIKE": "MICHAEL", "MICK": "MICHAEL", "MICKY": "MICHAEL",
    "TOM": "THOMAS", "TOMMY": "THOMAS", "DAVE": "DAVID", "DAVY": "DAVID",
    "ALEX": "ALEXANDER", "SANDY": "ALEXANDER",
    "CHRIS": "CHRISTOPHER", "DAN": "DANIEL", "DANNY": "DANIEL",
    "JOE": "JOSEPH", "JOEY": "JOSEPH", "JOHNNY": "JOHN", "JON": "JONATHAN",
    "STEVE": "STEPHEN", "STEVEN": "STEPHEN", "TONY": "ANTHONY", "ANDY": "ANDREW",
    "BEN": "BENJAMIN", "SAM": "SAMUEL", "NICK": "NICHOLAS", "PETE": "PETER", "MATT": "MATTHEW",
    "ED": "EDWARD", "EDDIE": "EDWARD", "TED": "EDWARD", "FRED": "FREDERICK",
    "CHARLIE": "CHARLES", "CHAS": "CHARLES", "GEOFF": "GEOFFREY", "KEN": "KENNETH", "LEN": "LEONARD",
    "SALLY": "SARAH", "LIZ": "ELIZABETH", "BETH": "ELIZABETH", "BETTY": "ELIZABETH", "LIZZIE": "ELIZABETH",
    "KATE": "KATHERINE", "KATIE": "KATHERINE", "KATHY": "KATHERINE",
    "CATHERINE": "KATHERINE", "KATHRYN": "KATHERINE", "MAGGIE": "MARGARET", "MEG": "MARGARET",
    "PEGGY": "MARGARET", "JENNY": "JENNIFER", "JEN": "JENNIFER", "SUE": "SUSAN", "SUZY": "SUSAN",
    "MANDY": "AMANDA", "BECKY": "REBECCA", "BECCA": "REBECCA", "VICKY": "VICTORIA", "TORI": "VICTORIA",
    "DEBBIE": "DEBORAH", "DEBRA": "DEBORAH", "ABBY": "ABIGAIL", "ABI": "ABIGAIL",
    "NIKKI": "NICOLA", "JO": "JOANNE", "TRACY": "TRACEY",
    "MO": "MOHAMMED", "MOHAMMAD": "MOHAMMED", "MOHAMED": "MOHAMMED", "MUHAMMAD": "MOHAMMED",
    "MUHAMMED": "MOHAMMED", "MOHAMAD": "MOHAMMED", "MAHOMED": "MOHAMMED",
    "MOHD": "MOHAMMED", "MD": "MOHAMMED", "MUHAMAD": "MOHAMMED",
}

_HYPHENS = re.compile(r"\s*[\-\u2010\u2011\u2012\u2013\u2014\u2212]+\s*")
_NOT_NAME = re.compile(r"[^A-Z \-]")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """``Zoë Müller`` -> ``Zoe Muller`` (decompose, drop combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=200_000)
def _normalise_name_text(text: str) -> str | None:
    text = strip_accents(text).upper()
    text = text.replace("'", "").replace("\u2019", "").replace(".", " ")
    text = _HYPHENS.sub("-", text)
    text = _NOT_NAME.sub(" ", text)
    text = _SPACES.sub(" ", text).strip(" -")
    return text or None


def normalise_name(value: object) -> str | None:
    """Upper-case ASCII name: accents removed, apostrophes and dots dropped, hyphens tightened.

    ``"  o'Brien-  Smith "`` -> ``"OBRIEN-SMITH"``; an empty value -> ``None``.
    """
    if value is None:
        return None
    return _normalise_name_text(str(value))


def _drop_titles(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] in TITLES:
        tokens = tokens[1:]
    return tokens


def split_given_names(value: object) -> tuple[str | None, str | None]:
    """``"Dr Mary-Ann Jane"`` -> ``("MARY-ANN", "JANE")``: titles removed, first token is the given name."""
    text = normalise_name(value)
    tokens = _drop_titles(text.split(" ")) if text else []
    if not tokens:
        return None, None
    return tokens[0], " ".join(tokens[1:]) or None


def canonical_given_name(given: str | None) -> str | None:
    """The name matching compares: nicknames and spelling variants resolved (``BILL`` -> ``WILLIAM``)."""
    if given is None:
        return None
    return NICKNAMES.get(given, given)


def normalise_family_name(value: object) -> str | None:
    """Family name with double-barrelled forms kept: ``"Smith - Jones"`` -> ``"SMITH-JONES"``."""
    text = normalise_name(value)
    if text is None:
        return None
    tokens = text.split(" ")
    # A title left in a surname column ("Mrs Smith") is dropped, but never the whole name.
    return " ".join(_drop_titles(tokens) or tokens)


FULL_NAME_FORMATS = ("SURNAME, Forename", "Forename Surname")


def split_full_name(value: object, name_format: str) -> tuple[str | None, str | None, str | None]:
    """Split a one-column name into (given, middle, family) per ``name_format``.

    ``"SURNAME, Forename"`` splits at the first comma; ``"Forename Surname"`` takes the last token as
    the family name (a hyphenated surname is one token).
    """
    if value is None or not str(value).strip():
        return None, None, None
    text = str(value)
    if name_format == "SURNAME, Forename":
        if "," not in text:
            raise ValueError(f"name {text!r} has no comma; expected 'SURNAME, Forename'")
        family, _, rest = text.partition(",")
        given, middle = split_given_names(rest)
        return given, middle, normalise_family_name(family)
    if name_format == "Forename Surname":
        normalised = normalise_name(text)
        tokens = _drop_titles(normalised.split(" ")) if normalised else []
        if not tokens:
            return None, None, None
        if len(tokens) == 1:
            return None, None, tokens[0]
        return tokens[0], " ".join(tokens[1:-1]) or None, tokens[-1]
    raise ValueError(f"unknown name format {name_format!r}; use one of {', '.join(FULL_NAME_FORMATS)}")


# --- dates ------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_TEXT_DATE = re.compile(r"(\d{1,2})[\s\-/]+([A-Za-z]{3,9})\.?[\s\-/,]+(\d{2}|\d{4})")
_DMY = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+\-]\d{2}:?\d{2})?)?")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's serial 1 is 1900-01-01, counting its fictional 29 Feb 1900

DATE_FORMATS_HELP = (
    "ISO 2015-03-12, 12/03/2015, 12-03-15, 12.03.2015, 20150312, 12 Mar 2015, or an Excel serial"
)


def _two_digit_year(yy: int, pivot_year: int) -> int:
    """Years 00..(pivot % 100) are 20xx, later ones 19xx: a child born in '15' is 2015, an adult in '78' 1978."""
    return 2000 + yy if yy <= pivot_year % 100 else 1900 + yy


def parse_date(value: object, fmt: str | None = None, *, pivot_year: int | None = None) -> date:
    """Read a date in any format councils export (day first, never month first).

    ``fmt`` (a strptime format) is tried first when the feed declares one. Raises ValueError naming the
    formats it understands.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_serial(float(value), value)
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("date is empty")
    return _parse_date_text(text, fmt, pivot_year or date.today().year)


@lru_cache(maxsize=100_000)
def _parse_date_text(text: str, fmt: str | None, pivot: int) -> date:
    """The text part of :func:`parse_date`, cached: extracts repeat the same dates (terms, births)."""
    if fmt:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass  # fall through to the general formats: exports drift between months
    try:
        if m := _ISO.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(text):
            year = int(m[4]) if len(m[4]) == 4 else _two_digit_year(int(m[4]), pivot)
            return date(year, int(m[3]), int(m[1]))
        if re.fullmatch(r"(19|20)\d{6}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if m := _TEXT_DATE.fullmatch(text):
            month = _MONTHS.get(m[2][:3].upper())
            if month is not None:
                year = int(m[3]) if len(m[3]) == 4 else _two_digit_year(int(m[3]), pivot)
                return date(year, month, int(m[1]))
        if re.fullmatch(r"\d{5}(\.\d+)?", text):  # 1927 onwards; a bare year is not a serial
            return _excel_serial(float(text), text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None
    raise ValueError(f"cannot read {text!r} as a date; expected {DATE_FORMATS_HELP}"
                     + (f" or the declared format {fmt!r}" if fmt else ""))


def _excel_serial(serial: float, original: object) -> date:
    # Serials 1..2,958,465 are Excel's range; councils' dates fall in 1900-2100 (1..73,050).
    if not 1 <= serial <= 73050:
        raise ValueError(f"{original!r} is not an Excel date serial (1 to 73050)")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


# --- postcodes, sex, addresses ----------------------------------------------------------------------

POSTCODE_STRICT = re.compile(
    r"^(GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


@lru_cache(maxsize=200_000)
def _normalise_postcode_text(value: str) -> tuple[str | None, str | None]:
    compact = re.sub(r"[^A-Z0-9]", "", strip_accents(value).upper())
    if not compact:
        return None, None
    if len(compact) < 5 or len(compact) > 7:
        return compact, f"postcode {value!r} has {len(compact)} letters/digits; UK postcodes have 5 to 7"
    postcode = f"{compact[:-3]} {compact[-3:]}"
    if not POSTCODE_STRICT.match(postcode):
        return postcode, f"postcode {value!r} does not match the UK postcode pattern (kept as {postcode!r})"
    return postcode, None


def normalise_postcode(value: object) -> tuple[str | None, str | None]:
    """Upper case, spaces removed, one space before the inward code; returns (postcode, warning).

    A strict-pattern failure is only a warning (BFPO and non-geographic codes exist).
    """
    if value is None:
        return None, None
    return _normalise_postcode_text(str(value))


_SEX = {
    "F": "F", "FEMALE": "F", "W": "F", "WOMAN": "F", "GIRL": "F", "2": "F",
    "M": "M", "MALE": "M", "MAN": "M", "BOY": "M", "1": "M",
    "X": "X", "INDETERMINATE": "X", "OTHER": "X", "NON-BINARY": "X", "9": "X",
    "U": "U", "UNKNOWN": "U", "NOT KNOWN": "U", "NOT STATED": "U", "0": "U",
}


def normalise_sex(value: object) -> str | None:
    """F, M, X or U from the codes systems use (F/Female/2, M/Male/1, ...); raises on anything else."""
    if value is None or not str(value).strip():
        return None
    key = str(value).strip().upper()
    if key not in _SEX:
        raise ValueError(f"sex {value!r} is not one of F, M, X, U (or Female, Male, Other, Unknown)")
    return _SEX[key]


_ADDRESS_WORDS = {
    "RD": "ROAD", "ST": "STREET", "AVE": "AVENUE", "AV": "AVENUE", "CL": "CLOSE", "CRES": "CRESCENT",
    "DR": "DRIVE", "GDNS": "GARDENS", "GRN": "GREEN", "GR": "GROVE", "LN": "LANE", "PL": "PLACE",
    "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE", "CT": "COURT", "HSE": "HOUSE", "FLT": "FLAT",
}


def normalise_address(parts: list[object]) -> str | None:
    """One upper-case line: parts joined, punctuation dropped, common abbreviations expanded."""
    return _normalise_address_parts(tuple(None if p is None else str(p) for p in parts))


@lru_cache(maxsize=200_000)
def _normalise_address_parts(parts: tuple[str | None, ...]) -> str | None:
    words: list[str] = []
    for part in parts:
        if part is None:
            continue
        text = re.sub(r"[^A-Z0-9 ]", " ", strip_accents(str(part)).upper())
        words.extend(_ADDRESS_WORDS.get(w, w) for w in text.split())
    return " ".join(words) or None
