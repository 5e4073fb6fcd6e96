"""How a source system records a name: other spellings, nicknames, typing mistakes and name order."""

from __future__ import annotations

import random

from .name_pools import NICKNAMES, TRANSLITERATIONS

_KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo",
    "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "r": "et", "s": "ad",
    "t": "ry", "u": "yi", "v": "cb", "w": "qe", "y": "tu", "z": "x",
}


def spelling(name: str, rnd: random.Random, variant_share: float, nickname_share: float) -> str:
    """The spelling one system uses for ``name``: maybe a transliteration variant or a nickname."""
    variants = TRANSLITERATIONS.get(name)
    if variants and rnd.random() < variant_share:
        return variants[rnd.randrange(len(variants))]
    nicknames = NICKNAMES.get(name)
    if nicknames and rnd.random() < nickname_share:
        return nicknames[rnd.randrange(len(nicknames))]
    return name


def surname_form(surname: str, rnd: random.Random) -> str:
    """A double-barrelled surname as systems often hold it: with a space, or only one part."""
    if "-" not in surname:
        return surname
    draw = rnd.random()
    if draw < 0.25:
        return surname.replace("-", " ")
    if draw < 0.45:
        return surname.split("-")[-1]
    return surname


def typo(name: str, seed: int) -> str:
    """One typing mistake (drop, double, swap neighbours, or hit a neighbouring key), fixed by ``seed``.

    Examples:
        >>> typo("Thompson", 3) != "Thompson"
        True
        >>> typo("Thompson", 3) == typo("Thompson", 3)
        True
    """
    if len(name) < 3:
        return name
    rnd = random.Random(seed)
    at = rnd.randrange(1, len(name) - 1)
    kind = rnd.randrange(4)
    if kind == 0:
        return name[:at] + name[at + 1:]
    if kind == 1:
        return name[:at] + name[at] + name[at:]
    if kind == 2 and name[at] != name[at + 1]:
        return name[:at] + name[at + 1] + name[at] + name[at + 2:]
    neighbours = _KEYBOARD_NEIGHBOURS.get(name[at].lower(), "e")
    return name[:at] + neighbours[rnd.randrange(len(neighbours))] + name[at + 1:]


def surname_first(given: str, family: str) -> str:
    """The "SURNAME, Forename" form many case systems export.

    Examples:
        >>> surname_first("Aoife", "O'Brien-Walsh")
        "O'BRIEN-WALSH, Aoife"
    """
    return f"{family.upper()}, {given}"
