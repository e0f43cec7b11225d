"""Training speed: a WRPN (fake-quantized) step vs the fp32 step, and ResNet-20's epoch time.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train.py [--steps 8] [--threads 2]

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
    a = p.parse_args()
    torch.set_num_threads(a.threads)
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
