"""Export a model as accelsim's layer trace (CSV) and its integer operand codes (.npz).

The layers are read off one forward pass of a sample image (hooks on every QConv2d / QLinear),
so the trace follows the model as it runs, in execution order, with the module names as layer
names (``conv1``, ``stage1.block1.conv1``, ..., ``fc`` for the CIFAR ResNets, as accelsim names
them).  For every layer quantized on both operands the .npz holds ``<layer>/w`` (K x N signed
weight codes, K ordered (r, s, c)), ``<layer>/a`` (M x K unsigned activation codes of that
image), and the two scales outside the array, ``<layer>/w_scale`` and ``<layer>/a_scale``
(0-d float64), such that the layer's output is ``w_scale * a_scale * (a @ w)`` (+ bias);
full-precision layers have no codes and are left out of the .npz.

A layer's activation scale is the code step of the QReLU whose output it reads (PACT's alpha /
(2^k - 1), or WRPN's 1 / (2^k - 1)), found by following that tensor from the quantizer through
ops that only select values (max pooling, flatten, dropout in eval mode).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from accelsim.workload import (Layer, Workload, im2col, weights_to_gemm, write_atomic,
                               write_trace)

from .quant import QConv2d, QLinear, QReLU, activation_codes, is_float, layer_codes

# Modules whose output values are a subset of their input's: a code step passes through them.
_STEP_PRESERVING = (nn.MaxPool2d, nn.MaxPool1d, nn.Flatten, nn.Dropout, nn.Identity)


@dataclass(frozen=True)
class Trace:
    workload: Workload
    operands: dict[str, np.ndarray]  # "<layer>/w", "<layer>/a"


@torch.no_grad()
def trace(model: nn.Module, image: torch.Tensor, name: str = "model") -> Trace:
    """The model's layers and integer codes for one (C, H, W) image in [0, 1]."""
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
        codes = layer_codes(module, step)
        filters = codes.weight if codes.weight.ndim == 4 else codes.weight[:, :, None, None]
        a = activation_codes(x[0].float().cpu(), module.abits, step)
        a = a.reshape(1, -1) if isinstance(module, QLinear) else im2col(
            a.permute(1, 2, 0).numpy(), layer)
        operands[f"{layer_name}/w"] = np.asarray(weights_to_gemm(filters.cpu().numpy()),
                                                 np.int8 if module.wbits <= 8 else np.int16)
        operands[f"{layer_name}/a"] = np.asarray(a, np.uint8 if module.abits <= 8 else np.uint16)
        operands[f"{layer_name}/w_scale"] = np.float64(codes.weight_scale)
        operands[f"{layer_name}/a_scale"] = np.float64(codes.activation_scale)
    return Trace(Workload(name, tuple(layers)), operands)


def _layer(name: str, m: nn.Module, x: torch.Tensor) -> Layer:
    if isinstance(m, QLinear):
        if x.ndim != 2:
            raise ValueError(f"layer {name!r}: a linear layer on a {x.ndim}-d input has no trace form")
        return Layer(name, 1, 1, 1, 1, m.in_features, m.out_features, 1, 0, m.wbits, m.abits)
    if (m.groups != 1 or m.dilation != (1, 1) or m.stride[0] != m.stride[1]
            or not isinstance(m.padding, tuple) or m.padding[0] != m.padding[1]):
        raise ValueError(f"layer {name!r}: grouped, dilated, or unequal stride/padding convs "
                         "have no trace form")
    return Layer(name, x.shape[2], x.shape[3], m.kernel_size[0], m.kernel_size[1],
                 m.in_channels, m.out_channels, m.stride[0], m.padding[0], m.wbits, m.abits)


def export(model: nn.Module, image: torch.Tensor, csv_path: str | os.PathLike) -> Trace:
    """Write ``<csv_path>`` (the trace) and the .npz with the same stem, both atomically."""
    csv_path = Path(csv_path)
    result = trace(model, image, csv_path.stem)
    write_trace(result.workload, csv_path)
    packed = io.BytesIO()
    np.savez_compressed(packed, **result.operands)
    write_atomic(csv_path.with_suffix(".npz"), packed.getvalue())
    return result
