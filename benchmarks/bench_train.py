"""Training speed: a WRPN (fake-quantized) step vs the fp32 step, and the epoch time.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py [--steps 8] [--threads 2]
    python benchmarks/bench_train.py --device cuda --data-dir DIR [--amp bf16] [--compile]

With ``--device cuda`` it times whole epochs instead, through training.train's own loop (data
resident on the GPU, no host sync inside the epoch, channels_last): for each of ResNet-20 and
ResNet-56, fp32 and the quantized variant, ``--epochs`` epochs of full Fashion-MNIST (60,000
images; ``--data-dir`` names the four .gz files, else Debian's folder), and reports the median
epoch after the first (which pays cuDNN autotuning and, with --compile, compilation).
Targets (issue 10, one H100/H200, batch 128): ResNet-20 w2a8 <= 1.5 s, ResNet-56 w2a8 <= 4 s per
epoch, quantized / fp32 <= 1.3.

Both steps run in the same process on the same random batch (batch 128, 1 x 28 x 28 like
Fashion-MNIST), interleaved step by step so load from other jobs hits both alike; each figure
is the median of --steps timed steps after --warmup untimed ones.  The epoch time is the median
fp32 / quantized step x the steps of one Fashion-MNIST epoch (60,000 / 128 = 469): an estimate
from measured steps, not a timed epoch.  Target (issue 4): quantized / fp32 <= 1.25.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

from training import models

FASHION_TRAIN_IMAGES = 60_000
TARGET_RATIO = 1.25
GPU_TARGETS_S = {"resnet20": 1.5, "resnet56": 4.0}
GPU_TARGET_RATIO = 1.3


def time_epochs(a) -> None:
    """Whole epochs through training.train (the GPU path); one line per model and precision."""
    import tempfile

    from training.train import RunConfig, setup, train_epoch

    print(f"device {a.device} ({torch.cuda.get_device_name(a.device) if a.device.startswith('cuda') else 'cpu'}), "
          f"batch {a.batch_size}, amp {a.amp}, compile {a.compile}, median of epochs 2..{a.epochs}")
    for model in a.models.split(","):
        seconds = {}
        for wbits, abits in ((32, 32), (a.wbits, a.abits)):
            with tempfile.TemporaryDirectory() as tmp:
                cfg = RunConfig(model=model, dataset=a.dataset, data_dir=a.data_dir, wbits=wbits,
                                abits=abits, epochs=a.epochs, batch_size=a.batch_size,
                                device=a.device, out=f"{tmp}/run", amp=a.amp,
                                compile=a.compile, eval_batch_size=2000)
                session = setup(cfg, log=lambda line: None)
                times = [train_epoch(session, e).seconds for e in range(1, a.epochs + 1)]
            seconds[(wbits, abits)] = statistics.median(times[1:])
            target = GPU_TARGETS_S.get(model) if wbits < 32 else None
            verdict = ("" if target is None else
                       f" (target <= {target} s: {'met' if times[-1] <= target else 'NOT met'})")
            print(f"  {model} w{wbits}a{abits}: {seconds[(wbits, abits)]:.2f} s per epoch "
                  f"(epochs: {', '.join(f'{t:.2f}' for t in times)}){verdict}", flush=True)
        ratio = seconds[(a.wbits, a.abits)] / seconds[(32, 32)]
        print(f"  {model} quantized / fp32 epoch: {ratio:.2f} (target <= {GPU_TARGET_RATIO}: "
              f"{'met' if ratio <= GPU_TARGET_RATIO else 'NOT met'})")


def step_fn(model: torch.nn.Module, opt: torch.optim.Optimizer, x, y):
    def step() -> float:
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - start
    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="resnet20", help="CIFAR ResNet to time")
    p.add_argument("--batch-size", type=int, default=128, help="images per step")
    p.add_argument("--steps", type=int, default=8, help="timed steps per variant (median)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--wbits", type=int, default=2, help="quantized variant's weight bits")
    p.add_argument("--abits", type=int, default=8, help="quantized variant's activation bits")
    p.add_argument("--widen", default="none", help="widening of both variants")
    p.add_argument("--device", default="cpu",
                   help="cpu: time single steps; cuda[:N]: time whole epochs (see above)")
    p.add_argument("--models", default="resnet20,resnet56", help="epoch mode: networks to time")
    p.add_argument("--epochs", type=int, default=3, help="epoch mode: epochs per variant")
    p.add_argument("--dataset", default="fashion-mnist", help="epoch mode: data set")
    p.add_argument("--data-dir", help="epoch mode: folder of the data set's files")
    p.add_argument("--amp", default="bf16", choices=("off", "bf16"), help="epoch mode: autocast")
    p.add_argument("--compile", action="store_true", help="epoch mode: torch.compile the student")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device != "cpu":
        time_epochs(a)
        return
    torch.manual_seed(0)
    x = torch.rand(a.batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch_size,))
    variants = {}
    for label, bits in (("fp32", (32, 32)), (f"w{a.wbits}a{a.abits}", (a.wbits, a.abits))):
        model = models.build(a.model, widen=a.widen, in_channels=1, image_size=28,
                             wbits=bits[0], abits=bits[1])
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        variants[label] = step_fn(model, opt, x, y)
    for _ in range(a.warmup):
        for step in variants.values():
            step()
    times = {label: [] for label in variants}
    for _ in range(a.steps):
        for label, step in variants.items():
            times[label].append(step())
    steps_per_epoch = math.ceil(FASHION_TRAIN_IMAGES / a.batch_size)
    print(f"{a.model} widen={a.widen}, batch {a.batch_size}, {a.threads} threads, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
          f"median of {a.steps} steps after {a.warmup} warm-up")
    medians = {label: statistics.median(t) for label, t in times.items()}
    for label, m in medians.items():
        print(f"  {label:>8}: step {m:.3f} s (min {min(times[label]):.3f}, max "
              f"{max(times[label]):.3f}); Fashion-MNIST epoch ~{m * steps_per_epoch / 60:.1f} min "
              f"(estimated: {steps_per_epoch} steps x median step)")
    fp, q = medians.values()
    ratio = q / fp
    print(f"  quantized / fp32 step time: {ratio:.2f} (target <= {TARGET_RATIO}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})")


if __name__ == "__main__":
    main()
