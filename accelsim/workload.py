"""Workloads: network layers, their GEMM shapes, and the files that describe them.

Three file formats are read (the format is told by the header):
- our layer trace: ``layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits``
  with unpadded input sizes and symmetric zero padding (DESIGN.md);
- SCALE-Sim's conv topology: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
  Channels, Num Filter, Strides,`` with padded sizes and no padding field;
- SCALE-Sim's GEMM topology: ``Layer, M, N, K,``.
A layer is mapped to a GEMM by im2col: M = output pixels x batch, N = filters,
K = filter_h x filter_w x channels.
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .fileio import write_atomic
from .formats import ALLOWED_BITS, ALLOWED_BITS_TEXT, FP32_BITS, TRACE_COLUMNS

SCALESIM_CONV_COLUMNS = ("layer name", "ifmap height", "ifmap width", "filter height",
                         "filter width", "channels", "num filter", "strides")
SCALESIM_GEMM_COLUMNS = ("layer", "m", "n", "k")
RESNET_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56, "resnet110": 110}
WIDEN_CHOICES = ("none", "first30", "all")


@dataclass(frozen=True)
class Layer:
    """One conv or linear layer (a linear layer is a 1x1 conv on a 1x1 input)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int = 1
    pad: int = 0
    wbits: int = 2
    abits: int = 8
    # SCALE-Sim sizes its output by ceil((H - R + S) / S) on pre-padded sizes; our traces use
    # PyTorch's floor((H + 2p - R) / S) + 1.  The flag keeps a topology's own convention.
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        for field in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters",
                      "stride"):
            value = getattr(self, field)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"layer {self.name!r}: {field}={value!r} must be an integer >= 1")
        if not isinstance(self.pad, (int, np.integer)) or self.pad < 0:
            raise ValueError(f"layer {self.name!r}: pad={self.pad!r} must be an integer >= 0")
        for field in ("wbits", "abits"):
            if getattr(self, field) not in ALLOWED_BITS:
                raise ValueError(f"layer {self.name!r}: {field}={getattr(self, field)!r}; "
                                 f"allowed widths are {ALLOWED_BITS_TEXT}")
        if self.filter_h > self.ifmap_h + 2 * self.pad or self.filter_w > self.ifmap_w + 2 * self.pad:
            raise ValueError(f"layer {self.name!r}: filter {self.filter_h}x{self.filter_w} is larger "
                             f"than the padded input {self.ifmap_h + 2 * self.pad}x"
                             f"{self.ifmap_w + 2 * self.pad}")

    @property
    def ofmap_h(self) -> int:
        return _out_size(self.ifmap_h, self.filter_h, self.stride, self.pad, self.ceil_mode)

    @property
    def ofmap_w(self) -> int:
        return _out_size(self.ifmap_w, self.filter_w, self.stride, self.pad, self.ceil_mode)

    def gemm(self, batch: int = 1) -> tuple[int, int, int]:
        """(M, N, K) of the layer's im2col GEMM for a batch of inputs."""
        return (batch * self.ofmap_h * self.ofmap_w, self.num_filters,
                self.filter_h * self.filter_w * self.channels)

    @property
    def weight_count(self) -> int:
        return self.filter_h * self.filter_w * self.channels * self.num_filters

    @property
    def macs(self) -> int:
        m, n, k = self.gemm()
        return m * n * k


@dataclass(frozen=True)
class Workload:
    """A network: its layers in execution order, and optionally a .npz of operand codes."""

    name: str
    layers: tuple[Layer, ...]
    operands_path: str | None = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"workload {self.name!r} has no layers")

    def gemms(self, batch: int = 1) -> np.ndarray:
        """An (L, 3) int64 array of every layer's (M, N, K)."""
        return np.array([layer.gemm(batch) for layer in self.layers], dtype=np.int64)


def _out_size(size: int, filt: int, stride: int, pad: int, ceil_mode: bool) -> int:
    span = size + 2 * pad - filt
    return (-(-span // stride) if ceil_mode else span // stride) + 1


# ----------------------------------------------------------------------------- built-in networks

def resnet_cifar(depth: int, width: float = 1, widen: str | None = None, in_channels: int = 3,
                 num_classes: int = 10, image_size: int = 32, wbits: int = 2, abits: int = 8,
                 full_precision_ends: bool = False) -> Workload:
    """The CIFAR ResNet of He et al. 2015 (depth 6n+2) as layers.

    3x3 conv in_channels->16, three stages of 2n 3x3 convs with 16/32/64 filters (stride 2
    entering stages 2 and 3), option-A (parameter-free) shortcuts, global average pool, FC.
    ``width`` multiplies every conv's filters; ``widen='first30'`` doubles the filters of the
    first conv and the whole first stage (the first third of the layers, DESIGN.md), and
    ``widen='all'`` doubles every conv.  With ``full_precision_ends`` the first conv and the FC
    are fp32, as WRPN trains them.
    """
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"depth={depth}: a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110)")
    blocks = (depth - 2) // 6
    filters = stage_filters(width, widen)
    end_bits = (FP32_BITS, FP32_BITS) if full_precision_ends else (wbits, abits)
    layers = []
    size = image_size
    channels = filters[0]
    layers.append(Layer("conv1", size, size, 3, 3, in_channels, channels, 1, 1, *end_bits))
    for stage, out_channels in enumerate(filters):
        for block in range(blocks):
            for conv in (1, 2):
                stride = 2 if stage > 0 and block == 0 and conv == 1 else 1
                name = f"stage{stage + 1}.block{block + 1}.conv{conv}"
                layer = Layer(name, size, size, 3, 3, channels, out_channels, stride, 1,
                              wbits, abits)
                layers.append(layer)
                size, channels = layer.ofmap_h, out_channels
    layers.append(Layer("fc", 1, 1, 1, 1, channels, num_classes, 1, 0, *end_bits))
    return Workload(f"resnet{depth}", tuple(layers))


def stage_filters(width: float = 1, widen: str | None = None) -> tuple[int, int, int]:
    """Filters of the three stages of a CIFAR ResNet (conv1 has the first stage's).

    The one widening rule training and accelsim share (DESIGN.md): ``width`` multiplies
    16/32/64; ``first30`` doubles conv1 and the first stage, ``all`` every stage.
    """
    widen = widen or "none"
    if widen not in WIDEN_CHOICES:
        raise ValueError(f"widen={widen!r}: allowed values are none, first30, all")
    if not width > 0:
        raise ValueError(f"width={width!r}: must be > 0")
    doubled = {"none": (), "first30": (0,), "all": (0, 1, 2)}[widen]
    return tuple(max(1, int(round(base * width * (2 if stage in doubled else 1))))
                 for stage, base in enumerate((16, 32, 64)))


def builtin_names() -> tuple[str, ...]:
    return tuple(RESNET_DEPTHS)


def builtin(name: str, **kwargs) -> Workload:
    """A built-in network by name (``resnet20`` ... ``resnet110``); kwargs as :func:`resnet_cifar`."""
    key = name.lower()
    if key not in RESNET_DEPTHS:
        raise ValueError(f"model={name!r}: built-in networks are {', '.join(RESNET_DEPTHS)}")
    workload = resnet_cifar(RESNET_DEPTHS[key], **kwargs)
    return replace(workload, name=key)


# ----------------------------------------------------------------------------- reading files

def read_workload(path: str | os.PathLike, wbits: int = 2, abits: int = 8) -> Workload:
    """Read a trace CSV or a SCALE-Sim topology (conv or GEMM form), telling them by the header.

    SCALE-Sim files carry no widths; their layers get ``wbits``/``abits``.  An ``.npz`` beside a
    trace with the same stem is attached as its operand codes.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"trace {str(path)!r}: no such file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"trace {str(path)!r}: cannot be read as text ({err})") from None
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    rows = [_drop_trailing_empty(row) for row in rows if any(cell for cell in row)]
    if not rows:
        raise ValueError(f"trace {str(path)!r}: the file is empty; expected a header and one row "
                         "per layer")
    header = tuple(cell.lower() for cell in rows[0])
    body = rows[1:]
    if not body:
        raise ValueError(f"trace {str(path)!r}: a header but no layers")
    if header == TRACE_COLUMNS:
        layers = [_trace_row(path, i, row) for i, row in enumerate(body, start=2)]
    elif header[:len(SCALESIM_CONV_COLUMNS)] == SCALESIM_CONV_COLUMNS:
        layers = [_scalesim_conv_row(path, i, row, wbits, abits) for i, row in enumerate(body, 2)]
    elif header[:4] == SCALESIM_GEMM_COLUMNS:
        layers = [_scalesim_gemm_row(path, i, row, wbits, abits) for i, row in enumerate(body, 2)]
    else:
        raise ValueError(
            f"trace {str(path)!r}: unrecognised header {','.join(rows[0])!r}; expected "
            f"{','.join(TRACE_COLUMNS)!r}, a SCALE-Sim conv topology, or 'Layer, M, N, K,'")
    npz = path.with_suffix(".npz")
    return Workload(path.stem, tuple(layers), str(npz) if npz.is_file() else None)


def _drop_trailing_empty(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row = row[:-1]
    return row


def _ints(path: Path, line: int, row: list[str], names: tuple[str, ...]) -> list[int]:
    if len(row) < len(names) + 1:
        raise ValueError(f"trace {str(path)!r} line {line}: expected {len(names) + 1} fields "
                         f"(name, {', '.join(names)}), found {len(row)}")
    values = []
    for name, cell in zip(names, row[1:]):
        if not re.fullmatch(r"[+-]?\d+", cell):
            raise ValueError(f"trace {str(path)!r} line {line}: {name}={cell!r} is not an integer")
        values.append(int(cell))
    return values


def _wrap(path: Path, line: int, make):
    try:
        return make()
    except ValueError as err:
        raise ValueError(f"trace {str(path)!r} line {line}: {err}") from None


def _trace_row(path: Path, line: int, row: list[str]) -> Layer:
    v = _ints(path, line, row, TRACE_COLUMNS[1:])
    return _wrap(path, line, lambda: Layer(row[0], *v))


def _scalesim_conv_row(path: Path, line: int, row: list[str], wbits: int, abits: int) -> Layer:
    v = _ints(path, line, row, ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                "Channels", "Num Filter", "Strides"))
    return _wrap(path, line, lambda: Layer(row[0], *v, pad=0, wbits=wbits, abits=abits,
                                           ceil_mode=True))


def _scalesim_gemm_row(path: Path, line: int, row: list[str], wbits: int, abits: int) -> Layer:
    m, n, k = _ints(path, line, row, ("M", "N", "K"))
    # SCALE-Sim's own reading of a GEMM: an M x K "image", a 1 x K filter, N filters.
    return _wrap(path, line, lambda: Layer(row[0], m, k, 1, k, 1, n, 1, 0, wbits, abits))


# ----------------------------------------------------------------------------- writing files

def trace_csv_text(workload: Workload) -> str:
    """The workload as our trace CSV (DESIGN.md)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRACE_COLUMNS)
    for layer in workload.layers:
        if layer.ceil_mode:
            raise ValueError(f"layer {layer.name!r} uses SCALE-Sim's ceil sizing; write it as a "
                             "SCALE-Sim topology instead")
        writer.writerow([getattr(layer, column) if column != "layer" else layer.name
                         for column in TRACE_COLUMNS])
    return out.getvalue()


def write_trace(workload: Workload, path: str | os.PathLike) -> Path:
    """Write the workload as our trace CSV, atomically."""
    return write_atomic(path, trace_csv_text(workload))


def scalesim_topology_text(workload: Workload) -> str:
    """The workload as a SCALE-Sim conv topology: padded sizes chosen so SCALE-Sim's ceil-based
    output size equals ours, every row ending with a comma as SCALE-Sim expects."""
    lines = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,"]
    for layer in workload.layers:
        padded_h = (layer.ofmap_h - 1) * layer.stride + layer.filter_h
        padded_w = (layer.ofmap_w - 1) * layer.stride + layer.filter_w
        lines.append(f"{layer.name}, {padded_h}, {padded_w}, {layer.filter_h}, {layer.filter_w}, "
                     f"{layer.channels}, {layer.num_filters}, {layer.stride},")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- operand codes

def load_operands(workload: Workload, layer: Layer) -> tuple[np.ndarray, np.ndarray] | None:
    """The layer's integer codes from the workload's .npz: A (M x K) and W (K x N), or None."""
    return load_all_operands(workload).get(layer.name)


def load_all_operands(workload: Workload) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every layer's codes from the workload's .npz in one read, by layer name (checked shapes)."""
    if workload.operands_path is None:
        return {}
    found = {}
    with np.load(workload.operands_path) as data:
        for layer in workload.layers:
            a_key, w_key = f"{layer.name}/a", f"{layer.name}/w"
            if a_key in data.files and w_key in data.files:
                found[layer.name] = _checked_operands(workload, layer, data[a_key], data[w_key])
    return found


def _checked_operands(workload: Workload, layer: Layer, activations: np.ndarray,
                      weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a_key, w_key = f"{layer.name}/a", f"{layer.name}/w"
    _, n, k = layer.gemm()
    if weights.shape != (k, n):
        raise ValueError(f"{workload.operands_path}: {w_key} has shape {weights.shape}, "
                         f"expected (K, N) = ({k}, {n})")
    if activations.ndim != 2 or activations.shape[1] != k:
        raise ValueError(f"{workload.operands_path}: {a_key} has shape {activations.shape}, "
                         f"expected (M, {k})")
    return activations, weights


def im2col(ifmap: np.ndarray, layer: Layer) -> np.ndarray:
    """Unfold an (H, W, C) input into the (M, K) operand matrix of the layer's GEMM.

    K is ordered (filter row, filter column, channel), the order :func:`weights_to_gemm` uses.
    """
    h, w, c = ifmap.shape
    if (h, w, c) != (layer.ifmap_h, layer.ifmap_w, layer.channels):
        raise ValueError(f"layer {layer.name!r}: input shape {ifmap.shape} does not match "
                         f"({layer.ifmap_h}, {layer.ifmap_w}, {layer.channels})")
    extra_h = max(0, (layer.ofmap_h - 1) * layer.stride + layer.filter_h - (h + 2 * layer.pad))
    extra_w = max(0, (layer.ofmap_w - 1) * layer.stride + layer.filter_w - (w + 2 * layer.pad))
    padded = np.pad(ifmap, ((layer.pad, layer.pad + extra_h), (layer.pad, layer.pad + extra_w),
                            (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (layer.filter_h, layer.filter_w),
                                                       axis=(0, 1))
    windows = windows[::layer.stride, ::layer.stride][:layer.ofmap_h, :layer.ofmap_w]
    # windows: (OH, OW, C, R, S) -> (OH*OW, R*S*C)
    return np.ascontiguousarray(windows.transpose(0, 1, 3, 4, 2)).reshape(
        layer.ofmap_h * layer.ofmap_w, -1)


def weights_to_gemm(filters: np.ndarray) -> np.ndarray:
    """Turn (N, C, R, S) filters (PyTorch's layout) into the (K, N) GEMM operand, K = (R, S, C)."""
    n = filters.shape[0]
    return np.ascontiguousarray(filters.transpose(2, 3, 1, 0)).reshape(-1, n)


__all__ = ["Layer", "Workload", "TRACE_COLUMNS", "RESNET_DEPTHS", "WIDEN_CHOICES", "builtin",
           "builtin_names", "resnet_cifar", "stage_filters",
           "read_workload", "write_trace", "trace_csv_text", "scalesim_topology_text",
           "load_operands", "load_all_operands", "im2col", "weights_to_gemm",
           # re-exported: training writes its files the same way
           "write_atomic"]
