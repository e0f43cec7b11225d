"""Benchmarks of the design-space sweep (issue 5 targets; figures go in BENCHMARKS.md).

    python benchmarks/bench_sweep.py            # everything, about 2-4 minutes
    python benchmarks/bench_sweep.py --quick    # fewer repeats

1. pairs/s: the analytic engine's (design point x layer) pairs per second in one process
   pinned to one core (target >= 1e6), evaluation only (counts, memory, energy, per-point sums).
2. wall: a 10,000-point ResNet-56 sweep as whole `python -m dse.sweep` processes, imports,
   Pareto ranks and CSV writes included; the median of several runs (target < 10 s).
3. scaling with points: in-process sweep time at 1k..50k points (linear if time/point is flat).
4. scaling with Dask workers: the same 40,000-point sweep on a LocalCluster of 1 and 2 workers
   (the cluster's start is not timed).
Times are wall-clock on whatever machine runs it; say how many cores it has and whether it
was shared.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The 10,000-point sweep: 5 x 5 arrays, 5 weight and 4 activation widths, 4 SRAM sizes and
# 5 DRAM bandwidths, on ResNet-56 (CIFAR-10 shapes).
SWEEP_10K = ["--rows", "4:64:x2", "--cols", "4:64:x2", "--wbits", "1,2,4,8,32",
             "--abits", "2,4,8,16", "--sram-kb", "16,32,64,128", "--dram-bw", "4:64:x2"]


def _space(rows: int, cols: int, **extra):
    from dse.space import DesignSpace, build_networks
    hardware = dict(rows=list(range(1, rows + 1)), cols=list(range(1, cols + 1)),
                    dataflow=["os"], wbits=[2], abits=[8], acc_bits=[32], freq_mhz=[1000.0],
                    sram_kb=[64.0], dram_bw_bytes_per_cycle=[16.0], batch=[1])
    hardware.update(extra)
    networks = build_networks("resnet56", None, [1.0], ["none"], "cifar10")
    return DesignSpace(hardware, networks, ["none"])


def bench_pairs(repeats: int) -> dict:
    """Pairs per second of dse.evaluate.evaluate on one core."""
    from dse.evaluate import evaluate
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    space = _space(100, 100, dataflow=["os", "ws", "is"])  # 30,000 points
    points = space.points()
    networks = space.networks
    evaluate(points.iloc[:100], networks)  # warm caches
    pairs = len(points) * len(networks[0].layers)
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        evaluate(points, networks)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # CPU seconds of this process: what one core delivers when the machine is shared
    return {"points": len(points), "pairs": pairs, "median_s": statistics.median(times),
            "pairs_per_cpu_s": pairs / statistics.median(cpu),
            "best_s": min(times), "pairs_per_s_median": pairs / statistics.median(times),
            "pairs_per_s_best": pairs / min(times)}


def bench_wall(repeats: int) -> dict:
    """Whole-process wall time of the 10,000-point ResNet-56 sweep."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "dse.sweep", *SWEEP_10K, "--out",
                                   f"{tmp}/run{i}", "--progress", "off"], cwd=ROOT,
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        lines = Path(f"{tmp}/run0/sweep.csv").read_text().count("\n") - 1
    return {"points": lines, "runs_s": [round(t, 2) for t in times],
            "median_s": statistics.median(times)}


def bench_points(sizes: list[int]) -> list[dict]:
    """In-process sweep time (evaluation, accuracy join, Pareto ranks, CSV) vs points."""
    import dse.sweep as sweep
    rows = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        sweep.main(["--rows", "1:10", "--cols", "1:10", "--out", f"{tmp}/warm",
                    "--progress", "off", "--workers", "1"])
        for n in sizes:
            cols = n // 100
            start = time.perf_counter()
            sweep.main(["--rows", "1:100", "--cols", f"1:{cols}", "--out", f"{tmp}/n{n}",
                        "--progress", "off", "--workers", "1"])
            elapsed = time.perf_counter() - start
            rows.append({"points": 100 * cols, "s": elapsed,
                         "us_per_point": elapsed / (100 * cols) * 1e6})
    return rows


def bench_workers(points_count: int, workers: list[int]) -> list[dict]:
    """run_points on a LocalCluster of each size; the cluster start is not timed."""
    from distributed import Client, LocalCluster

    from dse.evaluate import evaluate
    space = _space(100, points_count // 100, dataflow=["os"])
    points = space.points()
    chunks = [points.iloc[i:i + 2000] for i in range(0, len(points), 2000)]
    rows = []
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            shared = client.scatter(space.networks, broadcast=True)
            client.gather(client.map(evaluate, chunks[:n], [shared] * n, pure=False))  # warm
            start = time.perf_counter()
            futures = [client.submit(evaluate, c, shared, pure=False) for c in chunks]
            client.gather(futures)
            elapsed = time.perf_counter() - start
        rows.append({"workers": n, "points": len(points), "s": elapsed})
    for row in rows:
        row["speedup"] = rows[0]["s"] / row["s"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    parser.add_argument("--only", default="1234", help="which parts to run, e.g. 12")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    print(f"machine: {os.cpu_count()} logical CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} at start")

    if "1" in args.only:
        pairs = bench_pairs(repeats)
        print(f"\n1. analytic engine, one core: {pairs['points']:,} points x 56 layers = "
              f"{pairs['pairs']:,} pairs in {pairs['median_s']:.3f} s (median of {repeats}; best "
              f"{pairs['best_s']:.3f} s) -> {pairs['pairs_per_s_median'] / 1e6:.2f} M pairs/s "
              f"median, {pairs['pairs_per_s_best'] / 1e6:.2f} M best; "
              f"{pairs['pairs_per_cpu_s'] / 1e6:.2f} M per CPU-second  (target >= 1 M)")

    if "2" in args.only:
        wall = bench_wall(repeats)
        print(f"\n2. 10,000-point ResNet-56 sweep, whole process: median "
              f"{wall['median_s']:.2f} s over {repeats} runs {wall['runs_s']} "
              f"({wall['points']:,} points; target < 10 s)")

    if "3" in args.only:
        sizes = ([1000, 5000, 10000, 20000] if args.quick
                 else [1000, 2000, 5000, 10000, 20000, 50000])
        print("\n3. scaling with points (in process, one worker):")
        print("| points | s | us/point |\n|---:|---:|---:|")
        for row in bench_points(sizes):
            print(f"| {row['points']:,} | {row['s']:.2f} | {row['us_per_point']:.0f} |")

    if "4" in args.only:
        print("\n4. scaling with Dask workers (LocalCluster, 40,000 points, start not timed):")
        print("| workers | s | speedup |\n|---:|---:|---:|")
        for row in bench_workers(40000, [1, 2]):
            print(f"| {row['workers']} | {row['s']:.2f} | {row['speedup']:.2f}x |")


if __name__ == "__main__":
    main()
