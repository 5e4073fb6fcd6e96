"""Render :class:`ReportData` as one self-contained HTML file (inline CSS and SVG; no scripts, no network)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from engine.reporting import charts
from engine.reporting.model import ReportData
from engine.rules.results import acted_by

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f3b57;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:18px 28px;display:grid;grid-template-columns:repeat(auto-fit,minmax(600px,1fr));gap:18px}
section{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
section.wide{grid-column:1/-1}h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e3e8ee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#eef2f6}
.kpis{display:flex;gap:14px;flex-wrap:wrap}.kpi{background:#eef2f6;border-radius:6px;padding:10px 14px;min-width:120px}
.kpi b{display:block;font-size:22px}.kpi span{font-size:12px;color:#52606d}
.bad{color:#b8463f;font-weight:600}.ok{color:#2e7d4f}
svg .lbl{font-size:12px;fill:#33414e}svg .val{font-size:11px;fill:#33414e}svg .muted{font-size:11px;fill:#7b8794}
footer{padding:10px 28px 24px;font-size:12px;color:#52606d}
"""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _feed_table(data: ReportData) -> str:
    show_system = any(f.system for f in data.feeds)
    rows = []
    for f in data.feeds:
        flag = '<span class="ok">yes</span>' if f.reconciles else '<span class="bad">NO</span>'
        reasons = "; ".join(f"{escape(r)} ({n})" for r, n in f.top_reasons[:3])
        rows.append(
            f"<tr><td>{escape(f.feed)}</td>{f'<td>{escape(f.system)}</td>' if show_system else ''}<td>{f.batches}</td><td>{f.rows_in:,}</td>"
            f"<td>{f.accepted:,}</td><td>{f.quarantined:,}</td><td>{flag}</td><td style='text-align:left'>{reasons}</td></tr>"
        )
    total_in = sum(f.rows_in for f in data.feeds)
    total_acc = sum(f.accepted for f in data.feeds)
    total_q = sum(f.quarantined for f in data.feeds)
    rows.append(
        f"<tr><th>Total</th>{'<th></th>' if show_system else ''}<th></th><th>{total_in:,}</th><th>{total_acc:,}</th><th>{total_q:,}</th>"
        f"<th>{'yes' if total_in == total_acc + total_q else 'NO'}</th><th></th></tr>"
    )
    return (
        '<table data-table="reconciliation"><tr><th>Feed</th>'
        + ("<th>System</th>" if show_system else "")
        + "<th>Batches</th><th>Rows in</th><th>Accepted</th><th>Quarantined</th><th>Reconciles</th><th>Main quarantine reasons</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _override_section(data: ReportData) -> list[str]:
    """The human overrides the run's decisions applied (an auditor looks for them first); nothing when the
    report has no run."""
    if data.overrides is None:
        return []
    if not data.overrides:
        body = "<p>None: every result of this run is the rules' own.</p>"
    else:
        rows = "".join(
            f"<tr><td>#{o.override_id}</td><td>{escape(o.family_id)}</td><td>{escape(o.person_id or '')}</td>"
            f"<td>{escape(o.rule)}</td><td>{escape(o.value.replace('_', ' '))}</td>"
            f"<td>{escape(acted_by(o.actor, o.role))}</td><td>{o.created_at:%Y-%m-%d %H:%M}</td>"
            f"<td style='text-align:left'>{escape(o.reason)}</td><td style='text-align:left'>{escape(o.revoked)}</td></tr>"
            for o in data.overrides)
        body = ('<table data-table="overrides"><tr><th>Override</th><th>Family</th><th>Member</th><th>Criterion</th>'
                "<th>Set to</th><th>By</th><th>When (UTC)</th><th>Why</th><th>Revoked since</th></tr>"
                + rows + "</table>")
    return [f'<section class="wide"><h2>Human overrides applied in this run ({len(data.overrides)})</h2>{body}</section>']


def _kpis(data: ReportData) -> str:
    m = data.matching
    items = [
        ("Source records", f"{m.source_records:,}"),
        ("People (golden records)", f"{m.persons:,}"),
        ("Families", f"{data.families_total:,}"),
        ("Possible matches to review", f"{m.review_queue:,}"),
        ("Matching F1 vs truth", _pct(m.f1)),
        ("Eligibility agreement vs truth", _pct(m.eligibility_agreement)),
        ("Claims made", f"{data.claims_made:,}"),
        ("Claims value", f"£{data.claims_value:,.0f}"),
    ]
    return '<div class="kpis">' + "".join(f"<div class='kpi'><b>{v}</b><span>{escape(k)}</span></div>" for k, v in items) + "</div>"


def _pairs(counts) -> list[tuple[str, float]]:
    return [(c.label, c.value) for c in counts]


def render_report(data: ReportData) -> str:
    """The whole report as an HTML string."""
    m = data.matching
    matching_rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{v}</td></tr>"
        for k, v in [
            ("Pairwise precision", _pct(m.precision)),
            ("Pairwise recall", _pct(m.recall)),
            ("Pairwise F1", _pct(m.f1)),
            ("Family grouping accuracy", _pct(m.family_accuracy)),
            ("Eligibility agreement", _pct(m.eligibility_agreement)),
            ("Need agreement", _pct(m.need_agreement)),
        ]
    )
    trend = data.trend
    sections = [
        ('<section class="wide"><h2>Summary</h2>' + _kpis(data) + "</section>"),
        ('<section class="wide"><h2>Feed reconciliation (rows in = accepted + quarantined)</h2>' + _feed_table(data) + "</section>"),
        (
            "<section><h2>Rows by feed</h2>"
            + charts.bar_chart("feeds", "Accepted rows by feed", [(f.feed, f.accepted) for f in data.feeds])
            + "</section>"
        ),
        (
            "<section><h2>Matching quality</h2><table data-table=\"matching\"><tr><th>Measure</th><th>Value</th></tr>"
            + matching_rows
            + "</table></section>"
        ),
        (
            "<section><h2>Families by number of needs</h2>"
            + charts.column_chart("needs-count", "Families by number of needs", _pairs(data.families_by_need_count))
            + "</section>"
        ),
        (
            "<section><h2>Families with a need, by headline</h2>"
            + charts.bar_chart("headlines", "Families with a need under each headline", _pairs(data.families_by_headline))
            + "</section>"
        ),
        (
            "<section><h2>Eligibility (met / not met / unknown)</h2>"
            + charts.bar_chart(
                "eligibility", "Families by eligibility result", _pairs(data.eligibility),
                colours={"met": "#3c9d5d", "not met": "#6b7b8c", "unknown": "#e0a526"},
            )
            + "</section>"
        ),
        (
            "<section><h2>RAG rating</h2>"
            + charts.bar_chart("rag", "Families by RAG rating", _pairs(data.rag), colours=charts.RAG_COLOURS)
            + "</section>"
        ),
        (
            "<section><h2>Identify → attach → claim funnel</h2>"
            + charts.bar_chart("funnel", "Programme funnel", _pairs(data.funnel))
            + "</section>"
        ),
        (
            "<section><h2>Cases by state</h2>"
            + charts.bar_chart("cases", "Cases by lifecycle state", _pairs(data.cases_by_state))
            + "</section>"
        ),
        (
            "<section><h2>Claims against the annual cap</h2>"
            + charts.bar_chart(
                "claims", "Claims made against the cap", [("Claims made", data.claims_made)],
                cap=data.claims_cap,
            )
            + "</section>"
        ),
        *_override_section(data),
        (
            '<section class="wide"><h2>Trend over the simulated months</h2>'
            + charts.line_chart(
                "trend", "Eligible, attached and claimed families by month", [p.month for p in trend],
                {
                    "eligible": [p.eligible for p in trend],
                    "attached": [p.attached for p in trend],
                    "claimed": [p.claimed for p in trend],
                },
            )
            + "</section>"
        ),
    ]
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.notes)
    subtitle = " · ".join(
        x for x in [
            data.council,
            data.framework and f"framework {data.framework}",
            data.as_of and f"as of {data.as_of.isoformat()}",
            data.generated_at and f"generated {data.generated_at:%Y-%m-%d %H:%M}",
        ] if x
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(data.title)}</title>"
        f"<style>{_CSS}</style></head><body><header><h1>{escape(data.title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main>"
        f"<footer>All data synthetic. {'<ul>' + notes + '</ul>' if notes else ''}</footer></body></html>"
    )


def write_report(data: ReportData, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data), encoding="utf-8")
    return out
