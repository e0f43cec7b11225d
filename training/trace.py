"""Export a model as accelsim's layer trace (CSV) and its integer operand codes (.npz).

The layers are read off one forward pass of a sample image (hooks on every QConv2d / QLinear),
so the trace follows the model as it runs, in execution order, with the module names as layer
names (``conv1``, ``stage1.block1.conv1``, ..., ``fc`` for the CIFAR ResNets, as accelsim names
them).  For every layer quantized on both operands the .npz holds ``<layer>/w`` (K x N signed
weight codes, K ordered (r, s, c)) and ``<layer>/a`` (M x K unsigned activation codes of that
image), such that the layer's output is ``scale * (a @ w)`` (+ bias); full-precision layers have
no codes and are left out of the .npz.
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

from .quant import QConv2d, QLinear, activation_codes, is_float, layer_codes


@dataclass(frozen=True)
class Trace:
    workload: Workload
    operands: dict[str, np.ndarray]  # "<layer>/w", "<layer>/a"


@torch.no_grad()
def trace(model: nn.Module, image: torch.Tensor, name: str = "model") -> Trace:
    """The model's layers and integer codes for one (C, H, W) image in [0, 1]."""
    seen: list[tuple[str, nn.Module, torch.Tensor]] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = [m.register_forward_hook(lambda m, inp, out: seen.append((names[m], m, inp[0])))
             for m in model.modules() if isinstance(m, (QConv2d, QLinear))]
    was_training = model.training
    try:
        model.eval()
        model(image[None].to(next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    layers, operands = [], {}
    for layer_name, module, x in seen:
        layer = _layer(layer_name, module, x)
        layers.append(layer)
        if is_float(module.wbits) or is_float(module.abits):
            continue
        codes = layer_codes(module)
        filters = codes.weight if codes.weight.ndim == 4 else codes.weight[:, :, None, None]
        a = activation_codes(x[0].float().cpu(), module.abits)
        a = a.reshape(1, -1) if isinstance(module, QLinear) else im2col(
            a.permute(1, 2, 0).numpy(), layer)
        operands[f"{layer_name}/w"] = np.asarray(weights_to_gemm(filters.cpu().numpy()),
                                                 np.int8 if module.wbits <= 8 else np.int16)
        operands[f"{layer_name}/a"] = np.asarray(a, np.uint8 if module.abits <= 8 else np.uint16)
    return Trace(Workload(name, tuple(layers)), operands)


def _layer(name: str, m: nn.Module, x: torch.Tensor) -> Layer:
    if isinstance(m, QLinear):
        if x.ndim != 2:
            raise ValueError(f"layer {name!r}: a linear layer on a {x.ndim}-d input has no trace form")
        return Layer(name, 1, 1, 1, 1, m.in_features, m.out_features, 1, 0, m.wbits, m.abits,
                     op="linear")
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
