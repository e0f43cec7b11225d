"""The hardware configuration of one systolic array design point."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from . import dataflows
from .formats import FP32_BITS, check_bits
from .pe import check_wide_layers

DATAFLOWS = dataflows.NAMES
# Between two layers: "sram" keeps what of a layer's output fits on chip as the next layer's
# input; "dram" writes every output to DRAM and reads every input back (SCALE-Sim's accounting).
BETWEEN_LAYERS = ("sram", "dram")
# Upper bounds of a design point (stated in every command's --help).  They are far beyond any
# real accelerator (TPU v1 is 256 x 256 at 700 MHz with 24 MiB of buffer) and keep what the
# models hold in 64-bit counters and in memory finite: the cycle-level kernels keep O(rows x
# cols) state, and an SRAM of 2^30 kB or a frequency of 1e300 MHz would only overflow floats.
MAX_ARRAY_SIDE = 1024
MAX_BATCH = 65_536
MAX_FREQ_MHZ = 100_000.0
MAX_SRAM_KB = 1_048_576.0          # 1 GiB per SRAM
MAX_DRAM_BW_BYTES_PER_CYCLE = 1_048_576.0
UPPER_BOUNDS = {"rows": MAX_ARRAY_SIDE, "cols": MAX_ARRAY_SIDE, "freq_mhz": MAX_FREQ_MHZ,
                "ifmap_sram_kb": MAX_SRAM_KB, "filter_sram_kb": MAX_SRAM_KB,
                "ofmap_sram_kb": MAX_SRAM_KB,
                "dram_bw_bytes_per_cycle": MAX_DRAM_BW_BYTES_PER_CYCLE}


@dataclass(frozen=True)
class ArrayConfig:
    """A rows x cols systolic array of PEs, the widths its PEs handle, and its memories.

    wbits/abits: the PE's operand widths; 2-bit weights are ternary {-1, 0, +1}, 1-bit weights
    are binary {-1, +1}, 32 means fp32 (``accelsim.pe``).  acc_bits is the accumulator width
    (signed).  The SRAM sizes and DRAM bandwidth feed the memory model; freq_mhz turns cycles
    into time and energy into power.  wide_layers: where a layer wider than the PE runs,
    ``host`` (a unit of the same size with PEs of the layer's widths) or ``passes`` (bit-serial
    passes on the array, ``accelsim.pe``); between_layers: ``sram`` or ``dram`` (see
    BETWEEN_LAYERS).
    """

    rows: int = 8
    cols: int = 8
    wbits: int = 2
    abits: int = 8
    dataflow: str = "os"
    acc_bits: int = 32
    freq_mhz: float = 1000.0
    ifmap_sram_kb: float = 64.0
    filter_sram_kb: float = 64.0
    ofmap_sram_kb: float = 64.0
    dram_bw_bytes_per_cycle: float = 16.0
    wide_layers: str = "host"
    between_layers: str = "sram"

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= MAX_ARRAY_SIDE:
                raise ValueError(f"{name}={value!r}: must be an integer in 1..{MAX_ARRAY_SIDE}")
        for name in ("wbits", "abits"):
            check_bits(getattr(self, name), name)
        if not _is_int(self.acc_bits) or not 2 <= self.acc_bits <= 48:
            raise ValueError(f"acc_bits={self.acc_bits!r}: must be an integer in 2..48")
        dataflows.get(self.dataflow)
        check_wide_layers(self.wide_layers)
        if self.between_layers not in BETWEEN_LAYERS:
            raise ValueError(f"between_layers={self.between_layers!r}: allowed values are "
                             f"{', '.join(BETWEEN_LAYERS)}")
        for name in ("freq_mhz", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                     "dram_bw_bytes_per_cycle"):
            value = getattr(self, name)
            high = UPPER_BOUNDS[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
                    0 < value <= high):
                raise ValueError(f"{name}={value!r}: must be a number > 0 and <= {high:g}")

    @property
    def is_float(self) -> bool:
        """True when the PE's datapath is fp32 (either operand at 32 bits)."""
        return self.wbits == FP32_BITS or self.abits == FP32_BITS

    @property
    def flow(self) -> dataflows.Dataflow:
        return dataflows.get(self.dataflow)

    @property
    def pes(self) -> int:
        return self.rows * self.cols


def config_columns(cfg: ArrayConfig) -> dict:
    """The config as column values (field name -> value), to sit beside a frame's layer rows."""
    return asdict(cfg)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def weight_code_range(wbits: int) -> tuple[int, int]:
    """Inclusive range of signed weight codes at a width (WRPN: sign + wbits-1 magnitude bits).

    1 bit is binary {-1, +1} (0 is excluded, checked separately); 2 bits is ternary.
    """
    if wbits == 1:
        return -1, 1
    magnitude = (1 << (wbits - 1)) - 1
    return -magnitude, magnitude


def activation_code_range(abits: int) -> tuple[int, int]:
    """Inclusive range of unsigned (post-ReLU) activation codes at a width."""
    return 0, (1 << abits) - 1
