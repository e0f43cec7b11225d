"""How much each layer's widths matter: the accuracy model of the mixed-precision search.

    python -m experiments.sensitivity --reference runs/quick/runs/t1-w2a8-s0/model.pt \\
        --out runs/sensitivity                     # ~10 minutes on 2 CPU cores (ResNet-20 x0.5)

From a trained CIFAR ResNet (the reference), for every layer it quantizes and every other width
of one operand (weights at 1, 2, 4 or 8 bits; the layer's input activations at 2, 4 or 8 bits;
everything else at the reference's widths), it measures the change of top-1 test error, in
points:
- ``proxy``: that one change applied to the trained weights and clip levels, no training (a
  calibration-free proxy, the cheap end of HAWQ-style sensitivity);
- ``finetuned``, on a seeded sample of ``--sample`` changes: the error after
  ``--finetune-epochs`` of training from the reference with the change, minus the error of the
  same fine-tune without it (same seed, data and schedule), which is what a searched design
  would get.
How well the proxy predicts fine-tuned accuracy on the sample (Pearson and Spearman
correlations, and the least-squares line finetuned = a x proxy + b) is written to
``calibration.json`` and printed.  ``sensitivity.csv`` (accelsim.formats.SENSITIVITY_COLUMNS)
holds every change; ``delta_pct``, the per-change estimate that ``python -m dse.search`` adds up
over a design's layers, is the fine-tuned delta where one was measured, else the mean
fine-tuned delta of the sampled changes of the same operand and width (at least two), else the
proxy through the fitted line.  (Measured on ResNet-20: the no-training proxy ranks changes
poorly, so the estimate leans on what fine-tuning measured; README gives the figures.)
Resumes: measured rows are kept.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from accelsim.cli import ArgumentParser, UsageError  # noqa: E402
from accelsim.fileio import write_atomic  # noqa: E402
from accelsim.formats import FP32_BITS, SENSITIVITY_COLUMNS  # noqa: E402
from training import data as datasets  # noqa: E402
from training import models  # noqa: E402
from training.train import RunConfig, UserError, evaluate, run, set_threads  # noqa: E402

WEIGHT_OPTIONS = (1, 2, 4, 8)
ACTIVATION_OPTIONS = (2, 4, 8)
FINETUNE_LR = 0.01   # peak of the one-cycle schedule: a tenth of training's, from trained weights


def changes(reference: models.ModelConfig) -> list[tuple[str, str, int]]:
    """(layer, operand, bits) for every quantized layer and every other width of one operand."""
    out = []
    for layer, (w, a) in reference.bits_by_layer().items():
        if w >= FP32_BITS or a >= FP32_BITS:
            continue  # WRPN's fp32 ends stay fp32
        out += [(layer, "w", b) for b in WEIGHT_OPTIONS if b != w]
        out += [(layer, "a", b) for b in ACTIVATION_OPTIONS if b != a]
    return out


def _policy(reference: models.ModelConfig, layer: str, operand: str, bits: int) -> dict:
    base = {n: (w, a) for n, w, a in reference.layer_bits}
    w, a = reference.bits_by_layer()[layer]
    return {**base, layer: (bits, a) if operand == "w" else (w, bits)}


def proxy_errors(reference_path: Path, todo: list, data: datasets.Dataset,
                 log=print) -> dict[tuple, float]:
    """Test error with each change applied to the trained weights (no training)."""
    reference = models.load(reference_path).config
    out = {}
    for k, (layer, operand, bits) in enumerate(todo, 1):
        model = models.load(reference_path, layer_bits=tuple(
            (n, w, a) for n, (w, a) in _policy(reference, layer, operand, bits).items()))
        out[(layer, operand, bits)] = evaluate(model, data.test)
        if k % 10 == 0:
            log(f"  proxy {k}/{len(todo)}")
    return out


def finetuned_error(reference_path: Path, run_cfg: dict, policy: dict | None, epochs: int,
                    seed: int) -> float:
    """Test error after ``epochs`` of training from the reference at ``policy``'s widths."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(model=run_cfg["model"], dataset=run_cfg["dataset"],
                        data_dir=run_cfg.get("data_dir"), wbits=run_cfg["wbits"],
                        abits=run_cfg["abits"], width=run_cfg["width"], widen=run_cfg["widen"],
                        quantize_ends=run_cfg.get("quantize_ends", False),
                        quantizer=run_cfg.get("quantizer", "wrpn"),
                        layer_bits=tuple((n, w, a) for n, (w, a) in (policy or {}).items()),
                        init=str(reference_path), epochs=epochs, lr=FINETUNE_LR,
                        subset=run_cfg.get("subset"), seed=seed, out=f"{tmp}/run",
                        accuracy_csv=f"{tmp}/accuracy.csv")
        return run(cfg, log=lambda line: None).test_err


def calibrate(rows: list[dict]) -> dict:
    """finetuned = a x proxy + b over the rows with both, and the two correlations."""
    pairs = [(r["proxy_delta_pct"], r["finetuned_delta_pct"]) for r in rows
             if r["finetuned_delta_pct"] is not None]
    if len(pairs) < 3:
        return dict(samples=len(pairs), slope=1.0, intercept=0.0, pearson=None, spearman=None)
    x, y = np.array(pairs).T
    slope, intercept = np.polyfit(x, y, 1)
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731 - ties are rare in real errors
    return dict(samples=len(pairs), slope=float(slope), intercept=float(intercept),
                pearson=float(np.corrcoef(x, y)[0, 1]),
                spearman=float(np.corrcoef(rank(x), rank(y))[0, 1]))


def estimate(row: dict, rows: list[dict], calibration: dict) -> float:
    """A change's delta: measured, else its operand-and-width group's mean measured delta,
    else the proxy through the fitted line (the rule of the module docstring)."""
    if row["finetuned_delta_pct"] is not None:
        return row["finetuned_delta_pct"]
    group = [r["finetuned_delta_pct"] for r in rows if r["finetuned_delta_pct"] is not None
             and (r["operand"], r["bits"]) == (row["operand"], row["bits"])]
    if len(group) >= 2:
        return float(np.mean(group))
    return calibration["slope"] * row["proxy_delta_pct"] + calibration["intercept"]


def measure(reference_path: str | os.PathLike, out: str | os.PathLike, sample: int = 12,
            finetune_epochs: int = 1, seed: int = 0, log=print) -> dict:
    """Write OUT/sensitivity.csv and OUT/calibration.json; return the calibration."""
    reference_path, out = Path(reference_path), Path(out)
    try:
        meta = models.load_config(reference_path)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"--reference: {err}") from None
    reference = models.load(reference_path).config
    if reference.name not in models.CIFAR_RESNETS:
        raise UserError(f"--reference {reference_path}: a CIFAR ResNet is needed (per-layer "
                        f"widths), this is {reference.name}")
    run_cfg = meta["run"]
    out.mkdir(parents=True, exist_ok=True)
    data = datasets.load(run_cfg["dataset"], run_cfg.get("data_dir"), run_cfg.get("subset"),
                         run_cfg.get("seed", 0))
    table_path = out / "sensitivity.csv"
    known = {}
    if table_path.is_file():
        for r in csv.DictReader(open(table_path)):
            known[(r["layer"], r["operand"], int(r["bits"]))] = r
    todo = [c for c in changes(reference) if c not in known]
    log(f"reference {reference_path}: {reference.name} x{reference.width} "
        f"w{reference.wbits}a{reference.abits} ({reference.quantizer}); "
        f"{len(changes(reference))} changes, {len(todo)} to measure")
    ref_err = evaluate(models.load(reference_path), data.test)
    proxies = proxy_errors(reference_path, todo, data, log)
    rows = [dict(layer=k[0], operand=k[1], bits=k[2],
                 proxy_delta_pct=float(r["proxy_delta_pct"]),
                 finetuned_delta_pct=float(r["finetuned_delta_pct"])
                 if r["finetuned_delta_pct"] else None) for k, r in known.items()]
    # Rounded as written, so that a resumed run calibrates on the very numbers of the file.
    rows += [dict(layer=k[0], operand=k[1], bits=k[2], proxy_delta_pct=round(err - ref_err, 3),
                  finetuned_delta_pct=None) for k, err in proxies.items()]
    sampled = sum(r["finetuned_delta_pct"] is not None for r in rows)
    candidates = [r for r in rows if r["finetuned_delta_pct"] is None]
    random.Random(seed).shuffle(candidates)
    picks = candidates[:max(0, sample - sampled)]
    if picks:
        control = finetuned_error(reference_path, run_cfg, dict(
            (n, (w, a)) for n, w, a in reference.layer_bits), finetune_epochs, seed)
        log(f"fine-tuned reference (no change): {control:.2f}% error")
        for k, r in enumerate(picks, 1):
            err = finetuned_error(reference_path, run_cfg,
                                  _policy(reference, r["layer"], r["operand"], r["bits"]),
                                  finetune_epochs, seed)
            r["finetuned_delta_pct"] = round(err - control, 3)
            log(f"  fine-tuned {k}/{len(picks)}: {r['layer']} {r['operand']}{r['bits']}: "
                f"{r['finetuned_delta_pct']:+.2f} points (proxy {r['proxy_delta_pct']:+.2f})")
    calibration = dict(calibrate(rows), reference=str(reference_path),
                       reference_err_pct=ref_err, finetune_epochs=finetune_epochs,
                       finetune_lr=FINETUNE_LR, model=reference.name, width=reference.width,
                       wbits=reference.wbits, abits=reference.abits,
                       quantizer=reference.quantizer, dataset=run_cfg["dataset"])
    for r in rows:
        r["delta_pct"] = estimate(r, rows, calibration)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, SENSITIVITY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in sorted(rows, key=lambda r: (list(reference.bits_by_layer()).index(r["layer"]),
                                         r["operand"], r["bits"])):
        writer.writerow({k: "" if r[k] is None else (f"{r[k]:.3f}" if isinstance(r[k], float)
                                                     else r[k]) for k in SENSITIVITY_COLUMNS})
    write_atomic(table_path, buf.getvalue())
    write_atomic(out / "calibration.json", json.dumps(calibration, indent=2) + "\n")
    log(f"proxy vs fine-tuned on {calibration['samples']} changes: finetuned = "
        f"{calibration['slope']:.2f} x proxy {calibration['intercept']:+.2f}; Pearson "
        f"{calibration['pearson']}, Spearman {calibration['spearman']}; wrote {table_path}")
    return calibration


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m experiments.sensitivity",
                        description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--reference", required=True, help="a trained CIFAR ResNet's model.pt")
    ap.add_argument("--out", default="runs/sensitivity", help="folder for sensitivity.csv and "
                    "calibration.json (rerun to resume)")
    ap.add_argument("--sample", type=int, default=12, help="changes also fine-tuned")
    ap.add_argument("--finetune-epochs", type=int, default=1, help="epochs of each fine-tune")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample and the fine-tunes")
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    try:
        a = ap.parse_args(argv)
        if a.sample < 0 or a.finetune_epochs < 1:
            raise UsageError("--sample must be >= 0 and --finetune-epochs >= 1")
        set_threads(a.threads)
        measure(a.reference, a.out, a.sample, a.finetune_epochs, a.seed,
                log=lambda line: print(line, flush=True))
    except (UsageError, UserError, datasets.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
