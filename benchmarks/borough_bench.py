"""Generation speed of the synthetic borough: seconds per stage, rows per feed, peak memory.

    .venv/bin/python benchmarks/borough_bench.py                 # 300,000 residents (the nightly size)
    .venv/bin/python benchmarks/borough_bench.py --residents 50000 --out /tmp/b50k

Prints figures; it asserts nothing (speed targets live here, never in timed tests).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from borough.generator import generate  # noqa: E402  (examples/ is not an installed package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="borough-bench-") as scratch:
        out = args.out or Path(scratch) / "borough"
        wall, cpu = time.perf_counter(), time.process_time()
        summary = generate(out, residents=args.residents, seed=args.seed, months=args.months)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"borough: {summary.residents:,} residents, {summary.households:,} households, "
          f"{len(summary.extracts)} extracts ({summary.extracts[0]} .. {summary.extracts[-1]})")
    print(f"  {'stage':<24} {'wall':>8}   {'cpu':>8}")
    for stage, seconds in summary.stage_seconds.items():
        print(f"  {stage:<24} {seconds:8.1f} s {summary.stage_cpu_seconds[stage]:8.1f} s")
    print(f"  {'total (wall)':<24} {wall:8.1f} s   cpu {cpu:.1f} s")
    print(f"  peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB, "
          f"{size / 1e6:,.0f} MB written")
    print("rows per feed:")
    for feed, rows in sorted(summary.feed_rows.items(), key=lambda item: -item[1]):
        print(f"  {feed:<24} {rows:>10,}")
    print(f"  {'total':<24} {summary.total_rows:>10,}")
    print(f"true facts: {sum(summary.fact_counts.values()):,}")


if __name__ == "__main__":
    main()
