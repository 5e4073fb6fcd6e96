"""The generated feeds.yaml loads with the real ingester, and its quarantine matches the planted defects.

Also cross-checks the generator's identifier rules against engine.integrate's validators. Both are
skipped only when the integration package is absent from the checkout.
"""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from borough.generator import identifiers as ids

from .conftest import read_csv

needs_integrate = pytest.mark.skipif(importlib.util.find_spec("engine.integrate.ingest") is None,
                                     reason="engine.integrate is not in this checkout")


@needs_integrate
def test_identifiers_agree_with_engine_validators(borough):
    """Every generated NHS number, UPN and NINO is accepted by the ingester's own cleaners."""
    from engine.integrate import identifiers as engine_ids

    persons = read_csv(borough / "truth" / "persons.csv")
    for person in persons:
        assert engine_ids.clean_nhs_number(person["nhs_number"])[1] is None
        if person["upn"]:
            assert engine_ids.clean_upn(person["upn"])[1] is None
        if person["ni_number"]:
            assert engine_ids.clean_ni_number(person["ni_number"])[1] is None
    for body in ("801200005001", "207000016049", "999200119123"):
        assert engine_ids.upn_check_letter("?" + body) == ids.upn_check_letter(body)


@needs_integrate
def test_generated_feeds_ingest_and_reconcile(borough, tmp_path):
    """All feeds load; rows in = accepted + quarantined; rejected rows are exactly the planted bad dates."""
    from engine.integrate.feeds import load_feeds
    from engine.integrate.ingest import ingest
    from engine.storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'borough.db'}")
    report = ingest(engine, load_feeds(borough / "feeds.yaml"))
    engine.dispose()
    assert not report.unreadable
    loaded = [f for f in report.files if f.status == "loaded"]
    assert {f.feed for f in loaded} >= {"school_attendance", "police_crime", "early_years", "council_tax"}
    assert all(f.reconciles for f in loaded)
    quarantined = Counter()
    for file in loaded:
        quarantined[file.feed] += file.quarantined
    planted = Counter(d["feed"] for d in read_csv(borough / "truth" / "defects.csv") if d["defect"] == "bad_date")
    assert +quarantined == +planted
