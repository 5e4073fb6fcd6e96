"""Two records one source's extract lists apart are two people; joins of a name spelt another way."""

from __future__ import annotations

import itertools

import numpy as np

from engine.matching.comparisons import default_comparisons
from engine.matching.em import comparison_levels
from engine.matching.linker import _join_proposals
from engine.matching.listed_apart import listed_apart
from engine.matching.namesakes import FIRST_EXTRACT
from engine.matching.records import RecordTable

HOME = {"address": "8 BEECH ROAD HEARTHWICK", "postcode": "HW1 0AX", "uprn": "100091000239"}
COUNCIL_TAX = "council_tax 2026-08-01"


def _register(key: str, given: str, family: str = "MALIK", extract: str = COUNCIL_TAX, **fields) -> dict:
    return {"record_key": key, "given_name": given, "family_name": family, **HOME, FIRST_EXTRACT: extract, **fields}


def _apart(rows: list[dict]) -> tuple[set[tuple[str, str]], RecordTable, list, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of ``rows`` compared; the pairs listed apart, by record key."""
    table = RecordTable.from_rows(rows)
    comparisons = default_comparisons(table)
    pairs = np.array(list(itertools.combinations(range(len(rows)), 2)))
    left, right = pairs[:, 0], pairs[:, 1]
    gamma = comparison_levels(table, comparisons, left, right)
    found = listed_apart(table, comparisons, left, right, gamma)
    return {(table.keys[i], table.keys[j]) for i, j in found}, table, comparisons, left, right, gamma


def test_one_extract_listing_two_near_names_at_one_home_lists_two_people() -> None:
    """AMIR and AMIRA MALIK, both on council tax's first extract at 8 Beech Road, are two people;
    the same two names from two sources say nothing of the kind."""
    rows = [_register("ct:1", "AMIR"), _register("ct:2", "AMIRA"),
            _register("er:1", "AMIRA", extract="electoral_roll 2026-08-01")]
    apart, *_ = _apart(rows)
    assert apart == {("ct:1", "ct:2")}


def test_copies_and_retyped_rows_of_one_extract_stay_linkable() -> None:
    """A duplicate row (the same name) and a row typed again with the same date of birth may be one
    person; a record a source starts to hold in a later extract is not listed apart either."""
    rows = [
        _register("er:1", "JONAS", "HORVATH", "electoral_roll 2026-08-01"),
        _register("er:2", "JONAS", "HORVATH", "electoral_roll 2026-08-01"),
        _register("sc:1", "CHRISTOPHER", "HOLMES", "school 2026-08-01", date_of_birth="2011-01-01"),
        _register("sc:2", "CHRISTOHPER", "HOLMES", "school 2026-08-01", date_of_birth="2011-01-01"),
        _register("ct:3", "AMIR", extract="council_tax 2026-09-01"),
        _register("ct:4", "AMIRA"),
    ]
    apart, *_ = _apart(rows)
    assert apart == set()


def test_one_extract_listing_a_name_at_two_homes_lists_two_people() -> None:
    """LI WANG on the electoral roll at 39 Cedar Road and at Flat 12 Cedar Lodge is two people; one
    home written two ways, or a record naming only a postcode, is not two homes."""
    electoral_roll = "electoral_roll 2026-08-01"
    rows = [
        _register("er:1", "LI", "WANG", electoral_roll, address="39 CEDAR ROAD HEARTHWICK", postcode="HW1 0DP",
                  uprn="100091000700"),
        _register("er:2", "LI", "WANG", electoral_roll, address="FLAT 12 CEDAR LODGE CEDAR ROAD",
                  postcode="HW1 0DY", uprn="100091000800"),
        _register("er:3", "LI", "WANG", electoral_roll, address="39 CEDAR RD HEARTHWICK", postcode="HW1 0DP",
                  uprn=None),
        {"record_key": "er:4", "given_name": "LI", "family_name": "WANG", "postcode": "HW1 0DY",
         FIRST_EXTRACT: electoral_roll},
    ]
    apart, *_ = _apart(rows)
    assert apart == {("er:1", "er:2"), ("er:2", "er:3")}


def test_one_extract_with_two_birth_dates_lists_two_people_wherever_they_live() -> None:
    """Two employment records of one extract, JONATHAN JONES born 1972 and JONATHAN JOHNSON born 1984,
    are two people although only a postcode is known; a birth date keyed with a slip is not."""
    employment = "employment 2026-08-01"
    rows = [
        {"record_key": "emp:1", "given_name": "JONATHAN", "family_name": "JONES", "date_of_birth": "1972-05-19",
         "postcode": "HW1 0DT", FIRST_EXTRACT: employment},
        {"record_key": "emp:2", "given_name": "JONATHAN", "family_name": "JOHNSON", "date_of_birth": "1984-09-04",
         "postcode": "HW1 0DT", FIRST_EXTRACT: employment},
        {"record_key": "emp:3", "given_name": "JONATHAN", "family_name": "JONES", "date_of_birth": "1972-05-91",
         "postcode": "HW1 0DT", FIRST_EXTRACT: "employment 2026-09-01"},
        {"record_key": "emp:4", "given_name": "JONATHAN", "family_name": "JONES", "date_of_birth": "1972-05-18",
         "postcode": "HW1 0AA", FIRST_EXTRACT: employment},
    ]
    apart, *_ = _apart(rows)
    assert apart == {("emp:1", "emp:2"), ("emp:2", "emp:4")}


def test_without_first_extracts_nothing_is_listed_apart() -> None:
    rows = [{k: v for k, v in _register(f"ct:{i}", name).items() if k != FIRST_EXTRACT}
            for i, name in enumerate(["AMIR", "AMIRA"])]
    apart, *_ = _apart(rows)
    assert apart == set()


def test_join_proposals_by_kind() -> None:
    """The given name exact and the surname a near spelling proposes a namesake join; the surname exact
    and the given name spelt another way at one home proposes the third kind; nothing else does."""
    rows = [
        _register("er:1", "SAMIR", "NASSER", "electoral_roll 2026-08-01"),
        {"record_key": "dwp:1", "given_name": "SAMIR", "family_name": "NAASER", "date_of_birth": "1996-08-24",
         "postcode": "HW1 0DZ", FIRST_EXTRACT: "dwp 2026-08-01"},
        _register("ct:1", "ALEXANDER", "HORVATH"),
        _register("er:2", "ALEXANDRU", "HORVATH", "electoral_roll 2026-08-01"),
        _register("er:3", "ALEXANDRU", "HORVAT", "electoral_roll 2026-08-01",
                  address="3 CASTLE ROAD HEARTHWICK", postcode="HW1 0DZ", uprn="100091000999"),
    ]
    _, table, comparisons, left, right, gamma = _apart(rows)
    proposed = {kind: {(table.keys[i], table.keys[j]) for i, j in zip(left[mask], right[mask])}
                for kind, mask in _join_proposals(comparisons, gamma).items()}
    assert proposed == {
        "namesake": {("er:1", "dwp:1"), ("er:2", "er:3")},
        "surname changed at home": set(),
        "given name spelt another way at home": {("ct:1", "er:2")},
    }


def test_explain_match_says_when_a_pair_is_listed_apart(sqlite_url: str) -> None:
    """`hearth explain-match` on AMIR and AMIRA MALIK, listed at one home by council tax's first extract,
    says the pair is listed apart (never linked); the same name from a later extract is not."""
    from datetime import date, datetime

    import sqlalchemy as sa

    from engine.matching import store
    from engine.matching.explain import explain
    from engine.matching.pipeline import run_matching
    from engine.storage.db import make_engine
    from engine.storage.tables_ingest import batches, source_records

    engine = make_engine(sqlite_url)
    home = {"family_name": "MALIK", "address": "8 BEECH ROAD", "postcode": "HW1 2AB", "uprn": "990000000081"}
    rows = [("council_tax", "CT1", "AMIR", "b1"), ("council_tax", "CT2", "AMIRA", "b1"),
            ("council_tax", "CT3", "AMIRA", "b2")]
    with engine.begin() as conn:
        conn.execute(sa.insert(batches), [
            {"batch_id": batch, "feed": "council_tax", "source_path": "x.csv", "checksum": batch * 32,
             "extract_date": day, "loaded_at": datetime(2027, 3, 2), "rows_in": 2, "accepted": 2, "quarantined": 0,
             "fact_types": []} for batch, day in (("b1", date(2027, 1, 1)), ("b2", date(2027, 2, 1)))])
        conn.execute(sa.insert(source_records), [
            {"record_key": f"{feed}:{rid}", "feed": feed, "record_id": rid, "batch_id": batch,
             "first_seen_batch": batch, "given_name": given, "date_of_birth": None, **home}
            for feed, rid, given, batch in rows])
    run_matching(engine)
    with engine.connect() as conn:
        apart = explain(conn, "council_tax:CT1", "council_tax:CT2")
        later = explain(conn, "council_tax:CT1", "council_tax:CT3")
        person = store.current_assignments(conn)
    assert apart.listed_apart and person["council_tax:CT1"] != person["council_tax:CT2"]
    assert not later.listed_apart  # a record the source starts to hold later may be a re-registration
