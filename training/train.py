"""Train one network with WRPN (and optionally Apprentice), then write its checkpoint, a row of
the accuracy table, and its layer trace.

    python -m training.train --model resnet20 --dataset fashion-mnist --wbits 2 --abits 8 \\
        --widen first30 --teacher runs/t/model.pt --scheme B --epochs 10 --out runs/x

Writes into --out: model.pt + model.json (checkpoint), trace.csv + trace.npz (accelsim's layer
trace and integer codes), and (scheme A) teacher.pt + teacher.json; appends one row to the
accuracy CSV (default: accuracy.csv beside the --out folder).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import io
import math
import os
import pickle
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from accelsim.cli import ArgumentParser, UsageError
from accelsim.formats import (ACCURACY_COLUMNS, ACCURACY_COLUMNS_V1, ACCURACY_DEFAULTS,
                              ALLOWED_BITS, ALLOWED_BITS_TEXT, MAX_WIDTH)
from accelsim.policy import read_policy
from accelsim.fileio import unwritable, write_atomic

from . import data as datasets
from . import models, user_model
from .distill import SCHEMES, ApprenticeWeights, apprentice_loss, frozen_teacher, start_from
from .quant import ACT_QUANTIZERS, DEFAULT_ACT_QUANTIZER, zero_weight_fraction
from .trace import export

# The recipe, in one place (airbench-style).  SGD + Nesterov with a one-cycle schedule reaches
# ResNet-20's usual accuracy in few epochs (NOTES.md: 8.75% on Fashion-MNIST after 3).
HYPER = dict(batch_size=128, lr=0.1, momentum=0.9, weight_decay=5e-4, eval_batch_size=1000)
AMP_CHOICES = ("off", "bf16")


@dataclass(frozen=True)
class RunConfig:
    model: str = "resnet20"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    wbits: int = 32
    abits: int = 32
    width: float = 1.0
    widen: str = "none"
    quantize_ends: bool = False
    scheme: str = "none"
    teacher: str | None = None
    init: str | None = None
    distill: ApprenticeWeights = field(default_factory=ApprenticeWeights)
    epochs: int = 10
    batch_size: int = HYPER["batch_size"]
    lr: float = HYPER["lr"]
    weight_decay: float = HYPER["weight_decay"]
    subset: int | None = None
    seed: int = 0
    device: str = "cpu"
    out: str = "runs/run"
    accuracy_csv: str | None = None
    quantizer: str = DEFAULT_ACT_QUANTIZER
    # Mixed precision: a policy's id and its per-layer widths ((layer, wbits, abits), ...)
    policy: str = ""
    layer_bits: tuple[tuple[str, int, int], ...] = ()
    # Speed, not results (the GPU path; the CPU defaults keep the plain eager loop):
    channels_last: bool | None = None   # None: on for CUDA, off for the CPU
    amp: str = "off"                    # off | bf16 (autocast of convs and matmuls)
    compile: bool = False               # torch.compile the student (first epoch pays ~minutes)
    eval_batch_size: int = HYPER["eval_batch_size"]


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    train_acc: float
    test_err: float
    seconds: float


@dataclass(frozen=True)
class Result:
    history: tuple[EpochStats, ...]
    test_err: float
    zero_fraction: float
    out: Path


class UserError(Exception):
    """A bad combination of options; main() prints it as one line and exits with status 2."""


# ----------------------------------------------------------------------------- building

def _teacher(cfg: RunConfig, shape: dict) -> nn.Module | None:
    """The teacher of the chosen scheme: fresh or resumed (A), frozen from a checkpoint (B, C)."""
    if cfg.scheme == "none":
        if cfg.teacher:
            raise UserError("--teacher needs --scheme A, B or C")
        return None
    if cfg.scheme == "A":
        name = cfg.teacher or "resnet110"
        if name.lower() in models.MODEL_NAMES:
            return models.build(name, **shape)
        if user_model.is_spec(name):
            return user_model.build(name, **shape)
        return _checkpoint("--teacher", name, models.load)
    if not cfg.teacher:
        raise UserError(f"--scheme {cfg.scheme} needs --teacher PATH to a trained model.pt")
    return _checkpoint("--teacher", cfg.teacher, frozen_teacher)


def _student(cfg: RunConfig, shape: dict) -> nn.Module:
    """The student as the options describe it, starting from --init's weights if given (scheme
    C: its own trained fp32 copy, lowered; otherwise a fine-tune of a trained network, whose
    widths may differ: clip levels it lacks start at their initial value)."""
    if cfg.scheme == "C" and not cfg.init:
        raise UserError("--scheme C needs --init PATH: a trained full-precision model.pt of "
                        "the student's architecture")
    student = _build(cfg, shape)
    if cfg.init:
        _checkpoint("--init", cfg.init, lambda path: start_from(
            student, path, full_precision=cfg.scheme == "C"))
    return student


def _build(cfg: RunConfig, shape: dict) -> nn.Module:
    """The student's architecture: a built-in network, or a user's (``--module``) made WRPN."""
    if user_model.is_spec(cfg.model):
        return user_model.build(cfg.model, wbits=cfg.wbits, abits=cfg.abits,
                                full_precision_ends=not cfg.quantize_ends,
                                quantizer=cfg.quantizer, **shape)
    return models.build(cfg.model, cfg.width, cfg.widen, wbits=cfg.wbits, abits=cfg.abits,
                        full_precision_ends=not cfg.quantize_ends, quantizer=cfg.quantizer,
                        layer_bits={n: (w, a) for n, w, a in cfg.layer_bits}, **shape)


def _checkpoint(flag: str, path: str, load: Callable[[str], nn.Module]) -> nn.Module:
    """``load(path)`` for a checkpoint named by ``flag``; any failure (missing, damaged, foreign,
    or pickled code that torch.load(weights_only=True) refuses) is one UserError naming both."""
    if not Path(path).is_file() or not Path(path).with_suffix(".json").is_file():
        raise UserError(f"{flag} {path}: no checkpoint there (model.pt with model.json beside it)")
    try:
        return load(path)
    except CHECKPOINT_ERRORS as err:
        detail = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise UserError(f"{flag} {path}: cannot be loaded ({detail})") from None


# ----------------------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model: nn.Module, split: datasets.Split, batch_size: int = HYPER["eval_batch_size"],
             autocast: contextlib.AbstractContextManager | None = None) -> float:
    """Top-1 error in percent; the count stays on the split's device until the end (one sync)."""
    was_training = model.training
    model.eval()
    wrong = torch.zeros((), dtype=torch.int64, device=split.labels.device)
    with autocast or contextlib.nullcontext():
        for x, y in datasets.batches(split, batch_size):
            wrong += (model(x).argmax(1) != y).sum()
    model.train(was_training)
    return 100.0 * int(wrong) / len(split)


@dataclass
class Session:
    """What the epoch loop works on: data on the device, models, optimiser, speed settings."""

    cfg: RunConfig
    data: datasets.Dataset          # both splits already on cfg.device
    student: nn.Module
    teacher: nn.Module | None
    forward: Callable               # the student, or its torch.compile'd form
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    steps: int                      # per epoch
    table: Path
    memory_format: torch.memory_format

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast when asked for: convs and matmuls in bf16, the fake quantizers in fp32
        (training.quant computes codes x steps in fp32, which bf16 would round)."""
        return torch.autocast(torch.device(self.cfg.device).type, dtype=torch.bfloat16,
                              enabled=self.cfg.amp == "bf16")


# What loading a damaged or foreign checkpoint raises (torch.load with weights_only=True refuses
# pickled code with UnpicklingError; a truncated zip is a RuntimeError or BadZipFile; bad JSON
# metadata a ValueError, KeyError or TypeError).
CHECKPOINT_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError,
                     EOFError, pickle.UnpicklingError, zipfile.BadZipFile)

# Bounds of the numeric options (stated in --help): beyond them a run cannot fit in memory, a
# seed overflows torch's generators, or the number means nothing.
BOUNDS = {"width": (0, MAX_WIDTH), "batch_size": (1, 65_536), "eval_batch_size": (1, 65_536),
          "epochs": (1, 100_000), "lr": (0, 10), "weight_decay": (0, 1),
          "subset": (1, 1_000_000_000), "seed": (0, 2 ** 32 - 1)}
OPEN_BELOW = ("width", "lr")  # must be above their lower bound, not equal to it


def check(cfg: RunConfig) -> None:
    """UserError naming the flag for any option out of its bounds or vocabulary."""
    if cfg.scheme not in SCHEMES:
        raise UserError(f"--scheme {cfg.scheme!r}: choose one of {', '.join(SCHEMES)}")
    for name, (low, high) in BOUNDS.items():
        value = getattr(cfg, name)
        if value is None and name == "subset":
            continue
        flag = "--" + name.replace("_", "-")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
                math.isfinite(value) and (low < value if name in OPEN_BELOW else low <= value)
                and value <= high):
            side = ">" if name in OPEN_BELOW else ">="
            raise UserError(f"{flag} {value!r}: must be {side} {low:g} and <= {high:g}")
    if cfg.amp not in AMP_CHOICES:
        raise UserError(f"--amp {cfg.amp!r}: choose one of {', '.join(AMP_CHOICES)}")
    try:
        device = torch.device(cfg.device)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {cfg.device!r}: use cpu or cuda[:N]")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {cfg.device}: no CUDA device here; use --device cpu")


def setup(cfg: RunConfig, log=print) -> Session:
    """Check the options and the output paths, put the data on the device, build the models."""
    check(cfg)
    # Check where the results go before spending the epochs, not after; create nothing yet,
    # so a run that fails leaves no empty folder behind.
    out = Path(cfg.out)
    table = Path(cfg.accuracy_csv) if cfg.accuracy_csv else out.parent / "accuracy.csv"
    for flag, path, folder in (("--out", out, True), ("--accuracy-csv", table, False)):
        problem = unwritable(path, folder)
        if problem:
            raise UserError(f"{flag} {path}: {problem}")
    check_accuracy_header(table)
    torch.manual_seed(cfg.seed)
    data = datasets.to_device(datasets.load(cfg.dataset, cfg.data_dir, cfg.subset, cfg.seed),
                              cfg.device)
    shape = dict(in_channels=data.in_channels, num_classes=data.num_classes,
                 image_size=data.image_size)
    try:
        student = _student(cfg, shape)
        teacher = _teacher(cfg, shape)
    except ValueError as err:
        raise UserError(str(err)) from None
    channels_last = cfg.channels_last if cfg.channels_last is not None else (
        torch.device(cfg.device).type == "cuda")
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    student = student.to(cfg.device, memory_format=memory_format)
    if teacher is not None:
        teacher = teacher.to(cfg.device, memory_format=memory_format)
    trainable = list(student.parameters())
    if cfg.scheme == "A":
        trainable += list(teacher.parameters())
    opt = torch.optim.SGD(trainable, lr=cfg.lr, momentum=HYPER["momentum"], nesterov=True,
                          weight_decay=cfg.weight_decay)
    steps = math.ceil(len(data.train) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps)
    forward = torch.compile(student) if cfg.compile else student
    log(f"{cfg.model} w{cfg.wbits}a{cfg.abits} ({cfg.quantizer}) width={cfg.width} "
        f"widen={cfg.widen} scheme={cfg.scheme} on {data.name}: {len(data.train)} train / "
        f"{len(data.test)} test images, {steps} steps per epoch on {cfg.device}, initial zero "
        f"weights {100 * zero_weight_fraction(student):.1f}%")
    return Session(cfg, data, student, teacher, forward, opt, sched, steps, table, memory_format)


def train_epoch(s: Session, epoch: int) -> EpochStats:
    """One epoch; loss and accuracy are summed on the device and read once, at the end."""
    cfg, start = s.cfg, time.perf_counter()
    s.student.train()
    if s.teacher is not None and cfg.scheme == "A":
        s.teacher.train()
    device = s.data.train.labels.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    batches = datasets.batches(s.data.train, cfg.batch_size, shuffle=True, augment=True,
                               flip=s.data.augment_flip, seed=cfg.seed * 100_003 + epoch)
    for x, y in tqdm(batches, total=s.steps, desc=f"epoch {epoch}", leave=False, disable=None):
        x = x.contiguous(memory_format=s.memory_format)
        with s.autocast():
            logits = s.forward(x)
            if s.teacher is None:
                loss = F.cross_entropy(logits, y)
            else:
                with contextlib.nullcontext() if cfg.scheme == "A" else torch.no_grad():
                    teacher_logits = s.teacher(x)
                loss = apprentice_loss(logits, y, teacher_logits, cfg.distill).total
        s.opt.zero_grad(set_to_none=True)
        loss.backward()
        s.opt.step()
        s.sched.step()
        loss_sum += loss.detach().float() * len(y)
        correct += (logits.argmax(1) == y).sum()
    seen = len(s.data.train)
    loss = float(loss_sum) / seen
    if not math.isfinite(loss):
        raise UserError(f"epoch {epoch}: the loss diverged; lower --lr")
    test_err = evaluate(s.forward, s.data.test, cfg.eval_batch_size, s.autocast())
    return EpochStats(epoch, loss, 100 * int(correct) / seen, test_err,
                      time.perf_counter() - start)


def finish(s: Session, history: list[EpochStats], log=print) -> Result:
    """Write the checkpoint, the trace with its integer codes, and the accuracy row."""
    cfg, out = s.cfg, Path(s.cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    test_err = history[-1].test_err
    student = s.student.cpu().to(memory_format=torch.contiguous_format)
    teacher_name = s.teacher.config.name if s.teacher is not None else "none"
    zeros = zero_weight_fraction(student)
    extra = {"run": {**asdict(cfg), "distill": asdict(cfg.distill)}, "dataset": s.data.name,
             "test_err": test_err, "zero_weight_fraction": zeros, "teacher": teacher_name}
    models.save(student, out / "model.pt", extra)
    if cfg.scheme == "A":
        models.save(s.teacher.cpu(), out / "teacher.pt", {"role": "scheme A teacher"})
    export(student, s.data.test.images[0].float().cpu() / 255, out / "trace.csv",
           graph=user_model.is_spec(cfg.model))  # a user's model: every op of its graph
    row = dict(model=cfg.model, dataset=s.data.name, wbits=cfg.wbits, abits=cfg.abits,
               widen=cfg.widen, width=f"{cfg.width:g}", teacher=teacher_name, scheme=cfg.scheme,
               epochs=cfg.epochs, seed=cfg.seed, top1_err=f"{test_err:.2f}", source="measured",
               quantizer=cfg.quantizer, policy=cfg.policy)
    append_accuracy_row(s.table, row)
    log(f"test error {test_err:.2f}%, zero weights {100 * zeros:.1f}%; wrote {out}/model.pt, "
        f"{out}/trace.csv and a row of {s.table}")
    return Result(tuple(history), test_err, zeros, out)


def run(cfg: RunConfig, log=print) -> Result:
    """Train, evaluate each epoch, write checkpoint, trace and the accuracy row."""
    session = setup(cfg, log)
    log(f"{'epoch':>5} {'loss':>8} {'train_acc':>9} {'test_err':>8} {'seconds':>8}")
    history = []
    for epoch in range(1, cfg.epochs + 1):
        stats = train_epoch(session, epoch)
        history.append(stats)
        log(f"{epoch:>5} {stats.loss:>8.4f} {stats.train_acc:>8.2f}% {stats.test_err:>7.2f}% "
            f"{stats.seconds:>8.1f}")
    return finish(session, history, log)


def check_accuracy_header(path: Path) -> str:
    """The CSV's text ('' if absent) in the current header; a table of the older header (no
    quantizer column) comes back with ``wrpn`` filled in.  UserError if it is no accuracy table."""
    try:
        old = path.read_text() if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read as an accuracy table ({err}); pass another "
                        "--accuracy-csv") from None
    header = ",".join(ACCURACY_COLUMNS)
    if not old or old.splitlines()[0].strip() == header:
        return old
    found = tuple(old.splitlines()[0].strip().split(","))
    # An older header: the first columns and some of the appended ones, in order.
    if found[:len(ACCURACY_COLUMNS_V1)] == ACCURACY_COLUMNS_V1 and \
            found == ACCURACY_COLUMNS[:len(found)]:
        fill = "".join("," + str(ACCURACY_DEFAULTS[c]) for c in ACCURACY_COLUMNS[len(found):])
        lines = [line for line in old.splitlines() if line.strip()]
        return "\n".join([header] + [line + fill for line in lines[1:]]) + "\n"
    raise UserError(f"{path}: its header is not {header!r}; pass another --accuracy-csv")


def append_accuracy_row(path: Path, row: dict) -> None:
    """Append a row to the accuracy CSV atomically (write_atomic), under a lock so concurrent
    runs do not drop each other's rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = check_accuracy_header(path)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ACCURACY_COLUMNS, lineterminator="\n")
        if not old:
            writer.writeheader()
        elif not old.endswith("\n"):
            buf.write("\n")
        writer.writerow(row)
        write_atomic(path, old + buf.getvalue())


# ----------------------------------------------------------------------------- command line

def set_threads(threads: int | None) -> None:
    """torch's CPU threads, when given: 1 to 4 x the cores (more makes libgomp abort);
    UsageError naming --threads otherwise."""
    if threads is None:
        return
    most = 4 * (os.cpu_count() or 1)
    if not 1 <= threads <= most:
        raise UsageError(f"--threads {threads}: must be >= 1 and <= {most} (4 x the cores)")
    torch.set_num_threads(threads)


def parse_args(argv: list[str] | None = None) -> RunConfig:
    """The run the command line asks for; UsageError (one line) on bad flags."""
    p = ArgumentParser(
        prog="python -m training.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="resnet20", choices=list(models.CIFAR_RESNETS),
                   help="CIFAR ResNet to train (He et al. 2015, option-A shortcuts)")
    p.add_argument("--module", help="train your own network instead of --model: "
                   "package.module:callable returning an nn.Module (given in_channels, "
                   "num_classes, image_size if it takes them); its Conv2d / Linear / ReLU "
                   "become WRPN layers, the first and last layer fp32 unless --quantize-ends")
    p.add_argument("--dataset", default="fashion-mnist", choices=datasets.DATASETS,
                   help="fashion-mnist from Debian's dataset-fashion-mnist, cifar10 from a local "
                        "cifar-10-batches-py folder (--data-dir), or small synthetic data")
    p.add_argument("--data-dir", help="folder with the data set's files (default for "
                   f"fashion-mnist: {datasets.FASHION_DIR})")
    p.add_argument("--wbits", type=int, default=32, help=f"weight bits: {ALLOWED_BITS_TEXT}; "
                   "2 = ternary {-1,0,+1}")
    p.add_argument("--abits", type=int, default=32, help=f"activation bits: {ALLOWED_BITS_TEXT}")
    p.add_argument("--width", type=float, default=1.0, help="multiplier of every layer's filters, "
                   "in (0, 16]")
    p.add_argument("--widen", default="none", choices=models.WIDEN_CHOICES,
                   help="first30: double the filters of the first conv and the first stage "
                        "(the paper's first 30%% of layers); all: double every layer")
    p.add_argument("--quantizer", default=DEFAULT_ACT_QUANTIZER, choices=ACT_QUANTIZERS,
                   help="activation quantizer: pact = a learned clip level per layer (trains "
                        "ResNets of any depth); wrpn = the paper's fixed [0, 1] clip")
    p.add_argument("--layer-bits", metavar="FILE",
                   help="mixed precision: a policy file (policy,layer,wbits,abits; "
                        "accelsim.policy) whose layers override --wbits/--abits")
    p.add_argument("--policy", help="the policy of --layer-bits to train (default: the file's "
                   "only one); recorded in the accuracy table's policy column")
    p.add_argument("--quantize-ends", action="store_true",
                   help="also quantize the first conv and the last FC (WRPN keeps them fp32)")
    p.add_argument("--scheme", default="none", choices=SCHEMES,
                   help="Apprentice: A = teacher and student trained jointly; B = frozen trained "
                        "teacher; C = as B, student starts from --init (its own fp32 copy)")
    p.add_argument("--teacher", help="scheme A: a model name (default resnet110) or a model.pt "
                   "to keep training; schemes B, C: a trained model.pt")
    p.add_argument("--init", help="start from a trained model.pt of the student's architecture: "
                   "scheme C's full-precision copy, or any run to fine-tune (its widths may "
                   "differ from the student's)")
    p.add_argument("--alpha", type=float, default=1.0, help="weight of H(y, p_teacher)")
    p.add_argument("--beta", type=float, default=0.5, help="weight of H(y, p_student)")
    p.add_argument("--gamma", type=float, default=0.5, help="weight of H(z_teacher, p_student)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="softmax temperature of the distillation term")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (one-cycle schedule), "
                   "1 to 100,000")
    p.add_argument("--batch-size", type=int, default=HYPER["batch_size"],
                   help="batch size, 1 to 65,536")
    p.add_argument("--lr", type=float, default=HYPER["lr"], help="peak learning rate, in (0, 10]")
    p.add_argument("--weight-decay", type=float, default=HYPER["weight_decay"],
                   help="SGD weight decay, in [0, 1]")
    p.add_argument("--subset", type=int, help="train on a seeded random subset of N images "
                   "(the test set stays whole)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, subset, "
                   "shuffling and augmentation, 0 to 2^32 - 1")
    p.add_argument("--threads", type=int, help="torch CPU threads, 1 to 4 x the cores "
                   "(default: torch's choice)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    speed = p.add_argument_group("speed (results stay the same up to float rounding)")
    speed.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="NHWC memory layout (default: on for CUDA, off for the CPU)")
    speed.add_argument("--amp", default="off", choices=AMP_CHOICES,
                       help="bf16 autocast of convs and matmuls; fake quantization stays fp32")
    speed.add_argument("--compile", action="store_true",
                       help="torch.compile the student, to fuse each fake quantizer's "
                            "elementwise ops (a GPU option; compiling takes minutes)")
    speed.add_argument("--eval-batch-size", type=int, default=HYPER["eval_batch_size"],
                       help="test-set batch size")
    p.add_argument("--out", default="runs/run", help="folder for model.pt/.json and trace.csv/.npz")
    p.add_argument("--accuracy-csv", help="accuracy table to append to (default: accuracy.csv "
                   "in the parent folder of --out)")
    a = p.parse_args(argv)
    for flag, bits in (("--wbits", a.wbits), ("--abits", a.abits)):
        if bits not in ALLOWED_BITS:
            p.error(f"{flag} {bits}: allowed widths are {ALLOWED_BITS_TEXT}")
    set_threads(a.threads)
    try:
        weights = ApprenticeWeights(a.alpha, a.beta, a.gamma, a.temperature)
    except ValueError as err:
        p.error(str(err))
    if not a.width > 0:
        p.error(f"--width {a.width}: must be > 0")
    policy, layer_bits = "", ()
    if a.layer_bits is not None:
        try:
            policy, bits = read_policy(a.layer_bits, a.policy)
        except ValueError as err:
            p.error(f"--layer-bits: {err}")
        layer_bits = tuple((name, w, b) for name, (w, b) in bits.items())
    elif a.policy is not None:
        p.error("--policy names a policy of --layer-bits FILE")
    if a.module is not None:
        try:  # a module that does not import fails now, before any data is read
            user_model.load_callable(a.module)
        except user_model.UserModelError as err:
            p.error(str(err))
        if a.widen != "none" or a.width != 1:
            p.error("--width and --widen shape the built-in ResNets; size your own network "
                    "(--module) in its builder")
        a.model = a.module
    return RunConfig(
        model=a.model, dataset=a.dataset, data_dir=a.data_dir, wbits=a.wbits, abits=a.abits,
        width=a.width, widen=a.widen, quantize_ends=a.quantize_ends, scheme=a.scheme,
        teacher=a.teacher, init=a.init, distill=weights, epochs=a.epochs,
        batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay, subset=a.subset,
        seed=a.seed, device=a.device, out=a.out, accuracy_csv=a.accuracy_csv,
        quantizer=a.quantizer, policy=policy, layer_bits=layer_bits,
        channels_last=a.channels_last, amp=a.amp, compile=a.compile,
        eval_batch_size=a.eval_batch_size)


def main(argv: list[str] | None = None) -> int:
    try:
        run(parse_args(argv))
    except (UsageError, UserError, datasets.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
