"""Measure SCALE-Sim 3.0.0's per-layer compute cycles once and write them as the test suite's
independent reference (``tests/data/scalesim_cycles.csv``).

    python benchmarks/scalesim_reference.py --scalesim-python /tmp/venv-scalesim/bin/python

The python must be a venv's holding scalesim==3.0.0 and numpy 2.3.5 (it fails under numpy 2.4;
see README).  Each case is one network on one array in one dataflow; SCALE-Sim reads the
network as its own topology (``scalesim_topology_text``, or its GEMM form) and its
COMPUTE_REPORT gives one row per layer.  ``tests/test_scalesim_reference.py`` holds our closed
form and cycle-level model equal to these numbers, so they are data measured elsewhere, not a
copy of our formula.  The whole set takes a few minutes (SCALE-Sim's time grows with the
cycles it simulates); rerun it only to add cases.
"""
from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_sim import SCALESIM_CONFIG, _read_report  # noqa: E402

from accelsim.workload import builtin, scalesim_topology_text  # noqa: E402

OUT = Path(__file__).parents[1] / "tests" / "data" / "scalesim_cycles.csv"
# GEMMs of odd sizes (none divides an array side), in SCALE-Sim's GEMM form (M, N, K).
GEMMS = (("g1", 37, 19, 53), ("g2", 64, 100, 75), ("g3", 5, 130, 9), ("g4", 200, 3, 17))
# network name -> how to build it; every case below names one of these.
NETWORKS = {
    "resnet20": lambda: builtin("resnet20"),
    "resnet56": lambda: builtin("resnet56"),
    # Fashion-MNIST shapes (28 -> 14 -> 7: odd sizes after stride 2), half width, WRPN widening
    "resnet20_fmnist_w0.5_first30": lambda: builtin("resnet20", width=0.5, widen="first30",
                                                   image_size=28, in_channels=1,
                                                   num_classes=10),
    "gemms": None,
}
CASES = (  # network, rows, cols, dataflow
    ("resnet20", 32, 32, "os"), ("resnet20", 32, 32, "ws"), ("resnet20", 32, 32, "is"),
    ("resnet20", 16, 8, "ws"), ("resnet20", 8, 32, "os"), ("resnet20", 8, 8, "os"),
    ("resnet56", 32, 32, "ws"),
    ("resnet20_fmnist_w0.5_first30", 32, 32, "os"), ("resnet20_fmnist_w0.5_first30", 16, 16, "ws"),
    ("resnet20_fmnist_w0.5_first30", 32, 32, "is"),
    ("gemms", 8, 8, "os"), ("gemms", 8, 8, "ws"), ("gemms", 8, 8, "is"),
    ("gemms", 4, 16, "os"), ("gemms", 16, 4, "ws"), ("gemms", 4, 16, "is"),
)
COLUMNS = ("network", "rows", "cols", "dataflow", "layer", "scalesim_compute_cycles",
           "scalesim_version")


def topology(network: str) -> tuple[str, str]:
    """SCALE-Sim's topology text for a network, and its input mode (conv or gemm)."""
    if network == "gemms":
        return "Layer, M, N, K,\n" + "".join(f"{n}, {m}, {nn}, {k},\n"
                                             for n, m, nn, k in GEMMS), "gemm"
    return scalesim_topology_text(NETWORKS[network]()), "conv"


def run_case(python: str, network: str, rows: int, cols: int, dataflow: str) -> list[dict]:
    text, mode = topology(network)
    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "topo.csv").write_text(text)
        (tmp_path / "layout.csv").write_text("Layer name,\n")  # required, unused
        (tmp_path / "scale.cfg").write_text(
            SCALESIM_CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
        subprocess.run([python, "-m", "scalesim.scale", "-c", "scale.cfg", "-t", "topo.csv",
                        "-l", "layout.csv", "-p", "out", "-i", mode], cwd=tmp_path, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        compute = _read_report(tmp_path / "out" / "wrpn_dse_compare" / "COMPUTE_REPORT.csv")
    names = [line.split(",")[0].strip() for line in text.splitlines()[1:]]
    return [{"network": network, "rows": rows, "cols": cols, "dataflow": dataflow,
             "layer": name, "scalesim_compute_cycles": int(cycles),
             "scalesim_version": "3.0.0"}
            for name, cycles in zip(names, compute["Total Cycles"], strict=True)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scalesim-python", required=True,
                        help="python of a venv with scalesim==3.0.0 and numpy 2.3.5")
    parser.add_argument("--out", default=str(OUT), help=f"CSV to write (default {OUT})")
    args = parser.parse_args(argv)
    rows = []
    for case in CASES:
        start = time.perf_counter()
        rows += run_case(args.scalesim_python, *case)
        print(f"{case}: {time.perf_counter() - start:.1f} s", flush=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(buffer.getvalue())
    print(f"wrote {args.out} ({len(rows)} layers, {len(CASES)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
