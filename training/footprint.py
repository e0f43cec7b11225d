"""Memory footprint of weights vs activations (the paper's Figure 1) and compute cost.

    python -m training.footprint --out runs/footprint

How activations are counted (measured on one real forward pass at batch 1 in fp32, then scaled
linearly with the batch and by abits/32; weights by wbits/32, and they do not grow with the batch):
- training: the activations autograd keeps for the backward pass: every distinct tensor storage
  saved by the forward pass (torch.autograd.graph.saved_tensors_hooks), the parameters excluded.
  For conv -> BN -> ReLU that is the conv's input, the BN's input and the ReLU's output.
- inference: the peak of the activations alive at once (no_grad), each op's output counted from
  its creation until Python frees it, so a residual shortcut or the branches of an Inception
  block held for a later add / concat count while they wait; in-place results and views add
  nothing.
Compute cost is the paper's footnote 2: sum over layers of FMAs x (wbits + abits), with the
first conv and the last FC at 32 + 32 bits as WRPN trains them.
"""
from __future__ import annotations

import argparse
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from tqdm import tqdm

from accelsim.cli import ArgumentParser, UsageError
from accelsim.fileio import write_atomic

from . import models
from .quant import QConv2d, QLinear

FOOTPRINT_MODELS = ("alexnet", "inception_resnet_v2", "resnet50", "resnet101", "resnet20",
                    "resnet56", "resnet110")
BATCHES = (1, 8, 32)
MIB = 2 ** 20
# Footprints are arithmetic on measured sizes; beyond this a batch is a typo, not a study.
MAX_BATCH = 1_000_000


@dataclass(frozen=True)
class Measured:
    """Per-image fp32 figures of one model (bytes), from which every row is scaled."""

    weight_bytes: int
    train_activation_bytes: int
    inference_peak_bytes: int


def _sample(model: nn.Module) -> torch.Tensor:
    cfg = model.config
    return torch.rand(1, cfg.in_channels, cfg.image_size, cfg.image_size)


def saved_activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct non-parameter storages autograd saves in one forward pass."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            storages[s.data_ptr()] = s.nbytes()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x.requires_grad_(False))
    del out
    return sum(storages.values())


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of op outputs alive at once; its peak is the inference footprint."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0

    def _free(self, n: int) -> None:
        self.live -= n

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        # Views and in-place results share an input's storage: they allocate nothing.
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs))
                  if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                n = t.untyped_storage().nbytes()
                self.live += n
                self.peak = max(self.peak, self.live)
                weakref.finalize(t, self._free, n)
        return out


@torch.no_grad()
def inference_peak_bytes(model: nn.Module, x: torch.Tensor) -> int:
    model.eval()
    tracker = _LiveBytes()
    with tracker:
        y = x.clone()  # the input image counts as live activation
        y = model(y)
        del y
    return tracker.peak


def measure(model: nn.Module) -> Measured:
    x = _sample(model)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return Measured(weight_bytes, saved_activation_bytes(model, x), inference_peak_bytes(model, x))


def footprint_rows(name: str, m: Measured, batches=BATCHES, wbits: int = 2,
                   abits: int = 8) -> list[dict]:
    rows = []
    for w, a in ((32, 32), (wbits, abits)):
        for batch in batches:
            for phase, act in (("training", m.train_activation_bytes),
                               ("inference", m.inference_peak_bytes)):
                rows.append(dict(model=name, phase=phase, batch=batch, wbits=w, abits=a,
                                 weights_mib=m.weight_bytes * w / 32 / MIB,
                                 activations_mib=act * batch * a / 32 / MIB))
    return rows


@torch.no_grad()
def layer_fmas(model: nn.Module) -> list[tuple[str, int, int, int]]:
    """(layer, FMAs per image, wbits, abits) of every conv / linear, from one forward pass."""
    found = []
    names = {m: n for n, m in model.named_modules()}

    def hook(m, inp, out):
        per_output = (m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                      if isinstance(m, nn.Conv2d) else m.in_features)
        found.append((names[m], out.numel() * per_output, m.wbits, m.abits))

    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (QConv2d, QLinear))]
    model.eval()
    model(_sample(model))
    for h in hooks:
        h.remove()
    return found


def compute_cost(name: str, width: float = 1, widen: str = "none", wbits: int = 32,
                 abits: int = 32, **shape) -> dict:
    model = models.build(name, width, widen, wbits=wbits, abits=abits, **shape)
    layers = layer_fmas(model)
    return dict(model=name, width=width, widen=widen, wbits=wbits, abits=abits,
                fmas=sum(f for _, f, _, _ in layers),
                cost_bit_fmas=sum(f * (w + a) for _, f, w, a in layers),
                params=sum(p.numel() for p in model.parameters()))


def cost_table(names=("resnet20", "resnet56"), bits=((32, 32), (4, 8), (2, 8), (2, 4))) -> pd.DataFrame:
    rows = [compute_cost(n, width, widen, w, a)
            for n in names
            for width, widen in ((1, "none"), (1, "first30"), (2, "none"))
            for w, a in bits]
    df = pd.DataFrame(rows)
    base = df[(df.width == 1) & (df.widen == "none") & (df.wbits == 32)].set_index("model")
    df["cost_vs_fp32"] = df.cost_bit_fmas / df.model.map(base.cost_bit_fmas)
    return df


def figure(df: pd.DataFrame):
    import plotly.express as px

    long = df.melt(id_vars=["model", "phase", "batch", "wbits", "abits"],
                   value_vars=["weights_mib", "activations_mib"], var_name="tensor",
                   value_name="MiB")
    long["case"] = (long.phase + ", batch " + long.batch.astype(str) + ", w" +
                    long.wbits.astype(str) + "a" + long.abits.astype(str))
    return px.bar(long, x="model", y="MiB", color="tensor", barmode="group", facet_col="case",
                  facet_col_wrap=3, log_y=True,
                  title="Memory footprint: weights vs activations (paper Figure 1)")


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m training.footprint", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", default=",".join(FOOTPRINT_MODELS),
                   help=f"comma-separated networks among {', '.join(models.MODEL_NAMES)}")
    p.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes")
    p.add_argument("--wbits", type=int, default=2, help="reduced-precision weight bits")
    p.add_argument("--abits", type=int, default=8, help="reduced-precision activation bits")
    p.add_argument("--out", default="runs/footprint",
                   help="folder for footprint.csv, compute_cost.csv and footprint.html")
    try:
        a = p.parse_args(argv)
        names = [n.strip().lower() for n in a.models.split(",") if n.strip()]
        bad = [n for n in names if n not in models.MODEL_NAMES]
        if bad or not names:
            raise UsageError(f"--models {a.models!r}: choose among "
                             f"{', '.join(models.MODEL_NAMES)}")
        try:
            batches = [int(b) for b in a.batches.split(",")]
        except ValueError:
            batches = []
        if not batches or not all(1 <= b <= MAX_BATCH for b in batches):
            raise UsageError(f"--batches {a.batches!r}: comma-separated integers, 1 to "
                             f"{MAX_BATCH:,}")
        for flag, bits in (("--wbits", a.wbits), ("--abits", a.abits)):
            if not 1 <= bits <= 16:
                raise UsageError(f"{flag} {bits}: the reduced precision, 1..16")
        out = Path(a.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"--out {out}: cannot create it ({err.strerror})") from None
    except UsageError as err:
        print(f"{p.prog}: error: {err}", file=sys.stderr)
        return 2
    rows = []
    for name in tqdm(names, desc="models", disable=None):
        rows += footprint_rows(name, measure(models.build(name)), batches, a.wbits, a.abits)
    df = pd.DataFrame(rows)
    cifar = [n for n in names if n in models.CIFAR_RESNETS] or ["resnet20"]
    cost = cost_table(cifar, ((32, 32), (a.wbits, a.abits)))
    # footprint.csv last: the reproduction skips this step when it exists, so it must mean
    # that the other two are there too.  Each file whole or not at all.
    write_atomic(out / "compute_cost.csv", cost.to_csv(index=False))
    write_atomic(out / "footprint.html", figure(df).to_html(include_plotlyjs=True))
    write_atomic(out / "footprint.csv", df.to_csv(index=False, float_format="%.4f"))
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(df[df.wbits == 32].pivot_table(index="model", columns=["phase", "batch"],
                                             values="activations_mib").round(1))
        print("weights (MiB, fp32):", df[df.wbits == 32].groupby("model").weights_mib.first()
              .round(1).to_dict())
        print(cost.to_string(index=False))
    print(f"wrote {out}/footprint.csv, compute_cost.csv, footprint.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
