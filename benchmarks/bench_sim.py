"""Speed of the cycle-level model on whole ResNets, and the same runs in SCALE-Sim.

    python benchmarks/bench_sim.py [--repeats 5] [--scalesim-python PATH] [--scalesim-cases ...]

For ResNet-20 and ResNet-56 (CIFAR-10 shapes, random ternary weights, 8-bit activations) on
8x8 and 32x32 arrays in each dataflow, it runs every layer through ``simulate_gemm`` once to
warm up, then ``--repeats`` times, and prints the median wall time, simulated PE-cycles per
second (clocks x rows x cols / time) and MACs per second, all on one core.

With ``--scalesim-python`` (the python of a venv holding scalesim==3.0.0 and numpy 2.3.5; it
fails under numpy 2.4), it also runs SCALE-Sim on the same topology for the cases named by
``--scalesim-cases`` and prints both times, their ratio, and whether SCALE-Sim's compute
cycles and its ifmap / filter SRAM reads equal ours.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from accelsim import ArrayConfig, dataflows, simulate_gemm
from accelsim.network import random_operands
from accelsim.workload import builtin, scalesim_topology_text

MODELS = ("resnet20", "resnet56")
SIZES = (8, 32)
DATAFLOWS = dataflows.NAMES

SCALESIM_CONFIG = """[general]
run_name = wrpn_dse_compare

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : 64
FilterSramSzkB : 64
OfmapSramSzkB : 64
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Dataflow : {dataflow}
Bandwidth : 10
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
FilterCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 10
IfmapSRAMBankPort : 2
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 10
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""


def time_network(model: str, size: int, dataflow: str, repeats: int) -> dict:
    cfg = ArrayConfig(rows=size, cols=size, wbits=2, abits=8, dataflow=dataflow)
    rng = np.random.default_rng(0)
    layers = builtin(model).layers
    operands = [random_operands(*layer.gemm(), cfg, rng) for layer in layers]

    def run_all():
        return [simulate_gemm(a, w, cfg) for a, w in operands]

    results = run_all()  # warm-up (and compilation, when the disk cache is cold)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_all()
        times.append(time.perf_counter() - start)
    wall = statistics.median(times)
    clocks = sum(r.clocks for r in results)
    macs = sum(r.macs for r in results)
    return {"model": model, "size": size, "dataflow": dataflow, "wall_s": wall,
            "cycles": sum(r.cycles for r in results), "macs": macs,
            "pe_cycles_per_s": clocks * size * size / wall, "macs_per_s": macs / wall,
            "ifmap_sram_reads": sum(r.ifmap_sram_reads for r in results),
            "filter_sram_reads": sum(r.filter_sram_reads for r in results),
            "overflows": sum(r.overflows for r in results)}


def run_scalesim(python: str, model: str, size: int, dataflow: str) -> dict:
    """One SCALE-Sim 3.0.0 run; its compute cycles and SRAM reads summed over layers."""
    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "topo.csv").write_text(scalesim_topology_text(builtin(model)))
        (tmp_path / "layout.csv").write_text("Layer name,\n")  # required, unused
        (tmp_path / "scale.cfg").write_text(
            SCALESIM_CONFIG.format(rows=size, cols=size, dataflow=dataflow))
        start = time.perf_counter()
        subprocess.run([python, "-m", "scalesim.scale", "-c", "scale.cfg", "-t", "topo.csv",
                        "-l", "layout.csv", "-p", "out", "-i", "conv"], cwd=tmp_path, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        report_dir = tmp_path / "out" / "wrpn_dse_compare"
        compute = _read_report(report_dir / "COMPUTE_REPORT.csv")
        access = _read_report(report_dir / "DETAILED_ACCESS_REPORT.csv")
    return {"wall_s": wall, "cycles": int(sum(compute["Total Cycles"])),
            "ifmap_sram_reads": int(sum(access["SRAM IFMAP Reads"])),
            "filter_sram_reads": int(sum(access["SRAM Filter Reads"]))}


def _read_report(path: Path) -> dict[str, list[float]]:
    lines = [line.rstrip().rstrip(",") for line in path.read_text().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split(",")]
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line in lines[1:]:
        for name, cell in zip(header, line.split(",")):
            columns[name].append(float(cell))
    return columns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--models", default=",".join(MODELS), help="default: resnet20,resnet56")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="default: 8,32")
    parser.add_argument("--scalesim-python", default=os.environ.get("SCALESIM_PYTHON"),
                        help="python of a venv with scalesim==3.0.0 (default: $SCALESIM_PYTHON; "
                             "without it SCALE-Sim is not run)")
    parser.add_argument("--scalesim-cases", default="resnet20:8:os",
                        help="model:size:dataflow cases to run in SCALE-Sim, comma-separated "
                             "(default resnet20:8:os; each takes minutes)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    ours = {}
    print(f"{'model':9} {'array':6} {'df':3} {'cycles':>10} {'median s':>9} "
          f"{'PE-cycles/s':>12} {'MACs/s':>10}")
    for model in args.models.split(","):
        for size in map(int, args.sizes.split(",")):
            for dataflow in DATAFLOWS:
                row = time_network(model, size, dataflow, args.repeats)
                ours[(model, size, dataflow)] = row
                print(f"{model:9} {size}x{size:<4} {dataflow:3} {row['cycles']:>10,} "
                      f"{row['wall_s']:>9.3f} {row['pe_cycles_per_s']:>12.3e} "
                      f"{row['macs_per_s']:>10.3e}", flush=True)
    if not args.scalesim_python:
        return 0
    print("\nSCALE-Sim 3.0.0 on the same topologies (one run each):")
    for case in args.scalesim_cases.split(","):
        model, size, dataflow = case.split(":")
        key = (model, int(size), dataflow)
        mine = ours.get(key) or time_network(model, int(size), dataflow, args.repeats)
        theirs = run_scalesim(args.scalesim_python, *key)
        same = {field: mine[field] == theirs[field]
                for field in ("cycles", "ifmap_sram_reads", "filter_sram_reads")}
        print(f"{model} {size}x{size} {dataflow}: SCALE-Sim {theirs['wall_s']:.1f} s, "
              f"{theirs['cycles']:,} cycles; ours {mine['wall_s']:.3f} s, {mine['cycles']:,} "
              f"cycles; SCALE-Sim/ours time ratio {theirs['wall_s'] / mine['wall_s']:.0f}x; "
              f"equal: {same}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
