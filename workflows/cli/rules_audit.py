"""``hearth profile | explain | replay | diff | audit verify | override set|list|revoke``.

The composition root for decisions: it loads frameworks with :mod:`dsl`, families with
:mod:`engine.integrate.snapshot`, and hands both to :mod:`engine.decisions`, which never imports
the rule language.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from engine.errors import ConfigError, IntegrityError
from workflows.cli.options import DB_OPTION, HOME_OPTION, open_db, workers_option


class _LazyConsole:
    """A console created when first printed to, so the terminal width is read at run time."""

    def __getattr__(self, name: str):
        return getattr(Console(highlight=False), name)


console = _LazyConsole()



# --------------------------------------------------------------------------------------------------
# Argument parsing


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2023-09-01") from None


def parse_moment(text: str | None, option: str = "--known-at") -> datetime | None:
    """An ISO date or datetime as naive UTC (a date means the end of that day; no zone means UTC)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.max.time())
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+00:00]"
        ) from None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def load_framework_file(path: str) -> Any:
    if not Path(path).exists():
        raise ConfigError(f"framework {path!r} does not exist; give a framework folder such as frameworks/phase3")
    from dsl import load_framework

    return load_framework(path)



# --------------------------------------------------------------------------------------------------
# Rendering


def print_profile(run, elapsed: float) -> None:
    s = run.summary
    table = Table(title=f"Profile run {run.run_id} as of {run.as_of} (known at {run.known_at:%Y-%m-%d %H:%M:%S} UTC)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("families", str(s.families))
    for value in ("met", "not_met", "unknown"):
        table.add_row(f"eligible: {value}", str(s.eligible[value]))
    table.add_row("families with something unknown", str(s.families_with_unknowns))
    table.add_row("unknown reasons (all families)", str(s.unknown_criteria))
    table.add_row("framework", run.framework_hash[:16])
    table.add_row("decisions", f"{run.decision_ids[0]} .. {run.decision_ids[-1]}" if run.decision_ids else "none")
    table.add_row("time: load / evaluate / write",
                  f"{run.seconds_loading:.2f}s / {run.seconds_evaluating:.2f}s / {run.seconds_writing:.2f}s")
    table.add_row("time: total", f"{elapsed:.2f}s")
    console.print(table)
    heads = Table(title="Families with each headline need")
    heads.add_column("headline")
    heads.add_column("met", justify="right")
    heads.add_column("unknown", justify="right")
    for code in sorted(set(s.needs_by_headline) | set(s.needs_unknown_by_headline)):
        heads.add_row(code, str(s.needs_by_headline[code]), str(s.needs_unknown_by_headline[code]))
    console.print(heads)
    if not s.families:
        print_no_families(run.as_of, run.known_at)


def print_no_families(as_of: date, known_at: datetime, to_stderr: bool = False) -> None:
    """The note after a run over no family (on stderr when stdout carries JSON or CSV)."""
    (Console(stderr=True, highlight=False) if to_stderr else console).print(
        f"[yellow]note:[/] no family had members on {as_of} in what was known at {known_at:%Y-%m-%d %H:%M} UTC; "
        "load feeds with `hearth ingest` and build families first")


# --------------------------------------------------------------------------------------------------
# Commands


def register(app: typer.Typer) -> None:  # noqa: C901 - one nested function per command
    audit_app = typer.Typer(help="Check the integrity of recorded decisions.", no_args_is_help=True)
    override_app = typer.Typer(help="Human overrides of a criterion for a family.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")
    app.add_typer(override_app, name="override")

    @app.command("profile")
    def profile_cmd(
        framework: str = typer.Option(..., "--framework", help="Framework folder or .hearth file."),
        as_of: str = typer.Option(..., "--as-of", help="Evaluation date, YYYY-MM-DD."),
        known_at: Optional[str] = typer.Option(None, "--known-at", help="Knowledge time, not later than now "
                                               "(default now)."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
        workers: int = workers_option("evaluating families"),
        trace: bool = typer.Option(False, "--trace", help="Store each rule's sub-criteria tree too (3x larger "
                                   "records; without it `hearth explain` re-derives the tree and checks it)."),
    ) -> None:
        """Evaluate every family as of a date and record one hash-chained decision per family."""
        import time

        from engine.decisions.profile import profile

        from engine.decisions.records import utc_now

        clock = time.perf_counter()
        moment, day = parse_moment(known_at), parse_date(as_of, "--as-of")
        now = utc_now()
        if moment is not None and moment > now:
            # Data loaded between now and then would be visible to the decision's replay, not to the decision.
            raise ConfigError(
                f"--known-at {known_at} is later than now ({now:%Y-%m-%d %H:%M} UTC"
                + (", and a date means the end of that day" if len(known_at or "") == 10 else "")
                + "): a decision records what was known at its knowledge time, so that a replay sees exactly "
                "that. Leave --known-at out to record what is known now, or give an earlier time.")
        fw = load_framework_file(framework)
        engine = open_db(db, home)
        # no loader: profile streams the snapshot in batches, each loaded by the worker evaluating it
        run = profile(engine, fw, day, moment, workers=workers, trace=trace)
        print_profile(run, time.perf_counter() - clock)

    @app.command("explain")
    def explain_cmd(
        family_id: str = typer.Argument(..., help="The family to explain."),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate fresh as of this date instead."),
        known_at: Optional[str] = typer.Option(None, "--known-at", help="Knowledge time for a fresh evaluation."),
        framework: Optional[str] = typer.Option(None, "--framework", help="Framework for a fresh evaluation "
                                                "(default: the one of the family's latest decision)."),
        decision: Optional[str] = typer.Option(None, "--decision", help="Explain this recorded decision of the "
                                               "family (e.g. the one a claim cites) instead of its latest."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for other tools."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Why (or why not) a family is eligible: the latest recorded decision, or a fresh evaluation."""
        from engine.decisions.lookup import explain_family

        engine = open_db(db, home)
        fw = load_framework_file(framework) if framework else None
        explained = explain_family(engine, family_id, as_of=parse_date(as_of, "--as-of") if as_of else None,
                                   known_at=parse_moment(known_at), framework=fw, decision_id=decision)
        if as_json:
            typer.echo(json.dumps(explained.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
            return
        console.print(explained.heading(), markup=False)
        typer.echo(explained.text)
        for line in explained.override_lines():
            typer.echo(line)

    @app.command("replay")
    def replay_cmd(
        decision_id: Optional[str] = typer.Argument(None, help="A decision id, e.g. D000000042."),
        run: Optional[str] = typer.Option(None, "--run", help="Replay every decision of this profile run "
                                          "instead (its id, e.g. R20250101T020000-1a2b3c, as `hearth profile` "
                                          "prints it)."),
        limit: int = typer.Option(20, "--limit", min=0, help="With --run: decisions that differ to list."),
        workers: int = workers_option("replaying a run's families"),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Re-evaluate a recorded decision (or a whole run's) from its stored framework and knowledge state."""
        from engine.decisions.replay import replay_decision

        if (decision_id is None) == (run is None):
            raise ConfigError("give a decision id (hearth replay D000000042) or --run RUN_ID, not both or neither")
        if run is not None:
            _replay_run(open_db(db, home), run, limit, as_json, workers)
            return
        report = replay_decision(open_db(db, home), decision_id)
        if as_json:
            typer.echo(json.dumps(_replay_json(report), indent=2, default=str))
        elif report.identical:
            console.print(f"{report.decision_id} (family {report.family_id}): identical "
                          f"({report.seconds * 1000:.0f} ms)")
        else:
            table = Table(title=f"{report.decision_id} (family {report.family_id}): "
                                f"{len(report.differences)} difference(s)")
            for name in ("path", "recorded", "replayed"):
                table.add_column(name, overflow="fold")
            for d in report.differences:
                table.add_row(d.path, json.dumps(d.recorded, default=str), json.dumps(d.replayed, default=str))
            console.print(table)
        if not report.record_intact:
            console.print(f"[red]warning:[/] {report.decision_id} no longer matches its record hash; "
                          "run `hearth audit verify`")
        raise typer.Exit(0 if report.identical and report.record_intact else 1)

    def _replay_json(report) -> dict:
        return {"decision_id": report.decision_id, "family_id": report.family_id, "identical": report.identical,
                "record_intact": report.record_intact, "seconds": round(report.seconds, 4),
                "differences": [vars(d) for d in report.differences]}

    def _replay_run(engine, run_id: str, limit: int, as_json: bool, workers: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from engine.decisions.replay import replay_run

        # (on a terminal's stderr only, and gone when done: the report, or its JSON, is all that stays)
        err = Console(stderr=True)
        with Progress(TextColumn(f"replaying {run_id}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as shown:
            task = shown.add_task("replay", total=None)
            report = replay_run(engine, run_id, workers=workers,
                                progress=lambda done, total: shown.update(task, completed=done, total=total))
        if as_json:
            typer.echo(json.dumps({
                "run_id": report.run_id, "framework_hash": report.framework_hash,
                "as_of": report.as_of.isoformat(), "known_at": report.known_at.isoformat(),
                "decisions": report.decisions, "identical": report.identical,
                "batches_problem": report.batches_problem, "seconds": round(report.seconds, 3),
                "differing": [_replay_json(found) for found in report.differing]}, indent=2, default=str))
            raise typer.Exit(0 if report.identical else 1)
        same = report.decisions - len(report.differing)
        console.print(f"Run {report.run_id} as of {report.as_of} (known at {report.known_at:%Y-%m-%d %H:%M:%S} UTC): "
                      f"{report.decisions:,} decisions replayed, {same:,} identical ({report.seconds:.1f} s)",
                      markup=False)
        if report.differing:
            shown = min(limit, len(report.differing))
            table = Table(title=f"{len(report.differing):,} decision(s) differ (first {shown}; "
                                "`hearth replay DECISION_ID` lists every difference of one)")
            for name in ("decision", "family", "differences", "first difference", "record intact"):
                table.add_column(name, overflow="fold")
            for found in report.differing[:limit]:
                first = found.differences[0] if found.differences else None
                table.add_row(found.decision_id, found.family_id, str(len(found.differences)),
                              "" if first is None else f"{first.path}: {json.dumps(first.recorded, default=str)} -> "
                                                       f"{json.dumps(first.replayed, default=str)}",
                              "yes" if found.record_intact else "NO")
            console.print(table)
        if report.batches_problem:
            console.print(f"[red]warning:[/] {report.batches_problem}; run `hearth audit verify`")
        raise typer.Exit(0 if report.identical else 1)

    @app.command("diff")
    def diff_cmd(
        from_fw: str = typer.Option(..., "--from", help="The framework in force (folder or file)."),
        to_fw: str = typer.Option(..., "--to", help="The framework to compare with."),
        as_of: str = typer.Option(..., "--as-of", help="Evaluation date, YYYY-MM-DD."),
        known_at: Optional[str] = typer.Option(None, "--known-at", help="Knowledge time (default now)."),
        family: Optional[str] = typer.Option(None, "--family", help="Compare this family only, showing every change."),
        show_all: bool = typer.Option(False, "--all", help="Also list every change of every family."),
        limit: int = typer.Option(20, "--limit", min=0, help="Families whose eligibility changes to list."),
        workers: int = workers_option("evaluating families"),
        as_csv: bool = typer.Option(False, "--csv", help="Print every change as CSV."),
        as_json: bool = typer.Option(False, "--json", help="Print the whole diff as JSON."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Which families change eligibility, needs or outcomes between two frameworks, and why."""
        from engine.decisions.diff import diff_snapshot
        from engine.decisions.evaluate import compile_for
        from engine.decisions.overrides import overrides_in_force
        from engine.decisions.records import utc_now
        from workflows.cli.diff_view import print_diff, write_diff_csv

        fw_a, fw_b = load_framework_file(from_fw), load_framework_file(to_fw)
        engine = open_db(db, home)
        moment = parse_moment(known_at) or utc_now()
        day = parse_date(as_of, "--as-of")
        with engine.connect() as conn:
            in_force = overrides_in_force(conn, moment, None if family is None else [family])
        compiled_a, compiled_b = compile_for(fw_a), compile_for(fw_b)
        if family is not None:  # one family: read and compare only it (every change shown)
            from engine.decisions.diff import diff_frameworks
            from engine.decisions.lookup import family_as_known

            report = diff_frameworks(compiled_a, compiled_b, [family_as_known(engine, family, day, moment)], day,
                                     in_force)
        else:
            report = diff_snapshot(engine, compiled_a, compiled_b, day, moment, in_force, workers)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        elif as_csv:
            write_diff_csv(report)
        else:
            labels = (f"{fw.header.id} {fw.header.version} [{fw.content_hash()[:12]}]" for fw in (fw_a, fw_b))
            print_diff(console, report, *labels, family=family, show_all=show_all, limit=limit)
        if not report.families:
            print_no_families(day, moment, to_stderr=as_json or as_csv)

    @audit_app.command("verify")
    def verify_cmd(db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION) -> None:
        """Walk the decision hash chain; exit 1 at the first broken link."""
        from engine.decisions.records import verify_chain

        with open_db(db, home).connect() as conn:
            report = verify_chain(conn)
        if report.intact:
            console.print(f"decision chain intact: {report.checked} decisions verified")
            return
        raise ChainBroken(report)

    @override_app.command("set")
    def override_set(
        family_id: str = typer.Argument(..., help="The family."),
        rule: str = typer.Argument(..., help="Need code, rule, role, eligible, claimable or NEED.achieved."),
        value: str = typer.Argument(..., help="met or not_met."),
        reason: str = typer.Option(..., "--reason", help="Why the rules' result is wrong for this family."),
        actor: str = typer.Option(..., "--actor", help="Who is making the override."),
        role: str = typer.Option(..., "--role", help="The role you act in: one the framework's lifecycle "
                                                     "authorises (`overrides by ROLE`)."),
        person: Optional[str] = typer.Option(None, "--person", help="Only for this member."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Record an override; later profiles apply it and explanations show it."""
        from engine.decisions.lookup import check_override_target
        from engine.decisions.overrides import set_override

        engine = open_db(db, home)
        check_override_target(engine, family_id, rule, role, person)
        with engine.begin() as conn:
            record = set_override(conn, family_id=family_id, rule=rule, value=value, reason=reason, actor=actor,
                                  role=role, person_id=person)
        console.print(f"recorded {record.describe()}")

    @override_app.command("revoke")
    def override_revoke(
        override_id: int = typer.Argument(..., help="The override's number (`hearth override list`)."),
        reason: str = typer.Option(..., "--reason", help="Why the override no longer holds."),
        actor: str = typer.Option(..., "--actor", help="Who is revoking it."),
        role: str = typer.Option(..., "--role", help="The role you act in: one the framework's lifecycle "
                                                     "authorises (`overrides by ROLE`)."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Revoke an override from now on (it stays on record and in force for earlier decisions)."""
        from engine.decisions.lookup import check_override_target
        from engine.decisions.overrides import find_override, revoke_override

        engine = open_db(db, home)
        with engine.connect() as conn:
            found = find_override(conn, override_id)
        check_override_target(engine, found.family_id, None, role)
        with engine.begin() as conn:
            revoke_override(conn, override_id, actor=actor, role=role, reason=reason)
        console.print(f"override #{override_id} revoked by {actor.strip()} (as {role.strip()})")

    @override_app.command("list")
    def override_list(
        family: Optional[str] = typer.Option(None, "--family", help="Only this family's overrides."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for other tools."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Every override recorded, with who, when, why, and whether it is still in force."""
        from engine.decisions.overrides import list_overrides

        with open_db(db, home).connect() as conn:
            records = list_overrides(conn, family)
        if as_json:
            typer.echo(json.dumps([r.to_dict() for r in records], indent=2))
            return
        table = Table(title=f"Overrides ({len(records)})")
        for name in ("id", "family", "person", "rule", "value", "actor", "role", "created (UTC)", "reason", "revoked"):
            table.add_column(name, overflow="fold")
        for r in records:
            table.add_row(str(r.override_id), r.family_id, r.person_id or "", r.rule, r.value, r.actor,
                          r.role or "(not recorded)", f"{r.created_at:%Y-%m-%d %H:%M:%S}", r.reason,
                          r.describe_revocation())
        console.print(table)


class ChainBroken(IntegrityError):
    """``hearth audit verify`` found a broken link."""

    exit_code = 1

    def __init__(self, report) -> None:
        where = f" at decision {report.broken_decision_id}" if report.broken_decision_id else ""
        super().__init__(f"decision chain broken{where} after {report.checked} intact decisions: "
                         f"{report.problem}. Tampering detected; restore the decisions table from a backup "
                         "and investigate who changed it.")
        self.report = report

