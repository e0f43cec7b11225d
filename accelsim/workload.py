"""Workloads: network layers, their GEMM shapes, and the files that describe them.

Three file formats are read (the format is told by the header):
- our layer trace: ``layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits``
  with unpadded input sizes and symmetric zero padding (DESIGN.md), optionally followed by the
  appended columns ``groups,op,runs_on,batch`` (any leading part of them; an absent column or
  an empty cell takes its default: 1, conv, array, 1);
- SCALE-Sim's conv topology: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
  Channels, Num Filter, Strides,`` with padded sizes and no padding field;
- SCALE-Sim's GEMM topology: ``Layer, M, N, K,``.
A layer is mapped to GEMMs by im2col: M = output pixels x batch, N = filters,
K = filter_h x filter_w x channels.  The appended columns:
- ``groups``: a grouped conv (depthwise: groups = channels) is ``groups`` GEMMs of
  M x (N / groups) x (K / groups), run back to back;
- ``op``: ``conv``, ``linear`` (a 1x1 conv on an ifmap_h x ifmap_w grid of tokens; 1 x 1 for a
  plain FC layer) or ``matmul`` (a product of two activations such as attention's QK^T and AV:
  an (ifmap_h x ifmap_w) x channels matrix times a channels x num_filters one, 1x1 filter);
  rows that run on the host may name any op (``pool``, ``softmax``, ``norm``, ``add``, ...);
- ``runs_on``: ``array``, or ``host`` for an op the array does not run: it takes no array
  cycles, and its input (ifmap_h x ifmap_w x channels) and output (the window's ofmap_h x
  ofmap_w x num_filters) are the element counts the memory model moves;
- ``batch``: independent copies of the row per input, for a matmul (its leading dimensions,
  e.g. the attention heads: ``batch`` GEMMs, their second operand differing per copy) or a host
  op; a conv or linear row folds its repeats into ifmap_h instead.
The writer appends only as many of these columns as the workload needs, so a plain conv network
keeps the first header.
"""
from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .config import activation_code_range, weight_code_range
from .fileio import write_atomic
from .formats import (ALLOWED_BITS, ALLOWED_BITS_TEXT, FP32_BITS, GEMM_OPS, HOST_OPS, RUNS_ON,
                      TRACE_COLUMNS, TRACE_OPTIONAL_COLUMNS, TWO_INPUT_OPS)

SCALESIM_CONV_COLUMNS = ("layer name", "ifmap height", "ifmap width", "filter height",
                         "filter width", "channels", "num filter", "strides")
SCALESIM_GEMM_COLUMNS = ("layer", "m", "n", "k")
# Bounds of a layer: each size and count fits a signed 32-bit integer, and its elements (input,
# output, weights) and MACs per input at most 2^46 (GPT-3's largest layer over 2048 tokens is
# 1.2e12 MACs), so that at the largest batch (2^16) every size stays inside int64;
# accelsim.network checks the counts a run derives from them.  A name is at most MAX_NAME
# characters (a module path is well under it; a 128 kB cell is an error).
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 2**46
MAX_NAME = 1024
RESNET_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56, "resnet110": 110}
WIDEN_CHOICES = ("none", "first30", "all")


@dataclass(frozen=True)
class Layer:
    """One row of a network: a conv, linear or matmul on the array, or an op on the host.

    A linear layer is a 1x1 conv on an ifmap_h x ifmap_w grid of tokens (1 x 1 for one input
    vector); see the module docstring for ``groups``, ``op``, ``runs_on`` and ``batch``.
    """

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
    groups: int = 1
    op: str = "conv"
    runs_on: str = "array"
    batch: int = 1
    # Elements of a shortcut tensor added to this layer's output (a residual add folded into
    # the layer, as the built-in ResNets give it; a trace writes an add as a host row instead).
    # The memory model keeps it on chip between the block's first layer and this one.  It
    # describes the graph around the layer, not the layer: equal layers may differ in it.
    residual_elems: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= MAX_NAME:
            shown = self.name[:40] + "..." if isinstance(self.name, str) else self.name
            raise ValueError(f"layer name {shown!r}: must be text of 1..{MAX_NAME} characters")
        for size in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters",
                     "stride", "groups", "batch", "pad"):
            value, low = getattr(self, size), 0 if size == "pad" else 1
            if not isinstance(value, (int, np.integer)) or not low <= value <= MAX_DIM:
                raise ValueError(f"layer {self.name!r}: {size}={value!r} must be an integer "
                                 f"in {low}..{MAX_DIM}")
        if not isinstance(self.residual_elems, (int, np.integer)) or self.residual_elems < 0:
            raise ValueError(f"layer {self.name!r}: residual_elems={self.residual_elems!r} must "
                             "be an integer >= 0")
        for size in ("wbits", "abits"):
            if getattr(self, size) not in ALLOWED_BITS:
                raise ValueError(f"layer {self.name!r}: {size}={getattr(self, size)!r}; "
                                 f"allowed widths are {ALLOWED_BITS_TEXT}")
        if self.filter_h > self.ifmap_h + 2 * self.pad or self.filter_w > self.ifmap_w + 2 * self.pad:
            raise ValueError(f"layer {self.name!r}: filter {self.filter_h}x{self.filter_w} is larger "
                             f"than the padded input {self.ifmap_h + 2 * self.pad}x"
                             f"{self.ifmap_w + 2 * self.pad}")
        self._check_op()
        sizes = {"input elements": self.ifmap_h * self.ifmap_w * self.channels * self.batch,
                 "output elements": self.ofmap_h * self.ofmap_w * self.num_filters * self.batch,
                 "weights": (self.filter_h * self.filter_w * self.channels // self.groups
                             * self.num_filters),
                 "MACs": self.macs}
        for what, size in sizes.items():
            if size > MAX_ELEMENTS:
                raise ValueError(f"layer {self.name!r}: {size:.3g} {what} per input, more than "
                                 f"the {MAX_ELEMENTS:.3g} a layer may have")

    def _check_op(self) -> None:
        where = f"layer {self.name!r}"
        if self.runs_on not in RUNS_ON:
            raise ValueError(f"{where}: runs_on={self.runs_on!r}; allowed values are array, host")
        if not isinstance(self.op, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", self.op):
            raise ValueError(f"{where}: op={self.op!r} must be a lower-case name such as "
                             f"{', '.join(GEMM_OPS)} or pool")
        if self.runs_on == "array" and self.op not in GEMM_OPS:
            raise ValueError(f"{where}: op={self.op!r} does not run on the array; allowed "
                             f"there are {', '.join(GEMM_OPS)} (or give runs_on=host)")
        if self.groups > 1 and (self.op != "conv" or self.channels % self.groups
                                or self.num_filters % self.groups):
            raise ValueError(f"{where}: groups={self.groups} needs a conv whose channels "
                             f"({self.channels}) and num_filters ({self.num_filters}) it divides")
        if self.op in ("linear", "matmul") and (self.filter_h, self.filter_w, self.stride,
                                                self.pad) != (1, 1, 1, 0):
            raise ValueError(f"{where}: a {self.op} row has a 1x1 filter, stride 1 and pad 0")
        if self.batch > 1 and self.op in ("conv", "linear") and self.runs_on == "array":
            raise ValueError(f"{where}: batch={self.batch} on a {self.op} row: its copies share "
                             "the weights, so fold them into ifmap_h (M) instead")

    @property
    def on_array(self) -> bool:
        return self.runs_on == "array"

    @property
    def ofmap_h(self) -> int:
        return _out_size(self.ifmap_h, self.filter_h, self.stride, self.pad, self.ceil_mode)

    @property
    def ofmap_w(self) -> int:
        return _out_size(self.ifmap_w, self.filter_w, self.stride, self.pad, self.ceil_mode)

    def gemm(self, batch: int = 1) -> tuple[int, int, int]:
        """(M, N, K) of each of the layer's GEMMs for a batch of inputs; (0, 0, 0) on the host.

        A matmul's inputs are separate GEMMs (:meth:`gemm_count`); a conv's or linear's share
        the weights, so they stack into M."""
        if not self.on_array:
            return 0, 0, 0
        pixels = self.ofmap_h * self.ofmap_w
        return (pixels if self.op == "matmul" else batch * pixels,
                self.num_filters // self.groups,
                self.filter_h * self.filter_w * self.channels // self.groups)

    def gemm_count(self, batch: int = 1) -> int:
        """How many GEMMs of shape :meth:`gemm` the layer runs: groups x batch copies (x the
        inputs, for a matmul); 0 on the host."""
        if not self.on_array:
            return 0
        return self.groups * self.batch * (batch if self.op == "matmul" else 1)

    def sizes(self, batch: int = 1) -> dict[str, int]:
        """GEMM shape and count, and the elements the memory model moves, for a batch of inputs.

        ``ifmap_elems``: the input read (a two-input host op such as add reads two);
        ``filter_elems``: the second GEMM operand (a matmul's is an activation);
        ``weight_elems``: weights held for the array; ``ofmap_elems``: the output written.
        """
        m, n, k = self.gemm(batch)
        gemms = self.gemm_count(batch)
        copies = self.batch * batch
        ifmap = self.ifmap_h * self.ifmap_w * self.channels * copies
        if not self.on_array:
            ifmap *= 2 if self.op in TWO_INPUT_OPS else 1
            ofmap = self.ofmap_h * self.ofmap_w * self.num_filters * copies
        else:
            ofmap = gemms * m * n
        return {"M": m, "N": n, "K": k, "gemms": gemms, "ifmap_elems": ifmap,
                "filter_elems": gemms * k * n if self.op == "matmul" else self.weight_count,
                "weight_elems": self.weight_count, "ofmap_elems": ofmap}

    @property
    def weight_count(self) -> int:
        """Weights of a conv or linear row on the array (a matmul has none)."""
        if not self.on_array or self.op == "matmul":
            return 0
        return self.filter_h * self.filter_w * self.channels // self.groups * self.num_filters

    @property
    def macs(self) -> int:
        m, n, k = self.gemm()
        return self.gemm_count() * m * n * k


@dataclass(frozen=True)
class Workload:
    """A network: its layers in execution order, and optionally a .npz of operand codes.

    ``array_widths``: per layer, True where its widths are not the network's own but those of
    the array it runs on (a built-in network's quantized layers; every layer of a SCALE-Sim
    topology, which has no widths); empty: every layer keeps its widths.
    """

    name: str
    layers: tuple[Layer, ...]
    operands_path: str | None = None
    array_widths: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"workload {self.name!r} has no layers")
        # Rows are keyed by name (a trace's .npz codes, dse's per-layer columns, the dashboard's
        # layer picker): two rows of one name would silently share or swap them.
        seen = set()
        for layer in self.layers:
            if layer.name in seen:
                raise ValueError(f"workload {self.name!r}: layer name {layer.name!r} appears "
                                 "twice; each layer needs a name of its own")
            seen.add(layer.name)
        if self.array_widths and len(self.array_widths) != len(self.layers):
            raise ValueError(f"workload {self.name!r}: array_widths has "
                             f"{len(self.array_widths)} entries for {len(self.layers)} layers")

    def at_widths(self, wbits: int, abits: int) -> "Workload":
        """The workload on an array of these widths: its array-width layers take them."""
        if not any(self.array_widths):
            return self
        layers = tuple(replace(layer, wbits=wbits, abits=abits) if follows else layer
                       for layer, follows in zip(self.layers, self.array_widths))
        return replace(self, layers=layers)

    def gemms(self, batch: int = 1) -> np.ndarray:
        """An (L, 3) int64 array of every layer's (M, N, K) (see ``Layer.gemm``)."""
        return np.array([layer.gemm(batch) for layer in self.layers], dtype=np.int64)

    def sizes(self, batch: int = 1) -> dict[str, np.ndarray]:
        """``Layer.sizes`` of every layer as int64 columns, plus layer, op and runs_on."""
        rows = [layer.sizes(batch) for layer in self.layers]
        columns: dict[str, np.ndarray] = {
            "layer": np.array([layer.name for layer in self.layers], dtype=object),
            "op": np.array([layer.op for layer in self.layers], dtype=object),
            "runs_on": np.array([layer.runs_on for layer in self.layers], dtype=object)}
        for name in rows[0]:
            columns[name] = np.array([row[name] for row in rows], dtype=np.int64)
        return columns


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
    are fp32, as WRPN trains them; the other layers are at ``wbits``/``abits`` and marked as
    taking the array's widths (``Workload.array_widths``).  Each block's second conv carries
    the shortcut it adds (``residual_elems``: the block's input, subsampled to the output's
    size; option A's zero-padded channels add nothing).
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
                if conv == 1:
                    block_channels = channels
                layer = Layer(name, size, size, 3, 3, channels, out_channels, stride, 1,
                              wbits, abits)
                if conv == 2:
                    layer = replace(layer, residual_elems=layer.ofmap_h * layer.ofmap_w
                                    * block_channels)
                layers.append(layer)
                size, channels = layer.ofmap_h, out_channels
    layers.append(Layer("fc", 1, 1, 1, 1, channels, num_classes, 1, 0, *end_bits, op="linear"))
    follows = tuple(not (full_precision_ends and layer.name in ("conv1", "fc"))
                    for layer in layers)
    return Workload(f"resnet{depth}", tuple(layers), array_widths=follows)


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
    try:
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as err:  # e.g. a cell beyond the csv module's 128 kB field limit
        raise ValueError(f"trace {str(path)!r}: not a readable CSV ({err})") from None
    rows = [_drop_trailing_empty(row) for row in rows if any(cell for cell in row)]
    if not rows:
        raise ValueError(f"trace {str(path)!r}: the file is empty; expected a header and one row "
                         "per layer")
    header = tuple(cell.lower() for cell in rows[0])
    body = rows[1:]
    if not body:
        raise ValueError(f"trace {str(path)!r}: a header but no layers")
    optional = _optional_trace_columns(header)
    if optional is not None:
        layers = [_trace_row(path, i, row, optional) for i, row in enumerate(body, start=2)]
    elif header[:len(SCALESIM_CONV_COLUMNS)] == SCALESIM_CONV_COLUMNS:
        layers = [_scalesim_conv_row(path, i, row, wbits, abits) for i, row in enumerate(body, 2)]
    elif header[:4] == SCALESIM_GEMM_COLUMNS:
        layers = [_scalesim_gemm_row(path, i, row, wbits, abits) for i, row in enumerate(body, 2)]
    else:
        raise ValueError(
            f"trace {str(path)!r}: unrecognised header {','.join(rows[0])!r}; expected "
            f"{','.join(TRACE_COLUMNS)!r} (then optionally {','.join(TRACE_OPTIONAL_COLUMNS)!r}"
            f"), a SCALE-Sim conv topology, or 'Layer, M, N, K,'")
    lines: dict[str, int] = {}
    for line, layer in enumerate(layers, start=2):
        if layer.name in lines:
            raise ValueError(f"trace {str(path)!r} line {line}: layer name {layer.name!r} "
                             f"repeats line {lines[layer.name]}'s; each layer needs a name of "
                             "its own")
        lines[layer.name] = line
    npz = path.with_suffix(".npz")
    from_array = optional is None  # SCALE-Sim files carry no widths
    return Workload(path.stem, tuple(layers), str(npz) if npz.is_file() else None,
                    array_widths=(from_array,) * len(layers))


def _drop_trailing_empty(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row = row[:-1]
    return row


def _ints(path: Path, line: int, row: list[str], names: tuple[str, ...]) -> list[int]:
    if len(row) < len(names) + 1:
        raise ValueError(f"trace {str(path)!r} line {line}: expected {len(names) + 1} fields "
                         f"(name, {', '.join(names)}), found {len(row)}")
    return [_int_cell(path, line, name, cell) for name, cell in zip(names, row[1:])]


def _int_cell(path: Path, line: int, name: str, cell: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", cell):
        raise ValueError(f"trace {str(path)!r} line {line}: {name}={cell[:40]!r} is not an "
                         "integer")
    if len(cell.lstrip("+-0")) > len(str(MAX_DIM)):  # before int(): 5,000 digits raise
        raise ValueError(f"trace {str(path)!r} line {line}: {name}={cell[:40]!r} is beyond "
                         f"{MAX_DIM}")
    return int(cell)


def _wrap(path: Path, line: int, make):
    try:
        return make()
    except ValueError as err:
        raise ValueError(f"trace {str(path)!r} line {line}: {err}") from None


def _optional_trace_columns(header: tuple[str, ...]) -> tuple[str, ...] | None:
    """The appended columns a trace header carries (a leading part of them), or None if the
    header is not our trace's."""
    extra = header[len(TRACE_COLUMNS):]
    if header[:len(TRACE_COLUMNS)] != TRACE_COLUMNS or extra != tuple(
            TRACE_OPTIONAL_COLUMNS)[:len(extra)]:
        return None
    return extra


def _trace_row(path: Path, line: int, row: list[str], optional: tuple[str, ...] = ()) -> Layer:
    v = _ints(path, line, row, TRACE_COLUMNS[1:])
    if len(row) > len(TRACE_COLUMNS) + len(optional):
        raise ValueError(f"trace {str(path)!r} line {line}: {len(row)} fields, more than the "
                         f"header's {len(TRACE_COLUMNS) + len(optional)}")
    cells = dict(zip(optional, row[len(TRACE_COLUMNS):]))
    extra = {}
    for name, default in TRACE_OPTIONAL_COLUMNS.items():
        cell = cells.get(name, "")
        if cell == "":
            extra[name] = default
        elif isinstance(default, int):
            extra[name] = _int_cell(path, line, name, cell)
        else:
            extra[name] = cell.lower()
    return _wrap(path, line, lambda: Layer(row[0], *v, **extra))


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
    """The workload as our trace CSV (DESIGN.md), with as many of the appended columns as its
    layers need (none for a network of plain convs)."""
    optional = list(TRACE_OPTIONAL_COLUMNS)
    needed = max((i + 1 for layer in workload.layers for i, name in enumerate(optional)
                  if getattr(layer, name) != TRACE_OPTIONAL_COLUMNS[name]), default=0)
    columns = TRACE_COLUMNS + tuple(optional[:needed])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for layer in workload.layers:
        if layer.ceil_mode:
            raise ValueError(f"layer {layer.name!r} uses SCALE-Sim's ceil sizing; write it as a "
                             "SCALE-Sim topology instead")
        writer.writerow([getattr(layer, column) if column != "layer" else layer.name
                         for column in columns])
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
        if (layer.groups, layer.batch, layer.runs_on) != (1, 1, "array") or layer.op == "matmul":
            raise ValueError(f"layer {layer.name!r} ({layer.op}, groups={layer.groups}, "
                             f"batch={layer.batch}, on the {layer.runs_on}) has no SCALE-Sim "
                             "conv-topology form; SCALE-Sim runs single convs and GEMMs only")
        padded_h = (layer.ofmap_h - 1) * layer.stride + layer.filter_h
        padded_w = (layer.ofmap_w - 1) * layer.stride + layer.filter_w
        lines.append(f"{layer.name}, {padded_h}, {padded_w}, {layer.filter_h}, {layer.filter_w}, "
                     f"{layer.channels}, {layer.num_filters}, {layer.stride},")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- operand codes

def load_operands(workload: Workload, layer: Layer) -> tuple[np.ndarray, np.ndarray] | None:
    """The layer's integer codes from the workload's .npz: A (M x K) and W (K x N), or None.

    A layer of G > 1 GEMMs (groups, a matmul's batch) holds them stacked: (G, M, K), (G, K, N).
    """
    return load_all_operands(workload).get(layer.name)


def load_all_operands(workload: Workload) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every layer's codes from the workload's .npz in one read, by layer name (checked shapes)."""
    if workload.operands_path is None:
        return {}
    path = workload.operands_path
    found = {}
    try:
        with np.load(path) as data:
            for index, layer in enumerate(workload.layers):
                a_key, w_key = f"{layer.name}/a", f"{layer.name}/w"
                present = [key for key in (a_key, w_key) if key in data.files]
                if not layer.on_array or not present:
                    continue
                if len(present) == 1:  # weights alone would be silently ignored
                    missing = w_key if present == [a_key] else a_key
                    raise ValueError(f"{path}: holds {present[0]} but not {missing}; a layer's "
                                     "codes are both operands (or neither)")
                own = not (workload.array_widths and workload.array_widths[index])
                found[layer.name] = _checked_operands(workload, layer, data[a_key],
                                                      data[w_key], own)
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz of operand codes ({err or 'empty'})"
                         ) from None
    except ValueError as err:
        if str(err).startswith(str(path)):
            raise
        # numpy's own (an object array would need pickle, which stays off)
        raise ValueError(f"{path}: not a readable .npz of operand codes ({err})") from None
    return found


def _checked_operands(workload: Workload, layer: Layer, activations: np.ndarray,
                      weights: np.ndarray, own_widths: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Shapes, then codes: integers of the layer's widths (of the widest integer PE where the
    layer takes the array's widths), any finite value on an fp32 side."""
    a_key, w_key = f"{layer.name}/a", f"{layer.name}/w"
    _, n, k = layer.gemm()
    # A layer of several GEMMs (groups, a matmul's batch) stacks them on a leading axis.
    lead = () if layer.gemm_count() == 1 else (layer.gemm_count(),)
    names = "" if not lead else "G, "
    if weights.shape != lead + (k, n):
        raise ValueError(f"{workload.operands_path}: {w_key} has shape {weights.shape}, "
                         f"expected ({names}K, N) = {lead + (k, n)}")
    if activations.ndim != len(lead) + 2 or activations.shape[:len(lead)] != lead or \
            activations.shape[-1] != k:
        raise ValueError(f"{workload.operands_path}: {a_key} has shape {activations.shape}, "
                         f"expected ({names}M, K) = {lead + ('M', k)}")
    m = layer.gemm()[0]
    if not 1 <= activations.shape[-2] <= m:
        raise ValueError(f"{workload.operands_path}: {a_key} holds {activations.shape[-2]} rows "
                         f"of the layer's M = {m}; a sample holds 1..M")
    widest = max(bits for bits in ALLOWED_BITS if bits != FP32_BITS)
    for key, codes, bits, signed in ((a_key, activations, layer.abits, False),
                                     (w_key, weights, layer.wbits, True)):
        bits = bits if own_widths else widest
        _check_codes(workload.operands_path, key, codes, bits, signed)
    return activations, weights


def _check_codes(path, key: str, codes: np.ndarray, bits: int, signed: bool) -> None:
    if bits == FP32_BITS:
        if codes.dtype.kind not in "iubf" or not np.isfinite(codes).all():
            raise ValueError(f"{path}: {key} must hold finite numbers (an fp32 operand), found "
                             f"dtype {codes.dtype}")
        return
    if codes.dtype.kind not in "iub":
        raise ValueError(f"{path}: {key} must hold integer codes ({bits}-bit), found dtype "
                         f"{codes.dtype}")
    low, high = weight_code_range(bits) if signed else activation_code_range(bits)
    if signed and bits == 1 and (codes == 0).any():
        raise ValueError(f"{path}: {key} codes must be -1 or +1 (1-bit binary weights); found 0")
    if codes.size and (int(codes.min()) < low or int(codes.max()) > high):
        raise ValueError(f"{path}: {key} codes must lie in [{low}, {high}] ({bits}-bit "
                         f"{'signed' if signed else 'unsigned'}); found [{codes.min()}, "
                         f"{codes.max()}]")


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


__all__ = ["Layer", "Workload", "TRACE_COLUMNS", "TRACE_OPTIONAL_COLUMNS", "GEMM_OPS",
           "RUNS_ON", "HOST_OPS", "RESNET_DEPTHS", "WIDEN_CHOICES", "builtin",
           "builtin_names", "resnet_cifar", "stage_filters",
           "read_workload", "write_trace", "trace_csv_text", "scalesim_topology_text",
           "load_operands", "load_all_operands", "im2col", "weights_to_gemm",
           # re-exported: training writes its files the same way
           "write_atomic"]
