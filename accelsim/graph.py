"""Trace rows from tensor shapes: the one mapping both importers (torch.fx, ONNX) use.

A traced graph gives, per op, the shapes of its tensors with the batch of the example input
first.  These functions turn them into :class:`~accelsim.workload.Layer` rows of one input
(``samples``: the example's batch, divided out):
- :func:`conv_row`: a 2-D convolution (groups, depthwise included);
- :func:`gemm_row`: a product ``A @ B``; with ``B`` a weight it is a ``linear`` row (every
  leading dimension of ``A`` is a row of M: tokens, pixels), with ``B`` an activation a
  ``matmul`` row whose leading dimensions (e.g. attention heads) are its ``batch``;
- :func:`host_row`: any other op, on the host, as its input and output element counts.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from .workload import Layer


class GraphError(ValueError):
    """A traced op has no trace form; the message names the layer."""


def _pair(value, what: str, name: str) -> tuple[int, int]:
    values = tuple(value) if isinstance(value, Sequence) else (value, value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise GraphError(f"layer {name!r}: {what}={value!r} is not one or two integers")
    return values


def conv_row(name: str, input_shape: Sequence[int], out_channels: int, kernel, stride=1,
             padding=0, groups: int = 1, dilation=1, *, wbits: int = 32,
             abits: int = 32) -> Layer:
    """A conv on an (N, C, H, W) input.  ``padding``: one value, (pad_h, pad_w) or ONNX's
    (top, left, bottom, right); the trace holds one stride and one symmetric pad."""
    if len(input_shape) != 4:
        raise GraphError(f"layer {name!r}: a conv on a {len(input_shape)}-d input; only 2-D "
                         "convolutions (N, C, H, W) have a trace form")
    _, channels, height, width = (int(d) for d in input_shape)
    kernel_h, kernel_w = _pair(kernel, "kernel", name)
    stride_h, stride_w = _pair(stride, "stride", name)
    pads = tuple(padding) if isinstance(padding, Sequence) else (padding,)
    if len(pads) == 4 and (pads[0], pads[1]) == (pads[2], pads[3]):
        pads = pads[:2]
    if _pair(dilation, "dilation", name) != (1, 1):
        raise GraphError(f"layer {name!r}: dilation={dilation!r}; dilated convs have no trace "
                         "form")
    if stride_h != stride_w or len(set(pads)) != 1:
        raise GraphError(f"layer {name!r}: stride={stride!r}, padding={padding!r}; the trace "
                         "holds one stride and one symmetric pad for both dimensions")
    return Layer(name, height, width, kernel_h, kernel_w, channels, int(out_channels), stride_h,
                 int(pads[0]), wbits, abits, groups=int(groups))


def _split(name: str, count: int, samples: int, what: str) -> int:
    if count % samples:
        raise GraphError(f"layer {name!r}: its {count} {what} do not split into the example's "
                         f"batch of {samples}; trace with a batch of 1")
    return count // samples


def gemm_row(name: str, a_shape: Sequence[int], b_shape: Sequence[int], *, weight: bool,
             samples: int = 1, wbits: int = 32, abits: int = 32) -> Layer:
    """``A @ B`` with torch.matmul's shape rules: A (..., M, K), B (..., K, N), 1-D allowed.

    ``weight``: B is a parameter shared by every row of A (a linear layer)."""
    a, b = [int(d) for d in a_shape], [int(d) for d in b_shape]
    if not a or not b:
        raise GraphError(f"layer {name!r}: a product with a scalar operand is no GEMM")
    a = [1] + a if len(a) == 1 else a
    b = b + [1] if len(b) == 1 else b
    (m, k), (k_b, n) = a[-2:], b[-2:]
    if k != k_b:
        raise GraphError(f"layer {name!r}: shapes {tuple(a_shape)} @ {tuple(b_shape)} do not "
                         "match")
    if weight and len(b) == 2:
        rows = _split(name, math.prod(a[:-1]), samples, "rows")
        return Layer(name, rows, 1, 1, 1, k, n, 1, 0, wbits, abits, op="linear")
    lead_a, lead_b = a[:-2], b[:-2]
    width = max(len(lead_a), len(lead_b))
    lead_a, lead_b = [1] * (width - len(lead_a)) + lead_a, [1] * (width - len(lead_b)) + lead_b
    copies = math.prod(max(x, y) for x, y in zip(lead_a, lead_b))
    return Layer(name, m, 1, 1, 1, k, n, 1, 0, wbits, abits, op="matmul",
                 batch=_split(name, copies, samples, "GEMMs"))


def _grid(shape: Sequence[int], samples: int) -> tuple[int, int, int]:
    """(h, w, c) of one input's part of a tensor: (H, W, C) of an (N, C, H, W) image, else
    (elements / last dim, 1, last dim)."""
    shape = [int(d) for d in shape]
    if len(shape) == 4 and shape[0] == samples:
        return shape[2], shape[3], shape[1]
    total = math.prod(shape)
    per_input = total // samples if total % samples == 0 else total
    last = shape[-1] if shape and per_input % max(shape[-1], 1) == 0 else 1
    return per_input // last, 1, last


def host_row(name: str, op: str, input_shape: Sequence[int], output_shape: Sequence[int], *,
             samples: int = 1, window: tuple[int, int, int] | None = None, wbits: int = 32,
             abits: int = 32) -> Layer | None:
    """An op on the host: its input and output element counts (None for an empty tensor).

    ``window``: (kernel, stride, pad) of a pooling op, used when it reproduces the output
    shape; otherwise the row's filter spans its whole input and ``num_filters`` is the
    output's element count, so both counts are exact whatever the op does."""
    if math.prod(input_shape) == 0 or math.prod(output_shape) == 0:
        return None
    h, w, c = _grid(input_shape, samples)
    out_h, out_w, out_c = _grid(output_shape, samples)
    if window is not None and len(input_shape) == 4 and len(output_shape) == 4:
        kernel, stride, pad = window
        row = Layer(name, h, w, kernel, kernel, c, out_c, stride, pad, wbits, abits,
                    op=op, runs_on="host")
        if (row.ofmap_h, row.ofmap_w) == (out_h, out_w):
            return row
    if h * w * c == out_h * out_w * out_c:
        return Layer(name, h, w, 1, 1, c, c, 1, 0, wbits, abits, op=op, runs_on="host")
    return Layer(name, h, w, h, w, c, out_h * out_w * out_c, 1, 0, wbits, abits, op=op,
                 runs_on="host")


# An example input is materialised (training.trace) or propagated through shape inference
# (ONNX): at most 2^28 elements (1 GiB of fp32; ResNet-50 at batch 256 is 38 M) and 8 dimensions.
MAX_INPUT_ELEMENTS = 2 ** 28
MAX_INPUT_DIMS = 8


def parse_shape(text: str, flag: str = "--input") -> tuple[int, ...]:
    """``1,3,224,224`` -> (1, 3, 224, 224); ValueError naming ``flag`` (if any) otherwise."""
    where = f"{flag + ' ' if flag else ''}{str(text)[:60]!r}"
    parts = [part.strip() for part in str(text).replace("x", ",").split(",")]
    if not 1 <= len(parts) <= MAX_INPUT_DIMS or not all(
            part.isdigit() and len(part) <= 10 and int(part) > 0 for part in parts):
        raise ValueError(f"{where}: expected a tensor shape of 1..{MAX_INPUT_DIMS} positive "
                         "integers such as 1,3,224,224")
    shape = tuple(int(part) for part in parts)
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise ValueError(f"{where}: {math.prod(shape):,} elements, more than the "
                         f"{MAX_INPUT_ELEMENTS:,} an example input may hold")
    return shape


def unique_names(names: Sequence[str]) -> list[str]:
    """The names with ``_1``, ``_2``, ... added to repeats, so that each names one row."""
    seen: Counter = Counter()
    out = []
    for name in names:
        out.append(f"{name}_{seen[name]}" if seen[name] else name)
        seen[name] += 1
    return out


__all__ = ["GraphError", "conv_row", "gemm_row", "host_row", "parse_shape", "unique_names"]
