"""The HTML report: self-contained, every chart present, and it renders in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime

import pytest

from engine.reporting.html import render_report, write_report
from engine.reporting.model import (
    Count, FeedReconciliation, MatchingQuality, OverrideLine, ReportData, TrendPoint,
)

CHARTS = {"feeds", "needs-count", "headlines", "eligibility", "rag", "funnel", "cases", "claims", "trend"}


def _data() -> ReportData:
    return ReportData(
        framework="sf_phase3 1.0.0",
        as_of=date(2024, 3, 31),
        generated_at=datetime(2024, 4, 1, 9, 0),
        feeds=[
            FeedReconciliation(feed="school_attendance", system="School census", batches=3, rows_in=1200,
                               accepted=1190, quarantined=10, top_reasons=[("unparseable date", 7), ("bad UPN", 3)]),
            FeedReconciliation(feed="police_crime", system="Police <Niche>", batches=3, rows_in=400,
                               accepted=398, quarantined=2),
        ],
        matching=MatchingQuality(source_records=5000, persons=3100, review_queue=12, precision=0.99, recall=0.98, f1=0.985),
        families_total=900,
        families_by_need_count=[Count(label=str(i), value=v) for i, v in enumerate([500, 200, 120, 50, 30])],
        families_by_headline=[Count(label="Getting a good education", value=140), Count(label="Secure housing", value=60)],
        eligibility=[Count(label="met", value=80), Count(label="not met", value=800), Count(label="unknown", value=20)],
        rag=[Count(label="red", value=30), Count(label="amber", value=90), Count(label="green", value=780)],
        funnel=[Count(label="identified", value=80), Count(label="attached", value=50), Count(label="claimed", value=9)],
        cases_by_state=[Count(label="identified", value=30), Count(label="tracking", value=41)],
        claims_made=9, claims_value=7200, claims_cap=40,
        trend=[TrendPoint(month=f"2023-{m:02d}", eligible=50 + m, attached=30 + m, claimed=m // 3) for m in range(1, 13)],
    )


def test_report_is_self_contained_and_has_every_chart() -> None:
    """No external resource is referenced, every chart is there, user text is escaped, totals reconcile."""
    html = render_report(_data())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html
    assert {m for m in re.findall(r'data-chart="([^"]+)"', html)} == CHARTS
    assert "Police &lt;Niche&gt;" in html and "<Niche>" not in html
    assert "<th>1,600</th><th>1,588</th><th>12</th><th>yes</th>" in html


def test_overrides_the_run_applied_are_listed_with_who_and_why() -> None:
    """Each override the run applied is a row (its text escaped); a run without one says so; a report with
    no run says nothing about overrides."""
    data = _data()
    data.overrides = [OverrideLine(override_id=3, family_id="F000246", rule="eligible", value="not_met",
                                   actor="mo.manager", role="manager", created_at=datetime(2024, 3, 2, 10, 15),
                                   reason="moved <out>", revoked="revoked by b.lee (as manager) on 2024-03-20")]
    html = render_report(data)
    assert "Human overrides applied in this run (1)" in html
    assert ("<td>#3</td><td>F000246</td><td></td><td>eligible</td><td>not met</td><td>mo.manager (as manager)</td>"
            "<td>2024-03-02 10:15</td>") in html
    assert "moved &lt;out&gt;" in html and "revoked by b.lee" in html
    data.overrides = []
    assert "every result of this run is the rules' own" in render_report(data).replace("&#x27;", "'")
    assert "Human overrides" not in render_report(ReportData())


def test_unreconciled_feed_is_flagged() -> None:
    """A feed whose counts do not add up is shown as not reconciling."""
    data = _data()
    data.feeds[0].quarantined = 9
    assert '<span class="bad">NO</span>' in render_report(data)


def test_empty_report_renders_no_data_charts() -> None:
    """A report with no data still renders every chart, labelled 'No data'."""
    html = render_report(ReportData())
    assert html.count("No data") >= 7


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path) -> None:
    """Page loads in a real browser, charts have drawn bars, and the console shows no errors."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    path = write_report(_data(), tmp_path / "report.html")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        assert page.title() == "Hearth programme report"
        charts = page.eval_on_selector_all("svg[data-chart]", "els => els.map(e => e.dataset.chart)")
        assert set(charts) == CHARTS
        widths = page.eval_on_selector_all("svg[data-chart='rag'] rect.bar", "els => els.map(e => e.getBBox().width)")
        assert len(widths) == 3 and all(w > 0 for w in widths)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
