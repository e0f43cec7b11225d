"""The memory system: double-buffered SRAMs, DRAM traffic in packed bits, refetch, stalls.

Everything here is column arithmetic over a DataFrame whose rows are (design point, layer)
pairs carrying the config as columns (``accelsim.config.config_columns``) beside a layer's
shape and the simulator's SRAM word counts, so a sweep prices millions of rows in one call.

The model, stated once:
- Operands are packed at their widths everywhere (2-bit weights move 4x fewer bits than 8-bit
  ones); the fp32 PE (either width 32) moves 32-bit words.  The ofmap SRAM holds accumulator
  words (acc_bits; partial sums need them); a finished output leaves for DRAM requantised to
  abits, the next layer's activation width.
- Each SRAM is double-buffered: half of it is the working buffer, the other half fills from DRAM.
- The number of passes the array makes over an operand is its SRAM reads over its size
  (e.g. OS reads the filter once per row fold).  An operand that fits in its working buffer
  comes from DRAM once; one that does not is fetched again on every pass, because a cyclic scan
  bigger than the buffer evicts each element before its reuse.  Partial sums (WS/IS with more
  than one K fold) of one column fold (T x cols accumulator words; the K folds of a column fold
  run back to back) that do not fit in the ofmap buffer spill to DRAM and come back.
- DRAM transfers overlap compute within a layer (that is what the double buffer is for); a
  layer stalls for the clocks its traffic needs beyond its compute cycles:
  ``stall_cycles = max(0, ceil(dram_bits / (8 * bw)) - cycles)``.  The first tile's fill and
  DRAM latency are not modelled.
- A layer of several GEMMs (``gemms``: a grouped conv's groups, a matmul's batch) has passes
  and fits judged per GEMM: each GEMM's share of an operand is what must fit its buffer.
- A row on the host (``gemms`` = 0: pooling, softmax, norms, elementwise ops) reads its input
  from DRAM once (both inputs of an add) and writes its output once, at abits, and touches
  no SRAM; with no compute to hide behind, that transfer time is its stall_cycles.  The host's
  own compute time is not modelled.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .formats import ALLOWED_BITS, ALLOWED_BITS_TEXT, BITS_PER_KB, FP32_BITS

LAYER_COLUMNS = ("M", "N", "K", "ifmap_elems", "filter_elems", "ofmap_elems", "cycles",
                 "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads")
MEMORY_CONFIG_COLUMNS = ("cols", "dataflow", "wbits", "abits", "acc_bits", "ifmap_sram_kb",
                         "filter_sram_kb", "ofmap_sram_kb", "dram_bw_bytes_per_cycle")


def require_columns(frame: pd.DataFrame, columns, purpose: str) -> None:
    """ValueError naming the first column ``purpose`` needs that the frame lacks."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"{purpose} needs column(s) {', '.join(missing)}; the frame has "
                         f"{', '.join(map(str, frame.columns))}")


def check_widths(wbits, abits, acc_bits) -> None:
    """ValueError naming the first unknown width in the (array) arguments."""
    for name, values in (("wbits", wbits), ("abits", abits)):
        values = np.asarray(values)
        bad = ~np.isin(values, ALLOWED_BITS)
        if bad.any():
            raise ValueError(f"{name}={values[bad].flat[0].item()!r}: allowed widths are "
                             f"{ALLOWED_BITS_TEXT}")
    acc = np.asarray(acc_bits)
    bad = ~((acc >= 2) & (acc <= 48) & (acc == np.round(acc)))
    if bad.any():
        raise ValueError(f"acc_bits={acc[bad].flat[0].item()!r}: must be an integer in 2..48")


def check_positive(frame: pd.DataFrame, columns, *, allow_zero: bool = False,
                   where: np.ndarray | None = None) -> None:
    """ValueError naming the first column holding a negative (or zero, or NaN) value, among the
    rows ``where`` selects (default all)."""
    for name in columns:
        values = frame[name].to_numpy(dtype=np.float64)
        if where is not None:
            values = values[where]
        bad = ~(values >= 0) if allow_zero else ~(values > 0)
        if bad.any():
            need = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"{name}={values[bad][0].item()!r}: must be {need}")


def operand_bits(wbits, abits, acc_bits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bits a weight, an activation and an accumulator word occupy (fp32 PE: all 32)."""
    wbits, abits, acc_bits = (np.asarray(x, dtype=np.int64) for x in (wbits, abits, acc_bits))
    is_float = (wbits == FP32_BITS) | (abits == FP32_BITS)
    return (np.where(is_float, FP32_BITS, wbits), np.where(is_float, FP32_BITS, abits),
            np.where(is_float, FP32_BITS, acc_bits))


def add_memory_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with SRAM and DRAM traffic in bits, stall cycles and total cycles.

    Adds ``{ifmap,filter,ofmap}_sram_{read,write}_bits``, ``{ifmap,filter}_dram_read_bits``,
    ``psum_dram_{read,write}_bits``, ``dram_read_bits``, ``dram_write_bits``,
    ``dram_demand_bytes_per_cycle`` (traffic over compute cycles), ``stall_cycles`` and
    ``total_cycles`` (= cycles + stall_cycles).  See the module docstring for the model.
    """
    require_columns(frame, LAYER_COLUMNS + MEMORY_CONFIG_COLUMNS, "add_memory_columns")
    check_widths(frame["wbits"].to_numpy(), frame["abits"].to_numpy(),
                 frame["acc_bits"].to_numpy())
    # ``gemms`` is optional (frames from before it existed hold one GEMM per row).
    gemms = (frame["gemms"].to_numpy(dtype=np.float64) if "gemms" in frame.columns
             else np.ones(len(frame)))
    check_positive(frame, ("gemms",) if "gemms" in frame.columns else (), allow_zero=True)
    on_array = gemms > 0
    check_positive(frame, ("M", "N", "K"), where=on_array)
    check_positive(frame, ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                           "dram_bw_bytes_per_cycle"))
    check_positive(frame, ("ifmap_elems", "filter_elems", "ofmap_elems", "cycles",
                           "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                           "ofmap_sram_reads"), allow_zero=True)
    col = {name: frame[name].to_numpy(dtype=np.float64) for name in LAYER_COLUMNS}
    w_bits, a_bits, acc_bits = operand_bits(frame["wbits"], frame["abits"], frame["acc_bits"])
    buffer_bits = {name: frame[f"{name}_sram_kb"].to_numpy(dtype=np.float64) * BITS_PER_KB / 2
                   for name in ("ifmap", "filter", "ofmap")}
    m, n, k = col["M"], col["N"], col["K"]

    ifmap_bits = col["ifmap_elems"] * a_bits
    filter_bits = col["filter_elems"] * w_bits
    ifmap_passes = np.maximum(_ratio(col["ifmap_sram_reads"], gemms * m * k), 1.0)
    filter_passes = np.maximum(_ratio(col["filter_sram_reads"], gemms * k * n), 1.0)
    share = np.maximum(gemms, 1.0)  # each GEMM's part of the operand must fit its buffer
    ifmap_dram = ifmap_bits * np.where(ifmap_bits / share <= buffer_bits["ifmap"], 1.0,
                                       ifmap_passes)
    filter_dram = filter_bits * np.where(filter_bits / share <= buffer_bits["filter"], 1.0,
                                         filter_passes)

    psum_reads = col["ofmap_sram_reads"]
    # WS and IS run a column fold's K folds back to back: its partial sums, T x cols words
    # (T = M for WS, N for IS), are what the ofmap buffer must hold between them.
    is_ws = (frame["dataflow"] == "ws").to_numpy()
    psum_words = (np.where(is_ws, m, n)
                  * np.minimum(np.where(is_ws, n, m), frame["cols"].to_numpy(dtype=np.float64)))
    psum_spills = (psum_reads > 0) & (psum_words * acc_bits > buffer_bits["ofmap"])
    psum_dram_read = np.where(psum_spills, psum_reads * acc_bits, 0.0)
    psum_dram_write = np.where(psum_spills,
                               (col["ofmap_sram_writes"] - gemms * m * n) * acc_bits, 0.0)
    ofmap_dram_write = col["ofmap_elems"] * a_bits

    dram_read = ifmap_dram + filter_dram + psum_dram_read
    dram_write = ofmap_dram_write + psum_dram_write
    bw_bits = frame["dram_bw_bytes_per_cycle"].to_numpy(dtype=np.float64) * 8
    transfer_cycles = np.ceil((dram_read + dram_write) / bw_bits)
    stalls = np.maximum(transfer_cycles - col["cycles"], 0.0)

    out = {}
    out["ifmap_sram_read_bits"] = col["ifmap_sram_reads"] * a_bits
    out["ifmap_sram_write_bits"] = np.where(on_array, ifmap_dram, 0.0)
    out["filter_sram_read_bits"] = col["filter_sram_reads"] * w_bits
    out["filter_sram_write_bits"] = np.where(on_array, filter_dram, 0.0)
    # finished outputs are read once more on their way out to DRAM
    out["ofmap_sram_read_bits"] = np.where(on_array, (psum_reads + col["ofmap_elems"]) * acc_bits,
                                           0.0)
    out["ofmap_sram_write_bits"] = col["ofmap_sram_writes"] * acc_bits
    out["ifmap_dram_read_bits"] = ifmap_dram
    out["filter_dram_read_bits"] = filter_dram
    out["psum_dram_read_bits"] = psum_dram_read
    out["psum_dram_write_bits"] = psum_dram_write
    out["dram_read_bits"] = dram_read
    out["dram_write_bits"] = dram_write
    with np.errstate(divide="ignore", invalid="ignore"):
        demand = (dram_read + dram_write) / 8 / col["cycles"]
    out["dram_demand_bytes_per_cycle"] = np.where(on_array, demand, np.nan)  # host: no compute
    out["stall_cycles"] = stalls.astype(np.int64)
    out["total_cycles"] = (col["cycles"] + stalls).astype(np.int64)
    return join_columns(frame, out)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 1 where the denominator is 0 (a row with no GEMM)."""
    return np.divide(numerator, denominator, out=np.ones(len(numerator)),
                     where=denominator > 0)


def join_columns(frame: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """``frame`` with ``columns`` added (replacing any of the same name), without copying it."""
    joined = frame.copy(deep=False)
    for name, values in columns.items():
        joined[name] = values  # one block per column: no consolidation copy of the frame
    return joined
