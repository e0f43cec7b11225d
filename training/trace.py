"""Export a model as accelsim's layer trace (CSV) and its integer operand codes (.npz).

    python -m training.trace --module my_pkg.my_mod:build --input 1,3,224,224 --out net.csv
    python -m training.trace --model vit_b_16 --input 1,3,224,224 --out vit.csv

The command traces any module with torch.fx (``training.fx_trace.from_module``: convs, linears,
attention matmuls, and the host ops) and writes the trace.

``trace`` / ``export`` read a model's layers off one forward pass of a sample image (hooks on
every QConv2d / QLinear), so the trace follows the model as it runs, in execution order, with
the module names as layer names (``conv1``, ``stage1.block1.conv1``, ..., ``fc`` for the CIFAR
ResNets, as accelsim names them); with ``graph=True`` the rows come from ``from_module``
instead (matmuls and host ops too).  For every layer quantized on both operands the .npz holds
``<layer>/w`` (K x N signed weight codes, K ordered (r, s, c)) and ``<layer>/a`` (M x K unsigned
activation codes of that image), and the two scales outside the array, ``<layer>/w_scale`` and
``<layer>/a_scale`` (0-d float64), such that the layer's output is ``w_scale * a_scale *
(a @ w)`` (+ bias); a grouped conv stacks its groups' codes, (G, K, N) and (G, M, K).
Full-precision layers have no codes and are left out of the .npz.

A layer's activation scale is the code step of the QReLU whose output it reads (PACT's alpha /
(2^k - 1), or WRPN's 1 / (2^k - 1)), found by following that tensor from the quantizer through
ops that only select values (max pooling, flatten, dropout in eval mode).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from accelsim.cli import ArgumentParser
from accelsim.fileio import unwritable
from accelsim.formats import ALLOWED_BITS, ALLOWED_BITS_TEXT
from accelsim.graph import GraphError, conv_row, gemm_row, parse_shape
from accelsim.workload import (Layer, Workload, im2col, weights_to_gemm, write_atomic,
                               write_trace)

from . import models
from .fx_trace import from_module
from .quant import QConv2d, QLinear, QReLU, activation_codes, is_float, layer_codes
from .user_model import instantiate

# Modules whose output values are a subset of their input's: a code step passes through them.
_STEP_PRESERVING = (nn.MaxPool2d, nn.MaxPool1d, nn.Flatten, nn.Dropout, nn.Identity)


@dataclass(frozen=True)
class Trace:
    workload: Workload
    operands: dict[str, np.ndarray]  # "<layer>/w", "<layer>/a"


@torch.no_grad()
def trace(model: nn.Module, image: torch.Tensor, name: str = "model",
          graph: bool = False) -> Trace:
    """The model's layers and integer codes for one (C, H, W) image in [0, 1]; ``graph``:
    every op of its torch.fx graph as a row, not only its QConv2d / QLinear layers."""
    seen: list[tuple[str, nn.Module, torch.Tensor, float | None]] = []
    names = {m: n for n, m in model.named_modules()}
    # id(tensor) -> (tensor, code step); the tensor is kept so its id is not reused.
    steps: dict[int, tuple[torch.Tensor, float]] = {}

    def quantized(m, inp, out):
        if not is_float(m.abits):
            steps[id(out)] = (out, m.step())

    def passes_step(m, inp, out):
        if id(inp[0]) in steps:
            steps[id(out)] = (out, steps[id(inp[0])][1])

    def gemm(m, inp, out):
        known = steps.get(id(inp[0]))
        seen.append((names[m], m, inp[0], None if known is None else known[1]))

    hooks = [m.register_forward_hook(gemm) for m in model.modules()
             if isinstance(m, (QConv2d, QLinear))]
    hooks += [m.register_forward_hook(quantized) for m in model.modules()
              if isinstance(m, QReLU)]
    hooks += [m.register_forward_hook(passes_step) for m in model.modules()
              if isinstance(m, _STEP_PRESERVING)]
    was_training = model.training
    try:
        model.eval()
        model(image[None].to(next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    layers, operands = [], {}
    for layer_name, module, x, step in seen:
        layer = _layer(layer_name, module, x)
        layers.append(layer)
        if is_float(module.wbits) or is_float(module.abits):
            continue
        if step is None:
            raise ValueError(f"layer {layer_name!r} is quantized but its input comes from no "
                             "QReLU: its activation codes are unknown")
        w, a, scales = _codes(module, layer, x[0], step)
        operands[f"{layer_name}/w"] = np.asarray(w, np.int8 if module.wbits <= 8 else np.int16)
        operands[f"{layer_name}/a"] = np.asarray(a, np.uint8 if module.abits <= 8 else np.uint16)
        operands[f"{layer_name}/w_scale"] = np.float64(scales.weight_scale)
        operands[f"{layer_name}/a_scale"] = np.float64(scales.activation_scale)
    if graph:
        layers = list(from_module(model, image[None].to(next(model.parameters()).device),
                                  name=name).layers)
    return Trace(Workload(name, tuple(layers)), operands)


def _layer(name: str, m: nn.Module, x: torch.Tensor) -> Layer:
    try:
        if isinstance(m, QLinear):
            return gemm_row(name, x.shape, (m.in_features, m.out_features), weight=True,
                            wbits=m.wbits, abits=m.abits)
        return conv_row(name, x.shape, m.out_channels, m.kernel_size, m.stride, m.padding,
                        m.groups, m.dilation, wbits=m.wbits, abits=m.abits)
    except GraphError as err:
        raise ValueError(str(err)) from None


def _codes(module: QConv2d | QLinear, layer: Layer, x: torch.Tensor, step: float) -> tuple:
    """(W, A, LayerCodes) of one input x whose code step is ``step``: W (K, N) and A (M, K),
    or stacked per group (G, ...)."""
    scales = layer_codes(module, step)
    codes = scales.weight.cpu()
    a = activation_codes(x.float().cpu(), module.abits, step)
    if isinstance(module, QLinear):
        return (weights_to_gemm(codes[:, :, None, None].numpy()), a.reshape(-1, layer.channels),
                scales)
    groups = layer.groups
    one = replace(layer, channels=layer.channels // groups,
                  num_filters=layer.num_filters // groups, groups=1)
    pixels = a.permute(1, 2, 0).numpy()
    w = [weights_to_gemm(f.numpy()) for f in codes.chunk(groups, 0)]
    a = [im2col(p, one) for p in np.split(pixels, groups, axis=2)]
    return (w[0], a[0], scales) if groups == 1 else (np.stack(w), np.stack(a), scales)


def export(model: nn.Module, image: torch.Tensor, csv_path: str | os.PathLike,
           graph: bool = False) -> Trace:
    """Write ``<csv_path>`` (the trace) and the .npz with the same stem, both atomically."""
    csv_path = Path(csv_path)
    result = trace(model, image, csv_path.stem, graph)
    write_trace(result.workload, csv_path)
    packed = io.BytesIO()
    np.savez_compressed(packed, **result.operands)
    write_atomic(csv_path.with_suffix(".npz"), packed.getvalue())
    return result


# ----------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m training.trace",
                description="Trace a PyTorch module with torch.fx into accelsim's layer trace.",
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--module", help="package.module:callable returning an nn.Module "
                        "(called with no arguments)")
    source.add_argument("--model", help="a network of training.models (resnet18, resnet50, "
                        "mobilenet_v2, vit_b_16, resnet20, ...)")
    p.add_argument("--input", help="the example input's shape, batch first, e.g. 1,3,224,224 "
                   "(required: the trace's shapes come from it)")
    p.add_argument("--out", required=True, help="the trace CSV to write")
    p.add_argument("--wbits", type=int, default=32, help="width of layers that carry none "
                   "(QConv2d / QLinear carry their own)")
    p.add_argument("--abits", type=int, default=32, help="activation width of layers that "
                   "carry none")
    p.add_argument("--no-host", action="store_true",
                   help="leave out the ops that run on the host (pooling, norms, softmax, ...)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.input is None:
            raise ValueError("--input is required: give the example input's shape, batch "
                             "first, e.g. --input 1,3,224,224")
        shape = parse_shape(args.input)
        for flag, bits in (("--wbits", args.wbits), ("--abits", args.abits)):
            if bits not in ALLOWED_BITS:
                raise ValueError(f"{flag} {bits}: allowed widths are {ALLOWED_BITS_TEXT}")
        why = unwritable(args.out)  # before tracing, which may take a while
        if why:
            raise ValueError(f"--out {args.out!r} {why}; accepts a CSV file to write")
        if args.module:
            model, name = instantiate(args.module), args.module.rpartition(":")[2]
        else:
            with torch.device("meta"):  # shapes only: no weights to initialise
                model, name = models.build(args.model), args.model
        workload = from_module(model, torch.zeros(shape), name=name,
                               wbits=args.wbits, abits=args.abits, host_ops=not args.no_host)
        try:
            write_trace(workload, args.out)
        except OSError as err:  # named by the flag, not by the temporary file beside it
            raise ValueError(f"--out {args.out!r}: cannot be written ({err.strerror or err})"
                             ) from None
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    on_array = [layer for layer in workload.layers if layer.on_array]
    print(f"wrote {args.out}: {len(workload.layers)} rows ({len(on_array)} on the array, "
          f"{sum(layer.macs for layer in on_array):,} MACs per input)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
