"""The rules and file schemas the packages share, each stated once: training, dse and the
dashboards import them from here (DESIGN.md).  It imports nothing of the simulator, so any
module may use it without pulling in a kernel.

- operand widths: integers 1..16, and 32 for the fp32 baseline PE;
- our layer-trace header and the accuracy-table header (both grow by appended columns only),
  with the activation-quantizer names the accuracy table uses;
- the data sets' names as the project writes them, and the input shapes the built-in CIFAR
  ResNets are shaped for;
- bits per kB, for every memory size in kB;
- which metrics of a design point are better when larger (every other one is minimised);
- what each output column of a sweep is: its label, unit and meaning (``COLUMNS``).
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
# The largest filter multiplier (``width``) training and dse accept: 16x a CIFAR ResNet-110 is
# already ~25 G MACs per image; beyond it a network only exhausts memory.
MAX_WIDTH = 16

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


def _key(name) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


_DATASET_KEYS = {_key(name): name for name in DATASET_SHAPES}


def normalise_dataset(name) -> str:
    """A data set's name as the project writes it: ``CIFAR-10`` -> ``cifar10``, ``Fashion_MNIST``
    -> ``fashion-mnist``; an unknown name (a trace's label) is lower-cased with its runs of
    punctuation and spaces turned into one ``-``, so that spellings of one name still meet."""
    known = _DATASET_KEYS.get(_key(name))
    if known is not None:
        return known
    words = "".join(ch if ch.isalnum() else " " for ch in str(name).strip().lower()).split()
    return "-".join(words)


# ----------------------------------------------------------------------------- column vocabulary

class Column(NamedTuple):
    """How a person reads one output column: a short label, its unit, and what it means."""

    label: str
    unit: str
    meaning: str


# Every column of a sweep's sweep.csv / pareto.csv (dse.sweep), in output order.  The dashboard
# labels its axes, controls and tables from here and ``python -m dse.sweep --columns`` prints
# it, so a column's name, unit and meaning are written once.  A new output column adds its
# line here (tests/test_dse_sweep.py checks that every column has one).
COLUMNS = {
    "point_id": Column("design point", "", "index of the point in the sweep's grid; the same "
                       "options give the same ids"),
    "model": Column("network", "", "built-in network, or a trace file's name"),
    "dataset": Column("data set", "", "data set the network is shaped and trained for"),
    "width": Column("width", "x", "filter multiplier of every layer"),
    "widen": Column("widening", "", "none, first30 (the paper's WRPN: the first third of the "
                    "layers x2) or all"),
    "teacher": Column("teacher", "", "Apprentice distillation teacher of the accuracy row, or "
                      "none (changes accuracy, not hardware)"),
    "rows": Column("array rows", "PEs", "rows of the PE array"),
    "cols": Column("array columns", "PEs", "columns of the PE array"),
    "dataflow": Column("dataflow", "", "a record of accelsim.dataflows: os output-, ws "
                       "weight-, is input-stationary"),
    "wbits": Column("weight bits", "b", "weight width: 1 binary, 2 ternary, 32 fp32"),
    "abits": Column("activation bits", "b", "activation width; 32 means fp32"),
    "acc_bits": Column("accumulator bits", "b", "signed accumulator width of each PE"),
    "freq_mhz": Column("clock", "MHz", "clock frequency"),
    "ifmap_sram_kb": Column("ifmap SRAM", "kB", "activation SRAM (double-buffered)"),
    "filter_sram_kb": Column("filter SRAM", "kB", "weight SRAM (double-buffered)"),
    "ofmap_sram_kb": Column("ofmap SRAM", "kB", "output / partial-sum SRAM (double-buffered)"),
    "dram_bw_bytes_per_cycle": Column("DRAM bandwidth", "B/cycle", "DRAM bytes per clock"),
    "wide_layers": Column("wide layers", "", "where a layer wider than the PE runs: host (a "
                          "unit of PEs of its widths) or passes (bit-serial passes on the "
                          "array)"),
    "between_layers": Column("between layers", "", "sram: a layer's output stays on chip as "
                             "the next input where it fits; dram: every output to DRAM and "
                             "back (SCALE-Sim's accounting)"),
    "batch": Column("batch", "inputs", "inputs per run; energies and memory are per inference"),
    "ends": Column("network ends", "", "first conv and last FC: fp32 (WRPN), quantized "
                   "(--quantize-ends) or trace (the file's own widths)"),
    "layers": Column("layers", "", "layers of the network, on the array and the host unit"),
    "pes": Column("PEs", "", "rows x columns"),
    "macs_per_inference": Column("MACs per inference", "MACs", "multiply-accumulates of one "
                                 "input"),
    "cycles": Column("compute cycles", "cycles", "SCALE-Sim-compatible compute cycles of the "
                     "batch"),
    "stall_cycles": Column("stall cycles", "cycles", "clocks waiting for DRAM beyond compute"),
    "total_cycles": Column("total cycles", "cycles", "compute + stall cycles of the batch, "
                           "host unit included"),
    "host_cycles": Column("host-unit cycles", "cycles", "of the total, the clocks of the "
                          "layers on the host unit"),
    "host_layers": Column("host layers", "layers", "layers wider than the PE, run on the host "
                          "unit"),
    "passes_layers": Column("layers in passes", "layers", "layers run on the array as several "
                            "bit-serial passes (--wide-layers passes)"),
    "latency_ms": Column("latency", "ms", "time of the batch, stalls included"),
    "inferences_per_s": Column("throughput", "inferences/s", "inputs per second"),
    "utilization": Column("PE utilisation", "fraction", "MACs / (clocks x PEs)"),
    "overflows": Column("accumulator overflows", "sums", "sums that wrapped at acc_bits, "
                        "counted by the cycle engine; empty from the analytic engine"),
    "overflow_possible": Column("overflow possible", "", "True where some layer's K x largest "
                                "activation code x largest |weight code| leaves the signed "
                                "acc_bits range; such points are left off the fronts unless "
                                "--rank-overflowing"),
    "energy_per_inference_uj": Column("energy per inference", "uJ", "all components, the "
                                      "host unit's included"),
    "energy_mac_uj": Column("MAC energy", "uJ", "arithmetic, per inference"),
    "energy_reg_uj": Column("register energy", "uJ", "PE pipeline registers, per inference"),
    "energy_shift_add_uj": Column("shift-add energy", "uJ", "adding bit-serial passes' partial "
                                  "results, per inference"),
    "energy_ifmap_sram_uj": Column("ifmap SRAM energy", "uJ", "per inference"),
    "energy_filter_sram_uj": Column("filter SRAM energy", "uJ", "per inference"),
    "energy_ofmap_sram_uj": Column("ofmap SRAM energy", "uJ", "per inference"),
    "energy_dram_uj": Column("DRAM energy", "uJ", "per inference"),
    "energy_saved_zero_gating_uj": Column("saved by zero gating", "uJ", "arithmetic energy "
                                          "zero weights gate off; empty without real weights"),
    "energy_host_uj": Column("host-unit energy", "uJ", "of the total, the layers on the host "
                             "unit, per inference"),
    "energy_dram_share": Column("DRAM share", "fraction", "DRAM energy / total energy"),
    "zero_gating": Column("zero gating", "", "none, or trace NAME: the weight codes whose zeros "
                          "gated MACs off"),
    "power_mw": Column("power", "mW", "average power while running, stalls included"),
    "area_mm2": Column("area", "mm2", "PE array + SRAMs + edge registers"),
    "pe_array_mm2": Column("PE array area", "mm2", ""),
    "sram_mm2": Column("SRAM area", "mm2", "the three SRAMs"),
    "control_mm2": Column("edge-register area", "mm2", "operand registers at the array's edges"),
    "host_mm2": Column("host-unit area", "mm2", "what the host unit's PE array would add (not "
                       "in area)"),
    "peak_tops": Column("peak TOPS", "TOPS", "2 ops per MAC, every PE busy"),
    "achieved_tops": Column("achieved TOPS", "TOPS", "over the run, stalls included"),
    "tops_per_w": Column("efficiency", "TOPS/W", "achieved TOPS / power"),
    "dram_read_kb_per_inference": Column("DRAM reads", "kB", "per inference"),
    "dram_write_kb_per_inference": Column("DRAM writes", "kB", "per inference"),
    "compute_cost_mac_bits": Column("compute cost", "MAC-bits", "the paper's footnote 2: MACs "
                                    "x (wbits + abits)"),
    "weight_memory_kb": Column("weight memory", "kB", "all weights at wbits"),
    "activation_memory_kb": Column("activation memory", "kB", "largest input + output of one "
                                   "layer at abits"),
    "top1_err_pct": Column("top-1 error", "%", "from the accuracy tables; empty when no row "
                           "matches (never invented)"),
    "accuracy_source": Column("accuracy source", "", "paper:TableN, or measured <quantizer> "
                              "(n runs)"),
    "scheme": Column("training scheme", "", "of the accuracy row (baseline, wrpn, apprentice "
                     "...)"),
    "quantizer": Column("activation quantizer", "", "of the accuracy row: wrpn (fixed [0, 1] "
                        "clip) or pact (learned clip)"),
    "pareto_group": Column("compared within", "", "the points a front compares: one data set "
                           "when accuracy is an objective, else one workload"),
    "pareto_objectives": Column("objectives", "", "min:COLUMN / max:COLUMN ranked"),
    "pareto_filters": Column("filters", "", "which points were eligible for the front"),
    "pareto_rank": Column("Pareto rank", "", "1 = on the front of its group; empty = left out "
                          "(an objective unknown)"),
    "equal_points": Column("equal points", "points", "pareto.csv: points with these very "
                           "objective values, collapsed into this row"),
    "point_ids": Column("point ids", "", "pareto.csv: the ids of those points"),
    "variants": Column("differing", "", "pareto.csv: the columns in which those points differ, "
                       "with their values"),
}


def column_label(name: str, unit: bool = True) -> str:
    """``energy_per_inference_uj`` -> ``energy per inference (uJ)``; an unknown column as is."""
    column = COLUMNS.get(name)
    if column is None:
        return name
    return f"{column.label} ({column.unit})" if unit and column.unit else column.label
