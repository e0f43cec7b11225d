"""The mixed-precision study: search per-layer widths with the array, train the front's designs
for real, and compare them with the paper's uniform grid at equal measured accuracy.

    python -m experiments.mixed_precision --sensitivity runs/sensitivity --uniform runs/quick \\
        --out runs/mixed                      # ~20 minutes on 2 CPU cores (6 designs x 3 seeds)

1. ``python -m dse.search`` on the paper's array (8x8, output stationary, 2-bit x 8-bit PEs,
   64 kB SRAMs; --array to change it) over the widths of ResNet-20's 18 quantized layers
   (weights 1/2/4/8, activations 2/4/8), objectives estimated error and energy per inference.
2. From its front, ``--designs`` mixed designs that cost less energy than the uniform w2a8
   network on that array, spread over their estimated error.
3. Each trained from scratch with ``--seeds`` seeds on the uniform runs' own schedule (the
   reproduction folder ``--uniform``, e.g. the quick preset), through training.train with the
   design's policy; their rows go to OUT/accuracy.csv with the policy ids.
   The verified designs' widths are kept in OUT/policies.csv.
4. The search's front scored again with those runs (measured beats estimated), and the
   comparison written to OUT/mixed_precision.md and OUT/comparison.csv: every verified design
   and the uniform designs of the paper's grid that the reproduction trained, each on an array
   of its own PE widths (the same size and SRAMs), with mean error and its standard error.
Resumes: finished runs and a finished search are kept.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from accelsim.cli import ArgumentParser, UsageError  # noqa: E402
from accelsim.fileio import unwritable, write_atomic  # noqa: E402
from accelsim.policy import read_policies, write_policies  # noqa: E402
from dse import search  # noqa: E402
from dse.results import read_accuracy  # noqa: E402
from training.train import RunConfig, UserError, run, set_threads  # noqa: E402

PAPER_ARRAY = ["--rows", "8", "--cols", "8", "--dataflow", "os", "--wbits", "2", "--abits",
               "8", "--sram-kb", "64"]
# The paper's uniform cells (its Tables 1-4 grid) a reproduction may have trained.
UNIFORM_CELLS = ((32, 32), (32, 8), (4, 8), (2, 32), (2, 8))


def search_argv(sensitivity: str, out: Path, schedule: dict, array: list[str],
                generations: int, accuracy: list[str]) -> list[str]:
    return (["--sensitivity", sensitivity, "--model", schedule["model"], "--dataset",
             schedule["dataset"], "--width", f"{schedule['width']:g}", *array,
             "--objectives", "error,energy", "--generations", str(generations),
             "--out", str(out)] + [x for path in accuracy for x in ("--accuracy", path)])


def choose(front: pd.DataFrame, limit_uj: float, count: int) -> pd.DataFrame:
    """``count`` mixed designs below ``limit_uj``, spread evenly over their estimated error."""
    cheaper = front[(front["policy"] != "") & (front["energy_per_inference_uj"] < limit_uj)]
    cheaper = cheaper.sort_values("top1_err_est_pct").reset_index(drop=True)
    if len(cheaper) <= count:
        return cheaper
    picks = np.unique(np.round(np.linspace(0, len(cheaper) - 1, count)).astype(int))
    return cheaper.iloc[picks].reset_index(drop=True)


def train(designs: list[str], policies: dict, schedule: dict, seeds: list[int], out: Path,
          log=print) -> None:
    """Every (design, seed) run not yet finished, from scratch with the design's widths."""
    table = out / "accuracy.csv"
    done = set()
    if table.is_file():
        rows = pd.read_csv(table, keep_default_na=False)
        done = set(zip(rows["policy"], rows["seed"].astype(int)))
    for pid in designs:
        for seed in seeds:
            if (pid, seed) in done:
                continue
            cfg = RunConfig(model=schedule["model"], dataset=schedule["dataset"],
                            width=schedule["width"], wbits=2, abits=8,
                            quantizer=schedule.get("quantizer", "pact"), policy=pid,
                            layer_bits=tuple((n, w, a) for n, (w, a) in policies[pid].items()),
                            epochs=schedule["epochs"], subset=schedule.get("subset"), seed=seed,
                            out=str(out / "runs" / f"{pid}-s{seed}"), accuracy_csv=str(table))
            res = run(cfg, log=lambda line: None)
            log(f"  {pid} seed {seed}: {res.test_err:.2f}% error")


def uniform_rows(problem: search.Problem, accuracy: pd.DataFrame, schedule: dict,
                 quantizer: str) -> pd.DataFrame:
    """The paper's uniform cells that the reproduction trained, each priced on an array of its
    own PE widths (the problem's array otherwise), with their measured errors."""
    space = problem.space
    rows = []
    for w, a in UNIFORM_CELLS:
        runs = accuracy[(accuracy.model == schedule["model"]) & (accuracy.wbits == w)
                        & (accuracy.abits == a) & np.isclose(accuracy.width, schedule["width"])
                        & (accuracy.widen == "none") & (accuracy.teacher == "none")
                        & (accuracy.quantizer == quantizer) & (accuracy.policy == "")]
        if runs.empty:
            continue
        array = {**{g: v[0] for g, v in space.array.items()}, "wbits": w, "abits": a}
        cell = search.SearchSpace(array={g: [v] for g, v in array.items()}, layers=space.layers,
                                  layer_wbits=sorted({w, *space.layer_wbits}),
                                  layer_abits=sorted({a, *space.layer_abits}))
        genes = np.zeros((1, len(cell.upper)), dtype=np.int64)
        genes[0, len(search.ARRAY_GENES)::2] = cell.layer_wbits.index(w)
        genes[0, len(search.ARRAY_GENES) + 1::2] = cell.layer_abits.index(a)
        priced = search.evaluate_genes(search.Problem(cell, problem.network, _flat(problem),
                                                      problem.table), genes).iloc[0]
        rows.append(dict(design=f"uniform w{w}a{a}", kind="uniform", policy="",
                         pe=f"{w}x{a}", energy_per_inference_uj=priced.energy_per_inference_uj,
                         latency_ms=priced.latency_ms, area_mm2=priced.area_mm2,
                         top1_err_est_pct=np.nan, top1_err_pct=runs.top1_err.mean(),
                         top1_err_se=runs.top1_err.std(ddof=1) / np.sqrt(len(runs)),
                         runs=len(runs), layer_widths=" ".join([f"{w}/{a}"] * len(space.layers))))
    return pd.DataFrame(rows)


def _flat(problem: search.Problem) -> search.AccuracyModel:
    """An accuracy model that knows every width with no change (uniform cells are measured)."""
    model = problem.accuracy
    deltas = {(layer, op, bits): 0.0 for layer in model.layers for op in "wa"
              for bits in (1, 2, 4, 8, 16, 32)}
    return search.AccuracyModel(model.reference_err_pct, model.reference_bits, deltas)


def report(table: pd.DataFrame, calibration: dict, layers: list[str]) -> str:
    """The comparison as Markdown, with the verdict the acceptance asks for."""
    base = table[table.design == "uniform w2a8"]
    lines = ["# Mixed precision against the paper's uniform grid", "",
             f"ResNet-20 x{calibration.get('width')} on {calibration.get('dataset')}, each "
             "design trained from scratch on the reproduction's schedule; error: mean over "
             "seeds ± standard error (n runs). Mixed designs run on the paper's array (8x8, "
             "output stationary, 2b x 8b PEs, 64 kB SRAMs); each uniform design on the same "
             "array built from PEs of its own widths. Energy per inference, analytic engine.",
             "", "| design | PE | error % | est. % | energy uJ | latency ms | area mm2 | "
             "per-layer widths (w/a, " + f"{layers[0]} .. {layers[-1]})" + " |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        est = "" if np.isnan(r.top1_err_est_pct) else f"{r.top1_err_est_pct:.2f}"
        lines.append(f"| {r.design} | {r.pe} | {r.top1_err_pct:.2f} ± {r.top1_err_se:.2f} "
                     f"(n={int(r.runs)}) | {est} | {r.energy_per_inference_uj:.3f} | "
                     f"{r.latency_ms:.4f} | {r.area_mm2:.3f} | {r.layer_widths} |")
    lines.append("")
    if not base.empty:
        b = base.iloc[0]
        limit = b.top1_err_pct + b.top1_err_se
        good = table[(table.kind == "mixed") & (table.top1_err_pct <= limit)
                     & (table.energy_per_inference_uj < b.energy_per_inference_uj)]
        if good.empty:
            lines.append(f"**Negative finding**: no verified mixed design reached the uniform "
                         f"w2a8's mean error plus one standard error ({limit:.2f}%) at lower "
                         "energy on the same array.")
        else:
            best = good.sort_values("energy_per_inference_uj").iloc[0]
            saving = 1 - best.energy_per_inference_uj / b.energy_per_inference_uj
            lines.append(f"**Found**: {len(good)} verified mixed design(s) within the uniform "
                         f"w2a8's mean error plus one standard error ({limit:.2f}%) at lower "
                         f"energy on the same array; the cheapest, {best.design}, uses "
                         f"{100 * saving:.1f}% less energy per inference "
                         f"({best.energy_per_inference_uj:.3f} against "
                         f"{b.energy_per_inference_uj:.3f} uJ), with equal latency and area "
                         "(the same array).")
    fitted = table[(table.kind == "mixed") & table.top1_err_est_pct.notna()
                   & (table.runs > 0)]
    if len(fitted) >= 3:
        est, got = fitted.top1_err_est_pct.to_numpy(), fitted.top1_err_pct.to_numpy()
        rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
        lines += ["", f"The search's estimate against the measured error of the "
                  f"{len(fitted)} verified designs: mean absolute error "
                  f"{np.abs(est - got).mean():.2f} points, Pearson "
                  f"{np.corrcoef(est, got)[0, 1]:.2f}, Spearman "
                  f"{np.corrcoef(rank(est), rank(got))[0, 1]:.2f}."]
    lines += ["", f"Accuracy model: the reference (w{calibration.get('wbits')}"
              f"a{calibration.get('abits')}) plus each layer's measured change; the "
              f"no-training proxy against fine-tuned changes on {calibration.get('samples')} "
              f"sampled changes: Pearson {calibration.get('pearson', float('nan')):.2f}, "
              f"Spearman {calibration.get('spearman', float('nan')):.2f}.", ""]
    return "\n".join(lines)


def study(sensitivity: str, uniform: str, out: Path, designs: int, seeds: list[int],
          generations: int, array: list[str], log=print) -> pd.DataFrame:
    uniform_dir = Path(uniform)
    try:
        schedule = json.loads((uniform_dir / "preset.json").read_text())
        accuracy = read_accuracy(uniform_dir / "accuracy.csv")
        calibration = json.loads((Path(sensitivity) / "calibration.json").read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"--uniform / --sensitivity: {err}") from None
    schedule["quantizer"] = calibration.get("quantizer", "pact")
    out.mkdir(parents=True, exist_ok=True)
    measured = [str(uniform_dir / "accuracy.csv")]
    argv = search_argv(sensitivity, out / "search", schedule, array, generations, measured)
    if search.main(argv + (["--resume"] if (out / "search" / "search.json").is_file() else [])):
        raise UserError("the search failed (its error is above)")
    front = search.read_candidates(out / "search" / "front.csv")
    problem, _, _ = search.parse(argv)
    base = uniform_rows(problem, accuracy, schedule, schedule["quantizer"])
    w2a8 = base[base.design == "uniform w2a8"]
    limit = float(w2a8.energy_per_inference_uj.iloc[0]) if not w2a8.empty else np.inf
    # The designs chosen once are the ones verified: a rescored front would choose others.
    policies = out / "policies.csv"
    if policies.is_file():
        verified = read_policies(policies)
    else:
        chosen = choose(front, limit, designs)
        front_policies = read_policies(out / "search" / "policies.csv")
        verified = {pid: front_policies[pid] for pid in chosen.policy}
        write_policies(verified, policies)
    log(f"{len(verified)} mixed designs to verify ({len(seeds)} seeds each)")
    train(list(verified), verified, schedule, seeds, out, log)
    if search.main(argv + ["--resume", "--accuracy", str(out / "accuracy.csv")]):
        raise UserError("the search failed (its error is above)")
    scored = search.read_candidates(out / "search" / "search.csv")
    scored = scored[scored.policy.isin(verified)].drop_duplicates("policy")
    mixed = pd.DataFrame(dict(
        design=[f"mixed {p}" for p in scored.policy], kind="mixed", policy=scored.policy,
        pe=[f"{w}x{a}" for w, a in zip(scored.wbits, scored.abits)],
        energy_per_inference_uj=scored.energy_per_inference_uj, latency_ms=scored.latency_ms,
        area_mm2=scored.area_mm2, top1_err_est_pct=scored.top1_err_est_pct,
        top1_err_pct=scored.top1_err_measured_pct.astype(float),
        top1_err_se=scored.top1_err_se.astype(float), runs=scored.measured_runs,
        layer_widths=scored.layer_widths))
    table = pd.concat([base, mixed], ignore_index=True)
    table["layers"] = " ".join(problem.space.layers)  # the order of layer_widths
    write_atomic(out / "comparison.csv", table.to_csv(index=False))
    write_atomic(out / "mixed_precision.md",
                 report(table, {**calibration, **schedule}, problem.space.layers))
    return table


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m experiments.mixed_precision",
                        description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--sensitivity", required=True, help="experiments.sensitivity's folder")
    ap.add_argument("--uniform", required=True, help="a reproduction's folder (its "
                    "preset.json schedule and its accuracy.csv of uniform runs)")
    ap.add_argument("--out", default="runs/mixed", help="results folder (rerun to resume)")
    ap.add_argument("--designs", type=int, default=6, help="mixed designs to verify")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of each design's runs")
    ap.add_argument("--generations", type=int, default=100, help="generations of the search")
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    try:
        a = ap.parse_args(argv)
        seeds = [int(s) for s in a.seeds.split(",")]
        if a.designs < 1 or not seeds or min(seeds) < 0:
            raise UsageError("--designs must be >= 1 and --seeds non-negative integers")
        problem = unwritable(a.out, folder=True)
        if problem:
            raise UsageError(f"--out {a.out}: {problem}")
        set_threads(a.threads)
        table = study(a.sensitivity, a.uniform, Path(a.out), a.designs, seeds, a.generations,
                      PAPER_ARRAY, log=lambda line: print(line, flush=True))
    except ValueError as err:  # UsageError, UserError, bad seeds
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table[["design", "top1_err_pct", "top1_err_se", "runs",
                 "energy_per_inference_uj"]].to_string(index=False))
    print(f"wrote {a.out}/comparison.csv, {a.out}/mixed_precision.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
