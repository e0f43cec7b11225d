"""The rules and file schemas the packages share, each stated once: training, dse and the
dashboards import them from here (DESIGN.md).  It imports nothing of the simulator, so any
module may use it without pulling in a kernel.

- operand widths: integers 1..16, and 32 for the fp32 baseline PE;
- our layer-trace header and the accuracy-table header (both grow by appended columns only),
  with the activation-quantizer names the accuracy table uses;
- the input shapes of the data sets the built-in CIFAR ResNets are shaped for;
- bits per kB, for every memory size in kB;
- which metrics of a design point are better when larger (every other one is minimised).
"""
from __future__ import annotations

from typing import NamedTuple

FP32_BITS = 32
# Integer operand widths the PE models; 32 stands for the fp32 baseline PE.
ALLOWED_BITS = tuple(range(1, 17)) + (FP32_BITS,)
ALLOWED_BITS_TEXT = "1..16 or 32 (fp32)"

TRACE_COLUMNS = ("layer", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels",
                 "num_filters", "stride", "pad", "wbits", "abits")
# Appended columns of the trace, in order, with their defaults (DESIGN.md, "How the two file
# formats grow"): a file may end its header after any of them.
TRACE_OPTIONAL_COLUMNS = {"groups": 1, "op": "conv", "runs_on": "array", "batch": 1}
GEMM_OPS = ("conv", "linear", "matmul")
RUNS_ON = ("array", "host")
# The op names our importers give host rows; any other identifier is accepted in a trace.
HOST_OPS = ("pool", "softmax", "norm", "add", "mul", "act", "quant", "reduce", "concat", "pad",
            "other")
# Host ops that read two operands of the row's input size (the second is counted too).
TWO_INPUT_OPS = ("add", "mul")
# The accuracy table's first header, and what it grew by (DESIGN.md: appended, optional, with a
# default that every reader fills in for an older table).
ACCURACY_COLUMNS_V1 = ("model", "dataset", "wbits", "abits", "widen", "width", "teacher",
                       "scheme", "epochs", "seed", "top1_err", "source")
# quantizer: the activation quantizer (ACT_QUANTIZERS); rows from before it were WRPN's clip.
# policy: the id of a per-layer width assignment in a policy file (POLICY_COLUMNS); empty = the
# uniform wbits/abits of the row.
ACCURACY_DEFAULTS = {"quantizer": "wrpn", "policy": ""}
ACCURACY_COLUMNS = ACCURACY_COLUMNS_V1 + tuple(ACCURACY_DEFAULTS)
# Activation quantizers: wrpn = the paper's fixed [0, 1] clip, pact = a learned clip level.
ACT_QUANTIZERS = ("pact", "wrpn")

# A policy file: per-layer widths of mixed-precision networks, one row per (policy, layer); a
# layer it does not list keeps the network's uniform widths.
POLICY_COLUMNS = ("policy", "layer", "wbits", "abits")

# A sensitivity table (experiments.sensitivity -> dse.search): per layer and per width of one
# operand, the change of top-1 error (points) when only that layer is moved to that width from
# a trained reference network; ``delta_pct`` is the estimate the search adds up.
SENSITIVITY_COLUMNS = ("layer", "operand", "bits", "proxy_delta_pct", "finetuned_delta_pct",
                       "delta_pct")

BITS_PER_KB = 8 * 1024

# Metrics where more is better; every other metric is minimised on a Pareto front.
MAXIMISED = frozenset({"inferences_per_s", "utilization", "peak_tops", "achieved_tops",
                       "tops_per_w", "energy_saved_zero_gating_uj"})


class InputShape(NamedTuple):
    """What a data set's images look like to a network's first and last layers."""

    image_size: int   # square images, pixels per side
    channels: int
    classes: int


DATASET_SHAPES = {"cifar10": InputShape(32, 3, 10), "fashion-mnist": InputShape(28, 1, 10)}


def check_bits(bits, what: str) -> int:
    """``bits`` if it is an allowed width (a Python int), else ValueError naming ``what``."""
    if not isinstance(bits, int) or isinstance(bits, bool) or bits not in ALLOWED_BITS:
        raise ValueError(f"{what}={bits!r}: allowed widths are {ALLOWED_BITS_TEXT}")
    return bits


def metric_sense(column: str) -> str:
    """'max' for metrics where more is better, else 'min'."""
    return "max" if column in MAXIMISED else "min"
