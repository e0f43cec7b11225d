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
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from . import data as datasets
from . import models, user_model
from .distill import (SCHEMES, ApprenticeWeights, apprentice_loss, frozen_teacher,
                      student_from_full_precision)
from .quant import zero_weight_fraction
from .trace import export

# The recipe, in one place (airbench-style).  SGD + Nesterov with a one-cycle schedule reaches
# ResNet-20's usual accuracy in few epochs (NOTES.md: 8.75% on Fashion-MNIST after 3).
HYPER = dict(batch_size=128, lr=0.1, momentum=0.9, weight_decay=5e-4, eval_batch_size=1000)
ACCURACY_COLUMNS = ("model", "dataset", "wbits", "abits", "widen", "width", "teacher", "scheme",
                    "epochs", "seed", "top1_err", "source")


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
        return models.load(_existing(name, "--teacher"))
    if not cfg.teacher:
        raise UserError(f"--scheme {cfg.scheme} needs --teacher PATH to a trained model.pt")
    return frozen_teacher(_existing(cfg.teacher, "--teacher"))


def _student(cfg: RunConfig, shape: dict) -> nn.Module:
    if cfg.scheme == "C":
        if not cfg.init:
            raise UserError("--scheme C needs --init PATH: a trained full-precision model.pt of "
                            "the student's architecture")
        student = student_from_full_precision(_existing(cfg.init, "--init"), cfg.wbits, cfg.abits)
        want = _build(cfg, shape).config
        if student.config != want:
            raise UserError(f"--init {cfg.init}: its architecture {student.config} differs from "
                            f"the student's {want}")
        return student
    if cfg.init:
        raise UserError("--init is for --scheme C")
    return _build(cfg, shape)


def _build(cfg: RunConfig, shape: dict) -> nn.Module:
    """The student's architecture: a built-in network, or a user's (``--module``) made WRPN."""
    if user_model.is_spec(cfg.model):
        return user_model.build(cfg.model, wbits=cfg.wbits, abits=cfg.abits,
                                full_precision_ends=not cfg.quantize_ends, **shape)
    return models.build(cfg.model, cfg.width, cfg.widen, wbits=cfg.wbits, abits=cfg.abits,
                        full_precision_ends=not cfg.quantize_ends, **shape)


def _existing(path: str, flag: str) -> str:
    if not Path(path).is_file() or not Path(path).with_suffix(".json").is_file():
        raise UserError(f"{flag} {path}: no checkpoint there (model.pt with model.json beside it)")
    return path


# ----------------------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model: nn.Module, split: datasets.Split, device: str) -> float:
    """Top-1 error in percent."""
    was_training = model.training
    model.eval()
    wrong = 0
    for x, y in datasets.batches(split, HYPER["eval_batch_size"]):
        wrong += int((model(x.to(device)).argmax(1).cpu() != y).sum())
    model.train(was_training)
    return 100.0 * wrong / len(split)


def run(cfg: RunConfig, log=print) -> Result:
    """Train, evaluate each epoch, write checkpoint, trace and the accuracy row."""
    if cfg.scheme not in SCHEMES:
        raise UserError(f"--scheme {cfg.scheme!r}: choose one of {', '.join(SCHEMES)}")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UserError("--epochs and --batch-size must be >= 1")
    try:
        torch.device(cfg.device)
    except RuntimeError:
        raise UserError(f"--device {cfg.device!r}: not a torch device; use cpu or cuda[:N]"
                        ) from None
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {cfg.device}: no CUDA device here; use --device cpu")
    # Check where the results go before spending the epochs, not after.
    out = Path(cfg.out)
    table = Path(cfg.accuracy_csv) if cfg.accuracy_csv else out.parent / "accuracy.csv"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {cfg.out}: cannot create it ({err.strerror})") from None
    check_accuracy_header(table)
    torch.manual_seed(cfg.seed)
    data = datasets.load(cfg.dataset, cfg.data_dir, cfg.subset, cfg.seed)
    shape = dict(in_channels=data.in_channels, num_classes=data.num_classes,
                 image_size=data.image_size)
    try:
        student = _student(cfg, shape).to(cfg.device)
        teacher = _teacher(cfg, shape)
    except ValueError as err:
        raise UserError(str(err)) from None
    teacher = teacher.to(cfg.device) if teacher is not None else None
    trainable = list(student.parameters())
    if cfg.scheme == "A":
        trainable += list(teacher.parameters())
    opt = torch.optim.SGD(trainable, lr=cfg.lr, momentum=HYPER["momentum"], nesterov=True,
                          weight_decay=cfg.weight_decay)
    steps = math.ceil(len(data.train) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps)

    log(f"{cfg.model} w{cfg.wbits}a{cfg.abits} width={cfg.width} widen={cfg.widen} "
        f"scheme={cfg.scheme} on {data.name}: {len(data.train)} train / {len(data.test)} test "
        f"images, {steps} steps per epoch, initial zero weights "
        f"{100 * zero_weight_fraction(student):.1f}%")
    log(f"{'epoch':>5} {'loss':>8} {'train_acc':>9} {'test_err':>8} {'seconds':>8}")
    history = []
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        student.train()
        if teacher is not None and cfg.scheme == "A":
            teacher.train()
        loss_sum = correct = seen = 0
        batches = datasets.batches(data.train, cfg.batch_size, shuffle=True, augment=True,
                                   flip=data.augment_flip, seed=cfg.seed * 100_003 + epoch)
        for x, y in tqdm(batches, total=steps, desc=f"epoch {epoch}", leave=False, disable=None):
            x, y = x.to(cfg.device), y.to(cfg.device)
            logits = student(x)
            if teacher is None:
                loss = F.cross_entropy(logits, y)
            else:
                with contextlib.nullcontext() if cfg.scheme == "A" else torch.no_grad():
                    teacher_logits = teacher(x)
                loss = apprentice_loss(logits, y, teacher_logits, cfg.distill).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        if not math.isfinite(loss_sum):
            raise UserError(f"epoch {epoch}: the loss diverged; lower --lr")
        test_err = evaluate(student, data.test, cfg.device)
        stats = EpochStats(epoch, loss_sum / seen, 100 * correct / seen, test_err,
                           time.perf_counter() - start)
        history.append(stats)
        log(f"{epoch:>5} {stats.loss:>8.4f} {stats.train_acc:>8.2f}% {test_err:>7.2f}% "
            f"{stats.seconds:>8.1f}")

    teacher_name = teacher.config.name if teacher is not None else "none"
    zeros = zero_weight_fraction(student)
    extra = {"run": {**asdict(cfg), "distill": asdict(cfg.distill)}, "dataset": data.name,
             "test_err": test_err, "zero_weight_fraction": zeros, "teacher": teacher_name}
    models.save(student.cpu(), out / "model.pt", extra)
    if cfg.scheme == "A":
        models.save(teacher.cpu(), out / "teacher.pt", {"role": "scheme A teacher"})
    export(student, data.test.images[0].float() / 255, out / "trace.csv",
           graph=user_model.is_spec(cfg.model))  # a user's model: every op of its graph
    row = dict(model=cfg.model, dataset=data.name, wbits=cfg.wbits, abits=cfg.abits,
               widen=cfg.widen, width=f"{cfg.width:g}", teacher=teacher_name, scheme=cfg.scheme,
               epochs=cfg.epochs, seed=cfg.seed, top1_err=f"{test_err:.2f}", source="measured")
    append_accuracy_row(table, row)
    log(f"test error {test_err:.2f}%, zero weights {100 * zeros:.1f}%; wrote {out}/model.pt, "
        f"{out}/trace.csv and a row of {table}")
    return Result(tuple(history), test_err, zeros, out)


def check_accuracy_header(path: Path) -> str:
    """The CSV's text ('' if absent); UserError if it is not an accuracy table."""
    old = path.read_text() if path.is_file() else ""
    header = ",".join(ACCURACY_COLUMNS)
    if old and old.splitlines()[0].strip() != header:
        raise UserError(f"{path}: its header is not {header!r}; pass another --accuracy-csv")
    return old


def append_accuracy_row(path: Path, row: dict) -> None:
    """Append a row to the accuracy CSV atomically (temp file + os.replace), under a lock so
    concurrent runs do not drop each other's rows."""
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
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(old + buf.getvalue())
        os.replace(tmp, path)


# ----------------------------------------------------------------------------- command line

class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block: the message names the flag
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_args(argv: list[str] | None = None) -> RunConfig:
    p = _Parser(
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
    p.add_argument("--wbits", type=int, default=32, help="weight bits: 1..16, 32 = fp32; "
                   "2 = ternary {-1,0,+1}")
    p.add_argument("--abits", type=int, default=32, help="activation bits: 1..16, 32 = fp32")
    p.add_argument("--width", type=float, default=1.0, help="multiplier of every layer's filters")
    p.add_argument("--widen", default="none", choices=models.WIDEN_CHOICES,
                   help="first30: double the filters of the first conv and the first stage "
                        "(the paper's first 30%% of layers); all: double every layer")
    p.add_argument("--quantize-ends", action="store_true",
                   help="also quantize the first conv and the last FC (WRPN keeps them fp32)")
    p.add_argument("--scheme", default="none", choices=SCHEMES,
                   help="Apprentice: A = teacher and student trained jointly; B = frozen trained "
                        "teacher; C = as B, student starts from --init (its own fp32 copy)")
    p.add_argument("--teacher", help="scheme A: a model name (default resnet110) or a model.pt "
                   "to keep training; schemes B, C: a trained model.pt")
    p.add_argument("--init", help="scheme C: the trained full-precision model.pt of the student")
    p.add_argument("--alpha", type=float, default=1.0, help="weight of H(y, p_teacher)")
    p.add_argument("--beta", type=float, default=0.5, help="weight of H(y, p_student)")
    p.add_argument("--gamma", type=float, default=0.5, help="weight of H(z_teacher, p_student)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="softmax temperature of the distillation term")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (one-cycle schedule)")
    p.add_argument("--batch-size", type=int, default=HYPER["batch_size"], help="batch size")
    p.add_argument("--lr", type=float, default=HYPER["lr"], help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=HYPER["weight_decay"],
                   help="SGD weight decay")
    p.add_argument("--subset", type=int, help="train on a seeded random subset of N images "
                   "(the test set stays whole)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, subset, "
                   "shuffling and augmentation")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--out", default="runs/run", help="folder for model.pt/.json and trace.csv/.npz")
    p.add_argument("--accuracy-csv", help="accuracy table to append to (default: accuracy.csv "
                   "in the parent folder of --out)")
    a = p.parse_args(argv)
    for flag, bits in (("--wbits", a.wbits), ("--abits", a.abits)):
        if not (1 <= bits <= 16 or bits == 32):
            p.error(f"{flag} {bits}: allowed widths are 1..16 or 32 (fp32)")
    if a.threads is not None:
        if a.threads < 1:
            p.error(f"--threads {a.threads}: must be >= 1")
        torch.set_num_threads(a.threads)
    try:
        weights = ApprenticeWeights(a.alpha, a.beta, a.gamma, a.temperature)
    except ValueError as err:
        p.error(str(err))
    if not a.width > 0:
        p.error(f"--width {a.width}: must be > 0")
    if a.module is not None:
        try:  # a module that does not import fails now, before any data is read
            user_model.load_callable(a.module)
        except user_model.UserModelError as err:
            p.error(str(err))
        if a.widen != "none" or a.width != 1:
            p.error("--width and --widen shape the built-in ResNets; size your own network "
                    "(--module) in its builder")
        a.model = a.module
    return RunConfig(a.model, a.dataset, a.data_dir, a.wbits, a.abits, a.width, a.widen,
                     a.quantize_ends, a.scheme, a.teacher, a.init, weights, a.epochs,
                     a.batch_size, a.lr, a.weight_decay, a.subset, a.seed, a.device, a.out,
                     a.accuracy_csv)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        run(cfg)
    except (UserError, datasets.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
