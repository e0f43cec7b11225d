"""The design space: option values (a value, a list or a range) and the grid of points they span.

A design point is one hardware configuration (``accelsim.ArrayConfig`` fields plus the batch)
running one network variant (model, dataset, width, widen) trained one way (teacher).  The
grid is the Cartesian product of every option's values, enumerated in a fixed order so that a
point's ``point_id`` names the same point in every run of the same command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accelsim import cli
from accelsim.cli import UsageError as CommandLineError
from accelsim.config import DATAFLOWS, ArrayConfig
from accelsim.formats import DATASET_SHAPES, normalise_dataset
from accelsim.network import layer_rows, zero_gating_label
from accelsim.onnx_import import read_onnx
from accelsim.workload import (WIDEN_CHOICES, Workload, builtin, builtin_names, load_all_operands,
                               read_workload)

# Hardware columns of a point, in output order; each is one ArrayConfig field or the batch.
HARDWARE_COLUMNS = ("rows", "cols", "dataflow", "wbits", "abits", "acc_bits", "freq_mhz",
                    "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                    "dram_bw_bytes_per_cycle", "wide_layers", "between_layers", "batch")
NETWORK_COLUMNS = ("model", "dataset", "width", "widen", "teacher")
SRAM_COLUMNS = ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")
# The grid's axes: one SRAM size (sram_kb) sizes all three SRAMs.
GRID_AXES = ("rows", "cols", "dataflow", "wbits", "abits", "acc_bits", "freq_mhz", "sram_kb",
             "dram_bw_bytes_per_cycle", "wide_layers", "between_layers", "batch")
# One sweep holds its points in memory (a few hundred bytes each); beyond this, split it.
MAX_POINTS = 5_000_000
DEFAULT_MODEL = "resnet56"
GRID_DEFAULTS = {"wide_layers": ["host"], "between_layers": ["sram"]}
# How a network's first conv and last FC are set: fp32 (WRPN, the default), quantized to the
# array's widths (--quantize-ends), or as a file gives them.
ENDS = ("fp32", "quantized", "trace")


class UsageError(CommandLineError):
    """Bad command-line input, built from the flag and what it accepts."""

    def __init__(self, flag: str, message: str):
        super().__init__(f"{flag}: {message}")
        self.flag = flag


# ----------------------------------------------------------------------------- option values

def parse_values(flag: str, text: str, kind: str = "int", low: float | None = None,
                 allowed: tuple | None = None, accepts: str = "",
                 high: float | None = None) -> list:
    """Parse ``8``, ``4,8,16`` or a range ``4:32:4`` (inclusive, step) / ``4:64:x2`` (geometric).

    ``kind`` is int, float or str; values must lie in ``low``..``high`` or in ``allowed``.
    Duplicates are dropped, order is kept.  Raises UsageError naming ``flag`` and ``accepts``.
    """
    accepts = accepts or _describe(kind, low, allowed, high)
    values: list = []
    for token in (part.strip() for part in str(text).split(",")):
        if not token:
            raise UsageError(flag, f"empty value in {text!r}; accepts {accepts}")
        if kind != "str" and ":" in token:
            values.extend(_parse_range(flag, token, kind, accepts))
        else:
            values.append(_parse_one(flag, token, kind, accepts))
    for value in values:
        if allowed is not None and value not in allowed:
            raise UsageError(flag, f"{value!r} is not allowed; accepts {accepts}")
        if low is not None and value < low:
            raise UsageError(flag, f"{value!r} is too small; accepts {accepts}")
        if high is not None and not value <= high:  # also inf, from a float such as 1e400
            raise UsageError(flag, f"{value!r} is too large; accepts {accepts}")
    return list(dict.fromkeys(values))


def _describe(kind: str, low: float | None, allowed: tuple | None,
              high: float | None = None) -> str:
    if allowed is not None:
        what = ", ".join(str(a) for a in allowed)
        return f"one of {what}, or a comma-separated list"
    noun = "integers" if kind == "int" else "numbers"
    bound = f" >= {low:g}" if low is not None else ""
    bound += f" and <= {high:g}" if high is not None else ""
    return f"{noun}{bound} as a value, a list (4,8,16) or a range (4:32:4, 4:64:x2)"


def _parse_one(flag: str, token: str, kind: str, accepts: str):
    if kind == "str":
        return token.lower()
    pattern = r"[+-]?\d+" if kind == "int" else r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
    if not re.fullmatch(pattern, token):
        raise UsageError(flag, f"{token!r} is not a number; accepts {accepts}")
    return int(token) if kind == "int" else float(token)


def _parse_range(flag: str, token: str, kind: str, accepts: str) -> list:
    parts = token.split(":")
    if len(parts) not in (2, 3):
        raise UsageError(flag, f"range {token!r} must be start:stop or start:stop:step; "
                               f"accepts {accepts}")
    start, stop = (_parse_one(flag, p, kind, accepts) for p in parts[:2])
    geometric = len(parts) == 3 and parts[2].lower().startswith("x")
    step_text = parts[2][1:] if geometric else (parts[2] if len(parts) == 3 else "1")
    step = _parse_one(flag, step_text, kind, accepts)
    if geometric and not (step > 1 and start > 0):
        raise UsageError(flag, f"range {token!r}: a geometric range needs start > 0 and a factor "
                               "> 1 (4:64:x2)")
    if not geometric and not step > 0:
        raise UsageError(flag, f"range {token!r}: the step must be > 0")
    if start > stop:
        raise UsageError(flag, f"range {token!r} is empty (start > stop); accepts {accepts}")
    values, value, count = [], start, 0
    # A relative tolerance keeps float ranges such as 0.1:0.3:0.1 inclusive of their stop.
    while value <= stop * (1 + 1e-12):
        if count == MAX_POINTS:
            raise UsageError(flag, f"range {token!r} has more than {MAX_POINTS:,} values; "
                                   f"accepts {accepts}")
        values.append(value)
        count += 1
        value = value * step if geometric else (start + count * step)
    return values


def hardware_values(args) -> dict[str, list]:
    """The grid axes' values from the shared list-valued hardware options (accelsim.cli); an
    option left at None (not given, where a command has no default) is left out."""
    hardware = {}
    for group in cli.OPTIONS.values():
        for option in group:
            text = getattr(args, option.dest, None)
            if text is None:
                continue
            accepts = option.accepts and f"{option.accepts} as a value, a list or a range"
            hardware[option.field] = parse_values(option.flag, text,
                                                  option.kind, low=option.low,
                                                  allowed=option.allowed, accepts=accepts,
                                                  high=option.high)
    return hardware


# ----------------------------------------------------------------------------- networks

@dataclass(frozen=True)
class Network:
    """One network variant as the arrays a sweep needs: a row per layer, sizes per image."""

    model: str
    dataset: str
    width: float
    widen: str
    # accelsim.network.LAYER_COLUMNS at batch 1 (the layer's sizes, its own widths, its place
    # in the chain), array_widths: whether the row takes the array's widths instead, and
    # per_input_gemms: whether a batch multiplies the row's GEMMs (a matmul: each input brings
    # its own second operand) rather than stacking into M
    layers: pd.DataFrame
    workload: Workload    # the same layers, for the cycle-level engine
    ends: str = "fp32"
    weights: dict = field(default_factory=dict)  # layer -> weight codes from a trace's .npz
    zero_gating: str = "none"

    @classmethod
    def from_workload(cls, workload: Workload, model: str, dataset: str, width: float,
                      widen: str, ends: str = "fp32") -> "Network":
        stored = load_all_operands(workload)  # read once: workers need no file
        layers = layer_rows(workload, 1, stored)
        layers["array_widths"] = (np.array(workload.array_widths, dtype=bool)
                                  if workload.array_widths else False)
        layers["per_input_gemms"] = np.array([layer.op == "matmul" or not layer.on_array
                                              for layer in workload.layers])
        return cls(model, dataset, float(width), widen, layers, workload, ends,
                   {name: w for name, (_, w) in stored.items()},
                   zero_gating_label(workload, stored))


# The input shapes a built-in CIFAR ResNet is built for, by data-set name (normalise_dataset's).
DATASETS = DATASET_SHAPES


def build_networks(model: str | None, trace: str | None, widths: list[float], widens: list[str],
                   dataset: str, onnx: str | None = None,
                   input_shape: tuple[int, ...] | None = None,
                   quantize_ends: bool = False) -> list[Network]:
    """The network variants of a sweep: a built-in model at each width/widen, or one trace or
    ONNX file (``input_shape``: its input's shape where the file leaves it dynamic).

    A file's shapes and widths come from the file; ``--width``/``--widen``/``--dataset`` then
    only label it for the accuracy join.  A built-in model's first conv and FC are fp32 unless
    ``quantize_ends``.
    """
    if (trace is not None or onnx is not None) and quantize_ends:
        raise UsageError("--quantize-ends", "applies to built-in models; a trace or ONNX file "
                                            "carries its own layer widths")
    if trace is not None or onnx is not None:
        try:
            workload = (read_workload(trace) if trace is not None
                        else read_onnx(onnx, input_shape=input_shape))
        except ValueError as err:
            if trace is not None:
                raise UsageError("--trace", f"{err}; accepts our trace CSV or a SCALE-Sim "
                                            "topology") from None
            raise UsageError("--onnx", str(err)) from None
        try:
            return [Network.from_workload(workload, workload.name.lower(), dataset, width,
                                          widen, "trace")
                    for width in widths for widen in widens]
        except ValueError as err:  # the codes of the .npz beside it, or a count too large
            raise UsageError("--trace" if trace is not None else "--onnx", str(err)) from None
    name = (model or DEFAULT_MODEL).lower()
    if name not in builtin_names():
        raise UsageError("--model", f"unknown model {model!r}; accepts "
                                    f"{', '.join(builtin_names())} (or --trace FILE)")
    if dataset not in DATASETS:
        raise UsageError("--dataset", f"{dataset!r} has no built-in shapes; accepts "
                                      f"{', '.join(DATASET_SHAPES)}")
    image_size, channels, classes = DATASETS[dataset]
    networks = []
    for width in widths:
        for widen in widens:
            workload = builtin(name, width=width, widen=widen, image_size=image_size,
                               in_channels=channels, num_classes=classes,
                               full_precision_ends=not quantize_ends)
            networks.append(Network.from_workload(workload, name, dataset, width, widen,
                                                  "quantized" if quantize_ends else "fp32"))
    return networks


def build_workloads(models: list[str], traces: list[str], datasets: list[str],
                    widths: list[float], widens: list[str], onnx: str | None = None,
                    input_shape: tuple[int, ...] | None = None,
                    quantize_ends: bool = False) -> list[Network]:
    """Every network variant of a sweep: each built-in model, each trace and the ONNX file, on
    each data set, at each width and widening (in that order, the first varying slowest).  No
    network given: the default model.  ``quantize_ends`` as in ``build_networks`` (refused
    beside a trace or ONNX file, which carries its own widths)."""
    if not models and not traces and onnx is None:
        models = [DEFAULT_MODEL]
    networks = []
    for model in models:
        for dataset in datasets:
            networks += build_networks(model, None, widths, widens, dataset,
                                       quantize_ends=quantize_ends)
    for trace in traces:
        for dataset in datasets:
            networks += build_networks(None, trace, widths, widens, dataset,
                                       quantize_ends=quantize_ends)
    if onnx is not None:
        for dataset in datasets:
            networks += build_networks(None, None, widths, widens, dataset, onnx, input_shape,
                                       quantize_ends)
    return networks


# ----------------------------------------------------------------------------- the grid

@dataclass(frozen=True)
class DesignSpace:
    """Every option's values; ``points()`` is their product, one row per design point.

    ``hardware`` maps each of GRID_AXES to its values.
    """

    hardware: dict[str, list]
    networks: list[Network]
    teachers: list[str]

    def __post_init__(self) -> None:
        # axes a caller may leave out: the cost model's switches at their defaults
        object.__setattr__(self, "hardware", {**GRID_DEFAULTS, **self.hardware})

    @property
    def size(self) -> int:
        n = len(self.networks) * len(self.teachers)
        for values in self.hardware.values():
            n *= len(values)
        return n

    def points(self) -> pd.DataFrame:
        """One row per point: point_id, the network index ``net``, network and hardware columns.

        Network varies slowest so that points sharing a layer table are contiguous.
        """
        grids = [np.arange(len(self.networks)), np.arange(len(self.teachers))]
        grids += [np.arange(len(self.hardware[c])) for c in GRID_AXES]
        index = np.stack([g.ravel() for g in np.meshgrid(*grids, indexing="ij")], axis=1) \
            if self.size else np.zeros((0, len(grids)), dtype=np.int64)
        frame = pd.DataFrame({"point_id": np.arange(len(index), dtype=np.int64),
                              "net": index[:, 0].astype(np.int64)})
        for column, attr in zip(NETWORK_COLUMNS[:-1], ("model", "dataset", "width", "widen")):
            frame[column] = np.array([getattr(n, attr) for n in self.networks],
                                     dtype=object if column != "width" else float)[index[:, 0]]
        frame["teacher"] = np.array(self.teachers, dtype=object)[index[:, 1]]
        for i, axis in enumerate(GRID_AXES, start=2):
            values = self.hardware[axis]
            dtype = object if isinstance(values[0], str) else (
                float if isinstance(values[0], float) else np.int64)
            for column in (SRAM_COLUMNS if axis == "sram_kb" else (axis,)):
                frame[column] = np.array(values, dtype=dtype)[index[:, i]]
        return frame[["point_id", "net", *NETWORK_COLUMNS, *HARDWARE_COLUMNS]]


def check_configs(points: pd.DataFrame) -> None:
    """Validate every distinct hardware configuration with ArrayConfig's own rules."""
    fields = [c for c in HARDWARE_COLUMNS if c != "batch"]
    for values in points[fields].drop_duplicates().itertuples(index=False):
        config = dict(zip(fields, values))
        try:
            ArrayConfig(**{k: (v.item() if hasattr(v, "item") else v)
                           for k, v in config.items()})
        except ValueError as err:
            field = str(err).split("=")[0]
            raise UsageError(cli.FIELD_FLAGS.get(field, field), str(err)) from None


def config_of(row) -> ArrayConfig:
    """The ArrayConfig of one point (a row of ``DesignSpace.points()``)."""
    get = row.__getitem__ if hasattr(row, "__getitem__") else lambda c: getattr(row, c)
    values = {c: get(c) for c in HARDWARE_COLUMNS if c != "batch"}
    return ArrayConfig(**{k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()})


__all__ = ["DesignSpace", "Network", "UsageError", "parse_values", "build_networks",
           "build_workloads", "check_configs", "config_of", "hardware_values",
           "normalise_dataset", "HARDWARE_COLUMNS", "NETWORK_COLUMNS", "DATAFLOWS",
           "WIDEN_CHOICES", "ENDS"]
