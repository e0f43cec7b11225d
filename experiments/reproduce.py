"""Reproduce the paper's Tables 1-4 on one network family, then sweep the accelerator over them.

    python -m experiments.reproduce --preset quick --out runs/repro          # ~50 min, 2 CPU cores
    python -m experiments.reproduce --preset paper --device cuda --out runs/paper

Trains the grid: full precision; 2/4-bit weights with 8/32-bit activations (Table 1); WRPN with
the first 30% of the layers doubled (Table 2); Apprentice scheme B with a trained full-precision
teacher (Table 3); both (Table 4); WRPN 2x everywhere; extra seeds on the cells the claims
hinge on.  Each run gets a folder under OUT/runs/ with its checkpoint, trace and a result.json
written last, so an interrupted reproduction resumes where it stopped and never retrains a
finished run (a run cut off mid-way starts again).  OUT/accuracy.csv (DESIGN.md's accuracy
format, source=measured) is rebuilt from the finished runs after each one.  At the end it
measures the memory footprint (paper Figure 1), writes the PE cost ratios (accelsim.cost), runs
the sweep of ``python -m dse.sweep`` over these networks on the 8x8 paper array and a range of
array sizes and operand widths, and writes OUT/REPRODUCTION.md (``python -m experiments.report``).
Those steps run in this process; one that fails stops the reproduction and leaves no file of its
own, so a rerun does it again.
"""
from __future__ import annotations

import os

# Spin-waiting OpenMP threads made quantized steps up to 6x slower on a shared box (NOTES.md);
# the variable must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from accelsim.cli import ArgumentParser, UsageError  # noqa: E402
from accelsim.cost.report import compare_text  # noqa: E402
from accelsim.fileio import remove_partial_writes, write_atomic  # noqa: E402
from accelsim.proc import die_with_parent  # noqa: E402
from accelsim.formats import ACCURACY_COLUMNS, ACCURACY_DEFAULTS, DATASET_SHAPES  # noqa: E402
from dse import sweep  # noqa: E402
from training import data as datasets  # noqa: E402
from training import footprint  # noqa: E402
from training.quant import DEFAULT_ACT_QUANTIZER  # noqa: E402
from training.train import RunConfig, UserError, run, set_threads  # noqa: E402

# Table number -> (widen, distilled), the layout of the paper's Tables 1-4.
TABLES = {1: ("none", False), 2: ("first30", False), 3: ("none", True), 4: ("first30", True)}
KEY_CELLS = ((32, 32), (2, 8))  # the baseline and the paper's accelerator precision


@dataclass(frozen=True)
class Preset:
    """One reproduction schedule; every choice that decides cost and resolving power is here."""

    name: str
    dataset: str
    model: str
    width: float
    epochs: int
    subset: int | None
    teacher_model: str
    teacher_width: float
    teacher_epochs: int
    cells: tuple[tuple[int, int], ...]          # (wbits, abits) trained in each of Tables 1-4
    extra_table1: tuple[tuple[int, int], ...]   # further Table 1 cells
    widen_all: tuple[tuple[int, int], ...]      # "2x everywhere" cells
    scheme_c: tuple[tuple[int, int], ...]       # Tables 3-4 cells also trained with scheme C
    extra_seeds: tuple[int, ...]                # seeds beyond 0 for ...
    extra_seed_cells: tuple[tuple[int, int, int], ...]  # ... these (table, wbits, abits);
    #                                                     table 0 = widen-all
    quantizer: str = DEFAULT_ACT_QUANTIZER      # the activation quantizer of every run above
    # Table 1 cells trained again with WRPN's own [0, 1] clip (the paper's method), seed 0, and
    # with the extra seeds too when listed in quantizer_seed_cells: the quantizer's effect.
    wrpn_cells: tuple[tuple[int, int], ...] = ()
    wrpn_seed_cells: tuple[tuple[int, int], ...] = ()
    # The paper's depth: this model at the preset's width, each (wbits, abits, quantizer), seed 0
    # and the extra seeds; its fp32 cell is the teacher run when the teacher is this model.
    depth_model: str | None = None
    depth_cells: tuple[tuple[int, int, str], ...] = ()
    sweep: dict = field(default_factory=dict)
    footprint_models: str = "alexnet,inception_resnet_v2,resnet50,resnet101"
    # How a GPU runs it: jobs in parallel, and the speed options of training.train.
    jobs: int = 1
    amp: str = "off"
    note: str = ""


FULL_CELLS = tuple((w, a) for w in (32, 4, 2) for a in (32, 8))
SWEEP_WIDE = dict(rows="4:64:x2", cols="4:64:x2", wbits="1,2,4,8,32", abits="2,4,8,32")

PRESETS = {
    # CI: synthetic 12x12 images, one epoch, the smallest grid that touches every code path.
    "tiny": Preset(name="tiny", dataset="synthetic", model="resnet20", width=0.25, epochs=1,
                   subset=None, teacher_model="resnet20", teacher_width=0.5, teacher_epochs=1,
                   cells=((32, 32), (2, 8)), extra_table1=(), widen_all=((2, 8),),
                   scheme_c=((2, 8),), extra_seeds=(1,), extra_seed_cells=((1, 2, 8),),
                   wrpn_cells=((2, 8),), depth_model="resnet32",
                   depth_cells=((2, 8, "pact"),),
                   sweep=dict(rows="8,16", cols="8,16", wbits="2,32", abits="8,32"),
                   footprint_models="resnet20",
                   note="plumbing only: synthetic data, 1 epoch"),
    # 2 shared CPU cores, ~41 runs: a half-width ResNet-20 (8/16/32 filters) on a 5k-image
    # Fashion-MNIST subset, 3 epochs (~1.5 min a run on an idle machine).  Tables 2-4 keep the
    # two cells the claims compare (fp32 and w2a8); Table 1 adds w32a8 and w2a32 (the paper's
    # "activations cost more than weights") and w32a2 (the same claim where the gap is large);
    # 4-bit weights are dropped (the paper finds them equal to 32-bit).  Seeds 1 and 2 on
    # every cell a claim compares (the teacher's Table 3-4 fp32 cells aside).  The quantizer
    # rows: Table 1's quantized cells and w32a16 (16-bit codes: the clip alone) again with
    # WRPN's [0, 1] clip; and ResNet-56 at the same width, where the clip stops learning.
    "quick": Preset(name="quick", dataset="fashion-mnist", model="resnet20", width=0.5, epochs=3,
                    subset=5000, teacher_model="resnet32", teacher_width=0.5, teacher_epochs=6,
                    cells=((32, 32), (2, 8)), extra_table1=((32, 8), (2, 32), (32, 2), (32, 16)),
                    widen_all=((2, 8),), scheme_c=(), extra_seeds=(1, 2),
                    extra_seed_cells=((1, 32, 32), (1, 2, 8), (4, 2, 8), (2, 2, 8), (3, 2, 8),
                                      (0, 2, 8), (1, 32, 8), (1, 2, 32), (1, 32, 2)),
                    wrpn_cells=((2, 8), (32, 8), (32, 2), (32, 16)), wrpn_seed_cells=((2, 8),),
                    depth_model="resnet56",
                    depth_cells=((32, 32, "pact"), (2, 8, "pact"), (2, 8, "wrpn")),
                    sweep=SWEEP_WIDE,
                    note="3 epochs on 5k images: far from converged; resolves effects of a few "
                         "points, not the paper's 0.3-0.5"),
    # One GPU (H100/H200), at most ~5 minutes of training: full-width ResNet-20 on the whole
    # training set for Tables 1-4 (fp32, w2a8, w4a8, w32a8, w2a32; first30; 2x everywhere;
    # Apprentice B from a trained ResNet-56 teacher; both), the ResNet-56 depth row, 3 seeds on
    # every compared cell.  4 epochs: seed spread ~0.1 point on ResNet-20 (NOTES.md), below
    # the effects compared (0.5-2.5 points at that scale).  12 jobs share the GPU (4.9x the
    # throughput of one run, NOTES.md).  Its report is made afterwards on a machine with
    # plotly (python -m experiments.report OUT).
    "gpu": Preset(name="gpu", dataset="fashion-mnist", model="resnet20", width=1.0, epochs=4,
                  subset=None, teacher_model="resnet56", teacher_width=1.0, teacher_epochs=4,
                  cells=((32, 32), (2, 8)), extra_table1=((4, 8), (32, 8), (2, 32)),
                  widen_all=((2, 8),), scheme_c=(), extra_seeds=(1, 2),
                  extra_seed_cells=((1, 32, 32), (1, 2, 8), (1, 4, 8), (1, 32, 8), (1, 2, 32),
                                    (2, 2, 8), (3, 2, 8), (4, 2, 8), (0, 2, 8)),
                  wrpn_cells=((2, 8),), wrpn_seed_cells=((2, 8),),
                  depth_model="resnet56", depth_cells=((2, 8, "pact"), (2, 8, "wrpn")),
                  sweep=SWEEP_WIDE, jobs=12, amp="bf16",
                  note="4 epochs of the whole training set: resolves effects of ~0.3 point and "
                       "up; far from the paper's 160"),
    # The paper's schedule (a GPU): ResNet-56, teacher ResNet-110 (the paper's ResNet-101 is
    # an ImageNet network), 160 epochs on the whole training set, 3 seeds on every cell.
    "paper": Preset(name="paper", dataset="cifar10", model="resnet56", width=1.0, epochs=160,
                    subset=None, teacher_model="resnet110", teacher_width=1.0,
                    teacher_epochs=160, cells=FULL_CELLS, extra_table1=((32, 2), (2, 32)),
                    widen_all=FULL_CELLS, scheme_c=((2, 8), (4, 8)), extra_seeds=(1, 2),
                    extra_seed_cells=tuple((t, w, a) for t in (*TABLES, 0)
                                           for w, a in FULL_CELLS),
                    wrpn_cells=((2, 8),), wrpn_seed_cells=((2, 8),), sweep=SWEEP_WIDE,
                    jobs=8, amp="bf16", note="the paper's schedule"),
}


@dataclass(frozen=True)
class Job:
    """One training run of the grid."""

    name: str
    table: str          # "1".."4", "widen-all", "teacher", "depth"
    model: str
    width: float
    widen: str
    wbits: int
    abits: int
    scheme: str         # none | B | C
    seed: int
    epochs: int
    quantizer: str = DEFAULT_ACT_QUANTIZER


def grid(p: Preset) -> list[Job]:
    """Every run, most important first, so that a reproduction cut short keeps the key cells."""
    def cell(table: int, w: int, a: int, seed: int, scheme: str | None = None,
             quantizer: str = p.quantizer) -> Job:
        widen, distilled = TABLES[table]
        scheme = scheme or ("B" if distilled else "none")
        tag = f"t{table}{scheme if distilled else ''}"
        suffix = "" if quantizer == p.quantizer else f"-{quantizer}"
        return Job(name=f"{tag}-w{w}a{a}{suffix}-s{seed}", table=str(table), model=p.model,
                   width=p.width, widen=widen, wbits=w, abits=a, scheme=scheme, seed=seed,
                   epochs=p.epochs, quantizer=quantizer)

    def wide(w: int, a: int, seed: int) -> Job:
        return Job(name=f"wall-w{w}a{a}-s{seed}", table="widen-all", model=p.model,
                   width=p.width, widen="all", wbits=w, abits=a, scheme="none", seed=seed,
                   epochs=p.epochs, quantizer=p.quantizer)

    def deep(w: int, a: int, quantizer: str, seed: int) -> Job:
        return Job(name=f"depth-{p.depth_model}-w{w}a{a}-{quantizer}-s{seed}", table="depth",
                   model=p.depth_model, width=p.width, widen="none", wbits=w, abits=a,
                   scheme="none", seed=seed, epochs=p.epochs, quantizer=quantizer)

    teacher = Job(name=f"teacher-{p.teacher_model}-s0", table="teacher", model=p.teacher_model,
                  width=p.teacher_width, widen="none", wbits=32, abits=32, scheme="none",
                  seed=0, epochs=p.teacher_epochs, quantizer=p.quantizer)
    jobs = [teacher]
    key = [c for c in KEY_CELLS if c in p.cells]
    jobs += [cell(t, w, a, 0) for t in TABLES for w, a in key]
    jobs += [cell(t, w, a, 0) for t in TABLES for w, a in p.cells if (w, a) not in key]
    jobs += [cell(1, w, a, 0) for w, a in p.extra_table1]
    jobs += [wide(w, a, 0) for w, a in p.widen_all]
    jobs += [cell(t, w, a, 0, "C") for t in (3, 4) for w, a in p.scheme_c]
    jobs += [cell(1, w, a, 0, quantizer="wrpn") for w, a in p.wrpn_cells]
    # The teacher run is the depth row's fp32 cell when it has the same network and schedule.
    same_as_teacher = (p.depth_model == p.teacher_model and p.teacher_width == p.width
                       and p.teacher_epochs == p.epochs)
    depth = [(w, a, q) for w, a, q in p.depth_cells
             if not (same_as_teacher and (w, a) == (32, 32))]
    jobs += [deep(w, a, q, 0) for w, a, q in depth]
    for s in p.extra_seeds:
        jobs += [wide(w, a, s) if t == 0 else cell(t, w, a, s) for t, w, a in p.extra_seed_cells]
        jobs += [cell(1, w, a, s, quantizer="wrpn") for w, a in p.wrpn_seed_cells]
        jobs += [deep(w, a, q, s) for w, a, q in depth]
    return jobs


def needs(job: Job, jobs: list[Job]) -> list[str]:
    """The runs whose checkpoints ``job`` reads: the teacher (schemes B, C) and the student's own
    fp32 copy (scheme C)."""
    names = []
    if job.scheme in ("B", "C"):
        names.append(jobs[0].name)
    if job.scheme == "C":  # the student's own fp32 copy: the same table's w32a32 run, same seed
        names.append(f"t{'1' if job.widen == 'none' else '2'}-w32a32-s{job.seed}")
    return names


def _config(job: Job, p: Preset, jobs: list[Job], root: Path, device: str,
            data_dir: str | None, dataset: str) -> RunConfig:
    out = root / "runs" / job.name
    checkpoints = [str(root / "runs" / name / "model.pt") for name in needs(job, jobs)]
    teacher = checkpoints[0] if checkpoints else None
    init = checkpoints[1] if len(checkpoints) > 1 else None
    return RunConfig(model=job.model, dataset=dataset, data_dir=data_dir, wbits=job.wbits,
                     abits=job.abits, width=job.width, widen=job.widen, scheme=job.scheme,
                     teacher=teacher, init=init, epochs=job.epochs,
                     subset=p.subset, seed=job.seed, device=device, out=str(out),
                     accuracy_csv=str(out / "accuracy.csv"), quantizer=job.quantizer,
                     amp=p.amp if device.startswith("cuda") else "off")


def _write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2) + "\n")


def _cost(job: Job, shape: dict) -> dict:
    c = footprint.compute_cost(job.model, job.width, job.widen, job.wbits, job.abits, **shape)
    return dict(fmas=c["fmas"], cost_bit_fmas=c["cost_bit_fmas"], params=c["params"])


def train_job(job: Job, cfg: RunConfig, record_extra: dict, echo: bool) -> dict:
    """Train one run (in this process or a worker) and return its result record; its log goes
    to runs/NAME/train.log, and to the console too when ``echo``."""
    out = Path(cfg.out)
    if out.exists():  # a run cut off mid-way: start it again from nothing
        shutil.rmtree(out)
    out.mkdir(parents=True)
    start = time.perf_counter()
    with open(out / "train.log", "w") as log_file:
        def log(line: str) -> None:
            log_file.write(line + "\n")
            log_file.flush()
            if echo:
                print(f"    {line}", flush=True)

        res = run(cfg, log=log)
    shape = DATASET_SHAPES.get(cfg.dataset)
    image = dict(in_channels=shape.channels, num_classes=shape.classes,
                 image_size=shape.image_size) if shape else _synthetic_shape()
    return dict(asdict(job), **record_extra, top1_err=res.test_err,
                zero_weight_fraction=res.zero_fraction, wall_s=time.perf_counter() - start,
                **_cost(job, image), history=[asdict(h) for h in res.history])


def _synthetic_shape() -> dict:
    d = datasets.synthetic(n_train=1, n_test=1)
    return dict(in_channels=d.in_channels, num_classes=d.num_classes, image_size=d.image_size)


def _worker_start(threads: int) -> None:
    """A worker's set-up: its share of the threads, and (Linux) death with the parent, so that
    a reproduction killed with SIGKILL leaves no worker training on."""
    torch.set_num_threads(threads)
    die_with_parent()


def train_grid(p: Preset, root: Path, device: str = "cpu", data_dir: str | None = None,
               dataset: str | None = None, log=print, jobs: int = 1) -> list[dict]:
    """Train every run not yet finished, ``jobs`` at a time (processes sharing the device; a run
    starts once the checkpoints it reads exist); return the records of all finished runs."""
    dataset = dataset or p.dataset
    grid_jobs = grid(p)
    (root / "runs").mkdir(parents=True, exist_ok=True)
    finished = {j.name for j in grid_jobs if (root / "runs" / j.name / "result.json").is_file()}
    todo = [j for j in grid_jobs if j.name not in finished]
    log(f"preset {p.name}: {len(grid_jobs)} runs, {len(finished)} already finished, "
        f"{len(todo)} to train on {dataset} ({device}, {jobs} at a time)")
    extra = dict(dataset=dataset, subset=p.subset, preset=p.name)

    def done(job: Job, record: dict, k: int) -> None:
        _write_json(root / "runs" / job.name / "result.json", record)  # last: "finished"
        finished.add(job.name)
        collect(root)
        log(f"[{k}/{len(todo)}] {job.name}: {record['top1_err']:.2f}% error in "
            f"{record['wall_s']:.0f} s")

    def config(job: Job) -> RunConfig:
        return _config(job, p, grid_jobs, root, device, data_dir, dataset)

    if jobs <= 1:
        for k, job in enumerate(todo, 1):
            log(f"[{k}/{len(todo)}] {job.name}")
            done(job, train_job(job, config(job), extra, echo=True), k)
        return collect(root)
    # Each worker gets an equal share of the CPU threads; CUDA needs spawned workers.
    threads = max(1, torch.get_num_threads() // jobs)
    pending, running, count = list(todo), {}, 0
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_start, initargs=(threads,)) as pool:
        try:
            while pending or running:
                ready = [j for j in pending if set(needs(j, grid_jobs)) <= finished]
                for job in ready[:jobs - len(running)]:
                    pending.remove(job)
                    running[pool.submit(train_job, job, config(job), extra, False)] = job
                    log(f"started {job.name}")
                if not running:
                    raise UserError(f"{pending[0].name} needs {needs(pending[0], grid_jobs)}, "
                                    "which no run of this grid produces")
                for future in wait(running, return_when=FIRST_COMPLETED).done:
                    job = running.pop(future)
                    count += 1
                    done(job, future.result(), count)
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return collect(root)


def collect(root: Path) -> list[dict]:
    """Rebuild OUT/accuracy.csv, runs.csv and history.csv from every finished run's folder."""
    records, rows = [], []
    for result in sorted((root / "runs").glob("*/result.json")):
        record = json.loads(result.read_text())
        records.append(record)
        rows.append(pd.read_csv(result.parent / "accuracy.csv", dtype=str,
                                keep_default_na=False))
    if not records:
        return records
    # Runs finished before a column existed wrote an older header: it means the default.
    acc = pd.concat(rows, ignore_index=True)
    for column, default in ACCURACY_DEFAULTS.items():
        if column not in acc:
            acc[column] = default
        acc[column] = acc[column].where(acc[column].notna(), default)
    acc = acc[list(ACCURACY_COLUMNS)]
    write_atomic(root / "accuracy.csv", acc.to_csv(index=False))
    flat = pd.DataFrame([{k: v for k, v in r.items() if k != "history"} for r in records])
    write_atomic(root / "runs.csv", flat.to_csv(index=False))
    hist = pd.DataFrame([dict(name=r["name"], **h) for r in records for h in r["history"]])
    write_atomic(root / "history.csv", hist.to_csv(index=False))
    return records


def paper_costs(path: Path) -> None:
    """Compute cost (paper footnote 2) of the paper's own networks, for the report's figure."""
    if path.is_file():
        return
    rows = [footprint.compute_cost(m, 1, widen, w, a)
            for m in ("resnet44", "resnet56") for widen in ("none", "first30")
            for w, a in FULL_CELLS]
    write_atomic(path, pd.DataFrame(rows).to_csv(index=False))


class StepFailed(Exception):
    """A step after training returned an error status; it wrote no result file."""


def _command(name: str, main, argv: list[str], log) -> None:
    """Run a command's ``main(argv)`` in this process; StepFailed unless it returns 0."""
    log(f"$ python -m {name} " + " ".join(argv))
    status = main(argv)
    if status != 0:
        raise StepFailed(f"python -m {name} failed with status {status} (its error is above)")


def after_training(p: Preset, root: Path, dataset: str, log=print) -> None:
    """Figure 1 footprint, PE cost ratios, the DSE sweep; each skipped when already there.
    They land beside accuracy.csv, so ``python -m dashboards.app --results OUT`` shows them."""
    if not (root / "footprint.csv").is_file():
        log("footprint (paper Figure 1)")
        _command("training.footprint", footprint.main,
                 ["--models", p.footprint_models, "--batches", "1,8,16,32", "--out", str(root)],
                 log)
    paper_costs(root / "paper_cost.csv")
    if not (root / "pe_cost.txt").is_file():
        log("PE cost (python -m accelsim.cost --compare 2x8 32x32)")
        write_atomic(root / "pe_cost.txt", compare_text(["2x8", "32x32"]) + "\n")
    pareto = root / "pareto.csv"
    if not pareto.is_file() or pareto.stat().st_mtime < (root / "accuracy.csv").stat().st_mtime:
        # dse has the built-in shapes of Fashion-MNIST and CIFAR-10 only; synthetic (CI) borrows
        # Fashion-MNIST's, so its accuracy does not join.
        shapes = dataset if dataset in DATASET_SHAPES else "fashion-mnist"
        s = p.sweep
        # One worker: the sweep runs in this process rather than forking one that holds torch's
        # thread pool; its analytic engine takes about a second here.
        _command("dse.sweep", sweep.main,
                 ["--model", p.model, "--dataset", shapes, "--width", f"{p.width:g}",
                  "--widen", "none,first30,all", "--teacher", f"none,{p.teacher_model}",
                  "--rows", s["rows"], "--cols", s["cols"], "--wbits", s["wbits"],
                  "--abits", s["abits"], "--accuracy", str(root / "accuracy.csv"),
                  "--out", str(root), "--progress", "off", "--workers", "1"], log)


# What a finished run was trained with; the rest of a preset (which cells, seeds, sweep) may
# change between sessions without making the finished runs stale.
SCHEDULE_FIELDS = ("dataset", "model", "width", "epochs", "subset", "teacher_model",
                   "teacher_width", "teacher_epochs", "quantizer")
# A preset.json from before a field existed: what its runs were trained with.
SCHEDULE_DEFAULTS = {"quantizer": "wrpn"}


def _check_same_schedule(path: Path, p: Preset, dataset: str) -> None:
    """Refuse to resume into a folder whose finished runs were trained on another schedule."""
    if not path.is_file():
        return
    old = {**SCHEDULE_DEFAULTS, **json.loads(path.read_text())}
    new = dict(asdict(p), dataset=dataset)
    diff = [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in SCHEDULE_FIELDS if old.get(k) != new[k]]
    if diff:
        raise UserError(f"{path.parent} holds runs of another schedule ({'; '.join(diff)}); "
                        "choose another --out")


def reproduce(preset: str | Preset, out: str | os.PathLike, device: str = "cpu",
              dataset: str | None = None, data_dir: str | None = None, log=print,
              jobs: int | None = None, train_only: bool = False) -> Path | None:
    """Train the grid (resuming), run the post-processing, write OUT/REPRODUCTION.md; with
    ``train_only``, stop after the training (a GPU machine without plotly: rerun the same
    command elsewhere to finish, nothing is retrained)."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    jobs = p.jobs if jobs is None else jobs
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: must be >= 1")
    root = Path(out)
    dataset = dataset or p.dataset
    _check_same_schedule(root / "preset.json", p, dataset)
    datasets.load(dataset, data_dir, 1, 0)  # a missing data set fails here, before any file
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {root}: cannot create it ({err.strerror})") from None
    # A reproduction killed mid-write left temporaries; it is the folder's only writer.
    for folder in (root, *(root / "runs").glob("*")):
        remove_partial_writes(folder)
    _write_json(root / "preset.json", dict(asdict(p), dataset=dataset, device=device))
    start = time.perf_counter()
    train_grid(p, root, device, data_dir, dataset, log, jobs)
    if train_only:
        log(f"trained in {time.perf_counter() - start:.0f} s; rerun without --train-only to "
            "write the footprint, sweep and REPRODUCTION.md")
        return None
    after_training(p, root, dataset, log)
    from . import report  # imported late: a long run picks up the report as it is at the end
    md = report.write(root, root / "REPRODUCTION.md", root / "accuracy_vs_cost.png")
    log(f"done in {time.perf_counter() - start:.0f} s this session; wrote {root}/accuracy.csv, "
        f"{md}")
    return md


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.reproduce``; bad input or a failed step is one line, status 2."""
    ap = ArgumentParser(prog="python -m experiments.reproduce",
                        description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--preset", default="quick", choices=list(PRESETS),
                    help="tiny: CI plumbing on synthetic data; quick: about an hour on 2 CPU "
                         "cores; gpu: ~5 minutes of one H100/H200 (--device cuda); paper: the "
                         "paper's schedule, GPU-days")
    ap.add_argument("--dataset", choices=datasets.DATASETS,
                    help="override the preset's data set (quick: fashion-mnist, paper: cifar10)")
    ap.add_argument("--data-dir", help="folder with the data set's files")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", default="runs/repro", help="results folder (rerun to resume)")
    ap.add_argument("--jobs", type=int, help="runs trained at once, in processes sharing the "
                    "device (default: the preset's: 1, gpu 12, paper 8); on the CPU each gets "
                    "an equal share of the threads")
    ap.add_argument("--train-only", action="store_true",
                    help="stop after training (for a GPU machine without plotly); rerun "
                         "without it elsewhere to write the report")
    try:
        a = ap.parse_args(argv)
        set_threads(a.threads)
        reproduce(a.preset, a.out, a.device, a.dataset, a.data_dir,
                  log=lambda line: print(line, flush=True), jobs=a.jobs,
                  train_only=a.train_only)
    except (UsageError, UserError, StepFailed, datasets.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
