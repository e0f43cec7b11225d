"""Mixed-precision search throughput: candidate evaluations per second, optimiser included.

    python benchmarks/bench_search.py [--generations 100] [--population 100] [--repeats 3]

Runs ``python -m dse.search``'s search (NSGA-II from pymoo, every generation priced in one call
of the vectorised analytic engine) on ResNet-20 x0.5 (Fashion-MNIST shapes) over arrays of 4 to
32 rows and columns, three dataflows, PE widths 1/2/4/8 x 2/4/8, four SRAM sizes, and 18 layers
each at weights 1/2/4/8 and activations 2/4/8, with the four objectives.  The accuracy model is
a synthetic sensitivity table (timing does not depend on its values).  Reports, per repeat, the
candidates priced and the wall time of the search, then the median.  Target (issue 16): 10,000
evaluations in under a minute on the project's 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim.formats import SENSITIVITY_COLUMNS
from dse import search

LAYERS = [f"stage{s}.block{b}.conv{c}" for s in (1, 2, 3) for b in (1, 2, 3) for c in (1, 2)]
TARGET_S = 60.0


def synthetic_sensitivity(folder: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [(layer, "w", b, 0.0, "", float(rng.normal(0.3, 0.2))) for layer in LAYERS
            for b in (1, 4, 8)]
    rows += [(layer, "a", b, 0.0, "", float(rng.normal(0.1, 0.1))) for layer in LAYERS
             for b in (2, 4)]
    pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).to_csv(folder / "sensitivity.csv",
                                                           index=False)
    (folder / "calibration.json").write_text(json.dumps(
        dict(reference_err_pct=27.5, wbits=2, abits=8, quantizer="pact")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--population", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sens = Path(tmp) / "sens"
        sens.mkdir()
        synthetic_sensitivity(sens)
        problem, objectives, _ = search.parse([
            "--sensitivity", str(sens), "--rows", "4:32:x2", "--cols", "4:32:x2",
            "--dataflow", "os,ws,is", "--wbits", "1,2,4,8", "--abits", "2,4,8",
            "--sram-kb", "16,32,64,128"])
        runs = []
        for k in range(a.repeats):
            start = time.perf_counter()
            evaluated = search.search(problem, objectives, a.population, a.generations, k,
                                      Path(tmp) / f"out{k}", log=lambda s: None)
            runs.append((len(evaluated), time.perf_counter() - start))
            print(f"  repeat {k + 1}: {runs[-1][0]:,} candidates priced in {runs[-1][1]:.1f} s "
                  f"({runs[-1][0] / runs[-1][1]:,.0f} per s)", flush=True)
    median = statistics.median(s for _, s in runs)
    count = statistics.median(n for n, _ in runs)
    print(f"search of {a.generations} generations x {a.population}: median {median:.1f} s for "
          f"{count:,.0f} evaluations ({count / median:,.0f} per s); target 10,000 in < "
          f"{TARGET_S:.0f} s: {'met' if count >= 9_900 and median < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
