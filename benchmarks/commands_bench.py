"""The commands people run on a borough's database, timed: what a policy lead, an auditor and a data
officer wait for once the nightly pipeline has run.

    .venv/bin/python benchmarks/commands_bench.py --db sqlite:////tmp/b100k.db [--family F000004] \
        [--only explain,replay] [--repeat 5]

The database must hold a profiled borough (``benchmarks/pipeline_bench.py --borough B --db URL`` leaves
one). Each command runs as a user runs it - ``hearth ...`` in a fresh process - and the script prints
its wall time, CPU time (the process and its workers) and peak memory (the largest of them), from the
kernel's accounting of the child (``wait4``). Nothing is asserted; there are no targets, only figures. Commands that write (the report, the progress return) write into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEARTH = str(Path(sys.executable).with_name("hearth"))

#: the commands timed, in the order they run (``--only`` picks some)
COMMANDS = ("explain", "replay", "diff", "report", "progress", "audit")


def latest(db: str, family: str | None) -> tuple[str, str, str]:
    """The latest run's evaluation date, a family it decided (the one given, or its first eligible
    family) and that family's decision id."""
    from engine.storage.db import make_engine
    from engine.storage.tables_decisions import decision_runs, decisions

    engine = make_engine(db)
    with engine.connect() as conn:
        run = conn.execute(sa.select(decision_runs).order_by(decision_runs.c.finished_at.desc())).first()
        if run is None:
            raise SystemExit(f"{db} holds no profiling run; run benchmarks/pipeline_bench.py on it first")
        query = sa.select(decisions.c.family_id, decisions.c.decision_id).where(decisions.c.run_id == run.run_id)
        if family is not None:
            query = query.where(decisions.c.family_id == family)
        row = conn.execute(query.order_by(decisions.c.seq)).first()
    engine.dispose()
    if row is None:
        raise SystemExit(f"family {family} has no decision in run {run.run_id}")
    return run.as_of.isoformat(), row.family_id, row.decision_id


def timed(label: str, args: list[str], repeat: int = 1) -> None:
    """Run ``hearth ARGS`` in a child process (``repeat`` times) and print its wall, CPU (with its workers)
    and peak memory: with repeats, the least wall and CPU time of any run (what other jobs on the machine
    added least to) and the largest peak."""
    walls, cpus, peaks = [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            start = time.perf_counter()
            child = subprocess.Popen([HEARTH, *args], stdout=out, stderr=err, env={**os.environ, "COLUMNS": "150"})
            _, status, usage = os.wait4(child.pid, 0)  # this child's own accounting, its reaped workers included
            walls.append(time.perf_counter() - start)
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        cpus.append(usage.ru_utime + usage.ru_stime)
        peaks.append(usage.ru_maxrss / 1024)  # KB on Linux: the largest of the process and its workers
        if child.returncode != 0:
            break
    outcome = "ok" if child.returncode == 0 else f"exit {child.returncode}: {stderr.strip()[-200:]}"
    last = (stdout.strip().splitlines() or [""])[-1][:90]
    best = f" (best of {len(walls)})" if len(walls) > 1 else ""
    print(f"{label:<28} {min(walls):7.2f} s wall {min(cpus):7.2f} s CPU  peak {max(peaks):6,.0f} MB{best}  {outcome}"
          f"  | {last}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL of a profiled borough")
    parser.add_argument("--family", help="the family to explain and replay (default: the run's first)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each command this many times and print the fastest (default 1)")
    parser.add_argument("--only", help=f"comma-separated commands to time, of {','.join(COMMANDS)} (default: all)")
    args = parser.parse_args(argv)
    only = COMMANDS if args.only is None else tuple(name.strip() for name in args.only.split(","))
    unknown = sorted(set(only) - set(COMMANDS))
    if unknown:
        parser.error(f"--only: unknown command(s) {', '.join(unknown)}; choose from {','.join(COMMANDS)}")
    as_of, family, decision = latest(args.db, args.family)
    db = ["--db", args.db]
    phase2, phase3 = str(ROOT / "frameworks" / "phase2"), str(ROOT / "frameworks" / "phase3")
    print(f"{args.db}: latest run as of {as_of}; family {family}, decision {decision}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as out:
        timings = {
            "explain": ("explain one family", ["explain", family, *db]),
            "replay": ("replay one decision", ["replay", decision, *db]),
            "diff": ("diff phase 2 -> phase 3", ["diff", "--from", phase2, "--to", phase3, "--as-of", as_of, *db]),
            "report": ("report (HTML)", ["report", "--out", f"{out}/report.html", *db]),
            "progress": ("progress return", ["returns", "progress", "--period-start", as_of, "--period-end", as_of,
                                             "--actor", "bench", "--out", f"{out}/progress.csv", *db]),
            "audit": ("audit verify (whole chain)", ["audit", "verify", *db]),
        }
        for name in COMMANDS:
            if name in only:
                timed(*timings[name], repeat=max(1, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
