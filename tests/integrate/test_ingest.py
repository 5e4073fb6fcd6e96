"""Ingest of the demo feeds: reconciliation, quarantine reasons, idempotence, versions, knowledge time."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine.integrate.ingest import ingest
from engine.storage.tables_ingest import batches, facts, quarantine, source_records
from tests.integrate.conftest import FEB, FEB_LOADED, JAN, JAN_LOADED


def _rows(engine, query):
    with engine.connect() as conn:
        return conn.execute(query).all()


def test_every_row_is_accepted_or_quarantined(engine, loaded) -> None:
    """Each file reconciles: rows in = accepted + quarantined, with the counts the demo was built with."""
    report = loaded((JAN,))
    counts = {f.feed: (f.rows_in, f.accepted, f.quarantined, f.warnings) for f in report.files}
    assert counts == {
        "school_census": (8, 5, 3, 1),
        "social_care": (6, 5, 1, 1),
        "housing": (5, 4, 1, 1),
    }
    assert all(f.reconciles and f.status == "loaded" for f in report.files)
    stored = _rows(engine, sa.select(batches.c.feed, batches.c.rows_in, batches.c.accepted, batches.c.quarantined))
    assert all(rows_in == acc + quar for _, rows_in, acc, quar in stored)


def test_quarantine_reasons_name_row_and_field(engine, loaded) -> None:
    """Rejected rows say which row and field failed and why."""
    loaded((JAN,))
    rejected = _rows(engine, sa.select(quarantine.c.feed, quarantine.c.row_number, quarantine.c.field,
                                       quarantine.c.reason).where(quarantine.c.severity == "rejected")
                     .order_by(quarantine.c.feed, quarantine.c.row_number))
    by_place = {(feed, number): (field, reason) for feed, number, field, reason in rejected}
    assert by_place[("school_census", 7)][0] == "dob"
    assert "unparseable date" in by_place[("school_census", 7)][1] and "31/02/2012" in by_place[("school_census", 7)][1]
    assert by_place[("school_census", 8)] == ("pupil_ref", "row 8: schema: required column 'pupil_ref' is missing or empty")
    assert by_place[("school_census", 9)][0] == "forename" and "encoding error" in by_place[("school_census", 9)][1]
    assert by_place[("social_care", 6)][0] == "category" and "team_around_family" in by_place[("social_care", 6)][1]
    assert by_place[("housing", 6)] == ("arrears", "row 6: rent_account.arrears (column 'arrears'): 'lots' is not a number")


def test_encoding_error_keeps_the_raw_bytes_visible(engine, loaded) -> None:
    """The quarantined Latin-1 row is stored with the bad byte shown as an escape, not lost."""
    loaded((JAN,))
    (raw,) = _rows(engine, sa.select(quarantine.c.raw).where(quarantine.c.field == "forename"))[0]
    assert raw["forename"] == "Zo\\xeb" and raw["pupil_ref"] == "P1008"


def test_bad_identifier_drops_the_value_but_keeps_row_and_facts(engine, loaded) -> None:
    """A failed NHS check digit is a warning: the record and its episode are stored without the number."""
    loaded((JAN,))
    (nhs,) = _rows(engine, sa.select(source_records.c.nhs_number).where(source_records.c.record_key == "social_care:CS-602"))[0]
    assert nhs is None
    episodes = _rows(engine, sa.select(facts.c.fact_id).where(facts.c.record_key == "social_care:CS-602"))
    assert episodes == [("social_care:social_care_episode:E5",)]
    warning = _rows(engine, sa.select(quarantine.c.reason).where(quarantine.c.field == "nhs_number"))[0][0]
    assert "mod-11" in warning and "row kept" in warning


def test_identity_rows_are_standardised(engine, loaded) -> None:
    """Names, nicknames, dates, postcodes and identifiers arrive in standard form."""
    loaded((JAN,))
    rows = {r.record_key: r for r in _rows(engine, sa.select(source_records))}
    sally = rows["housing:H001"]
    assert (sally.given_name, sally.given_name_as_written, sally.family_name) == ("SARAH", "SALLY", "THOMPSON")
    assert sally.date_of_birth == date(1985, 4, 12) and sally.ni_number == "JT123456A"
    assert sally.uprn == 100023336956 and sally.postcode == "LS6 2AB"
    assert rows["housing:H002"].given_name == "MOHAMMED"
    tracey = rows["social_care:CS-601"]
    assert (tracey.given_name, tracey.family_name, tracey.sex) == ("TRACEY", "OBRIEN", "F")
    assert tracey.household_ref == "social_care:G2"
    jayden = rows["school_census:P1004"]
    assert jayden.family_name == "OBRIEN-WALSH" and jayden.date_of_birth == date(2013, 3, 15)
    assert jayden.upn is None and jayden.parent_record_keys == ["housing:H003"]
    assert rows["school_census:P1003"].postcode == "LS7 1QR"
    assert rows["social_care:CS-501"].nhs_number == "9990001014"


def test_reloading_the_same_extract_adds_nothing(engine, loaded, demo) -> None:
    """A file whose checksum is already loaded is skipped as 'already loaded'."""
    loaded((JAN,))
    counts = [_rows(engine, sa.select(sa.func.count()).select_from(t))[0][0] for t in (batches, facts, quarantine, source_records)]
    again = ingest(engine, demo(JAN))
    assert {f.status for f in again.files} == {"already loaded"}
    assert [_rows(engine, sa.select(sa.func.count()).select_from(t))[0][0] for t in (batches, facts, quarantine, source_records)] == counts


def test_second_extract_adds_batches_and_versions(engine, loaded) -> None:
    """February adds a batch per feed, new facts, and a second version only for facts that changed."""
    loaded((JAN,))
    report = loaded((FEB,))
    assert [f.status for f in report.files].count("loaded") == 3
    assert [f.status for f in report.files].count("already loaded") == 3
    liam_autumn = _rows(engine, sa.select(facts.c.fields, facts.c.batch_id)
                        .where(facts.c.fact_id == "school_census:attendance:P1001|22/12/2023"))
    assert sorted(f["attended_sessions"] for f, _ in liam_autumn) == [119, 121]
    mia_autumn = _rows(engine, sa.select(facts.c.id).where(facts.c.fact_id == "school_census:attendance:P1002|22/12/2023"))
    assert len(mia_autumn) == 1  # restated unchanged: no new version
    episode = _rows(engine, sa.select(facts.c.end_date).where(facts.c.fact_id == "social_care:social_care_episode:E1"))
    assert sorted(episode, key=lambda r: r[0] or date.min) == [(None,), (date(2024, 2, 12),)]
    noah = _rows(engine, sa.select(source_records.c.first_seen_batch, source_records.c.batch_id)
                 .where(source_records.c.record_key == "school_census:P1007"))[0]
    assert noah[0] == noah[1] and noah[0].startswith("school_census:")


def test_moves_update_address_since(engine, loaded) -> None:
    """A record whose address changed points at the batch where the new address appeared."""
    loaded()
    rows = {r.record_key: r for r in _rows(engine, sa.select(source_records))}
    yusuf, liam = rows["school_census:P1003"], rows["school_census:P1001"]
    assert yusuf.uprn == 100023336990 and yusuf.address_since_batch == yusuf.batch_id != yusuf.first_seen_batch
    assert liam.address_since_batch == liam.first_seen_batch != liam.batch_id


def test_batches_record_extract_date_and_knowledge_time(engine, loaded) -> None:
    """Each batch keeps its extract date (from the path), load time, checksum and coverage start."""
    loaded()
    rows = _rows(engine, sa.select(batches.c.feed, batches.c.extract_date, batches.c.loaded_at, batches.c.checksum,
                                   batches.c.coverage_from, batches.c.fact_types).where(batches.c.feed == "housing")
                 .order_by(batches.c.extract_date))
    assert [(r.extract_date, r.loaded_at) for r in rows] == [(date(2024, 1, 31), JAN_LOADED), (date(2024, 2, 29), FEB_LOADED)]
    assert all(len(r.checksum) == 64 and r.coverage_from == date(2022, 4, 1) and r.fact_types == ["rent_account"]
               for r in rows)


def test_an_unchanged_file_in_a_new_extract_moves_coverage_on(engine, loaded, demo, tmp_path) -> None:
    """The same bytes sent again as next month's extract are a new batch with the new extract date (so the
    feed's coverage reaches it), while loading that extract twice still adds nothing."""
    import shutil

    loaded((JAN, FEB))
    feeds = demo()
    march = feeds.base_dir / "extracts" / "2024-03-31"
    shutil.copytree(feeds.base_dir / "extracts" / FEB, march)
    report = ingest(engine, demo(), pivot_year=2024)
    new = [f for f in report.files if f.status == "loaded"]
    assert len(new) == 3 and {f.extract_date for f in new} == {date(2024, 3, 31)}
    assert all(f.rows_in == f.accepted + f.quarantined for f in new)
    again = ingest(engine, demo(), pivot_year=2024)
    assert {f.status for f in again.files} == {"already loaded"}
    dates = {d for (d,) in _rows(engine, sa.select(batches.c.extract_date).distinct())}
    assert date(2024, 3, 31) in dates
