"""The measurement behind training's default activation quantizer (README, "Choosing the
activation quantizer").

    python -m experiments.quantizer_choice --out data/quantizer_choice.csv   # ~25 min, 2 CPU cores

Trains, on the quick preset's schedule (5,000 Fashion-MNIST images, 3 epochs, width x0.5, seed 0),
ResNet-20 and ResNet-56 at w2a8 and w32a2 with WRPN's fixed [0, 1] clip and with PACT started
from two clip levels (Choi et al.'s 10, and 4), and writes one row per run: final test error and
the error after each epoch.  Resumes: rows already in --out are not trained again.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from accelsim.cli import ArgumentParser, UsageError  # noqa: E402
from accelsim.fileio import unwritable, write_atomic  # noqa: E402
from training import quant  # noqa: E402
from training.train import RunConfig, UserError, run  # noqa: E402

COLUMNS = ("model", "width", "wbits", "abits", "quantizer", "alpha_init", "top1_err",
           "test_err_by_epoch", "seconds")
GRID = [(model, w, a, q, alpha) for model in ("resnet20", "resnet56")
        for w, a in ((2, 8), (32, 2)) for q, alpha in (("wrpn", ""), ("pact", 4.0),
                                                         ("pact", 10.0))]


# The quick preset's schedule (experiments.reproduce): what the choice was measured on.
SCHEDULE = dict(dataset="fashion-mnist", width=0.5, epochs=3, subset=5000, seed=0)


def measure(out: Path, grid=GRID, schedule=SCHEDULE, log=print) -> list[dict]:
    """Train the runs of ``grid`` that --out lacks; return every row."""
    rows = list(csv.DictReader(open(out))) if out.is_file() else []
    done = {(r["model"], r["wbits"], r["abits"], r["quantizer"], r["alpha_init"]) for r in rows}
    default_alpha = quant.PACT_ALPHA_INIT
    for model, w, a, q, alpha in grid:
        if (model, str(w), str(a), q, str(alpha)) in done:
            continue
        quant.PACT_ALPHA_INIT = float(alpha) if alpha else default_alpha
        with tempfile.TemporaryDirectory() as tmp:
            cfg = RunConfig(model=model, wbits=w, abits=a, quantizer=q, out=f"{tmp}/run",
                            **schedule)
            start = time.perf_counter()
            res = run(cfg, log=lambda line: None)
        quant.PACT_ALPHA_INIT = default_alpha
        row = dict(model=model, width=schedule["width"], wbits=w, abits=a, quantizer=q, alpha_init=alpha,
                   top1_err=f"{res.test_err:.2f}",
                   test_err_by_epoch=" ".join(f"{h.test_err:.1f}" for h in res.history),
                   seconds=f"{time.perf_counter() - start:.0f}")
        rows.append({k: str(v) for k, v in row.items()})
        text = ",".join(COLUMNS) + "\n" + "".join(",".join(r[c] for c in COLUMNS) + "\n"
                                                  for r in rows)
        write_atomic(out, text)
        log(f"{model} w{w}a{a} {q} {alpha}: {res.test_err:.2f}%")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m experiments.quantizer_choice",
                        description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default="runs/quantizer_choice.csv", help="CSV to write (resumes)")
    try:
        a = ap.parse_args(argv)
        problem = unwritable(a.out)
        if problem:
            raise UsageError(f"--out {a.out}: {problem}")
        measure(Path(a.out))
    except (UsageError, UserError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
