"""The memory system: double-buffered SRAMs, DRAM traffic in packed bits, tiled refetch,
on-chip reuse between layers, stalls.

Everything here is column arithmetic over a DataFrame whose rows are (design point, layer)
pairs carrying the config as columns (``accelsim.config.config_columns``) beside a layer's
shape, widths and place (``accelsim.network``) and the simulator's SRAM word counts, so a
sweep prices millions of rows in one call.  Rows of one network must be consecutive and in
order (the chain between layers is read from neighbouring rows).

The model, stated once:
- Data is packed at the layer's own widths everywhere (2-bit weights move 4x fewer bits than
  8-bit ones).  The ofmap SRAM holds partial sums as accumulator words (32 bits on an fp32
  datapath, else acc_bits, of the PE that runs the layer); a finished output leaves
  requantised to the width of the layer that reads it next (its own width for the last one).
  A layer run in bit-serial passes reads its operands as bit planes: each pass reads its
  slice, so an operand's bits are read once per pass of the other operand.
- Each SRAM is double-buffered: half of it is the working buffer, the other half fills from DRAM.
- Tiled refetch, a one-level mapper.  The dataflow's folds form a loop nest: row folds (x,
  ceil(Sr/rows)) and column folds (y, ceil(Sc/cols)), T streamed whole in each fold (so the
  compute counts never change).  The row operand (Sr, T) is needed once per y, the column
  operand (Sc, T) once per x, the held one once (``accelsim.dataflows``).  With x outer, the
  row operand's current tile serves every y of the inner loop; with y outer, the column
  operand's does.  The operand reused across the outer loop keeps resident as much of itself
  as its buffer holds and refetches only the rest on each repeat: traffic = size x (1 +
  repeats x missing fraction).  Partial sums (outputs as the column operand, WS and IS) that
  do not stay resident are written out and read back on every row fold after the first.  Of
  the two loop orders, each row takes the one that moves fewer bits (``sram_loop_order``:
  0 = row folds outer, 1 = column folds outer).  The raw ifmap (before im2col) is what DRAM
  holds; a tile of it is taken as its share of the output rows (halos ignored).
- Between layers (``between_layers="sram"``): of a layer's output, what fits in both the ofmap
  and the ifmap working buffers stays on chip as the next layer's input; the rest goes to
  DRAM and comes back.  A residual add's shortcut stays beside the adding layer's input where
  the ifmap buffer has room left; the rest is written out and read back.  With "dram"
  (SCALE-Sim's accounting) every output goes to DRAM and every input comes from it; a
  shortcut is read back.
- DRAM transfers overlap compute within a layer (that is what the double buffer is for); a
  layer stalls for the clocks its traffic needs beyond its compute cycles:
  ``stall_cycles = max(0, ceil(dram_bits / (8 * bw)) - cycles)``.  The first tile's fill and
  DRAM latency are not modelled.
- A layer of several GEMMs (``gemms``: a grouped conv's groups, a matmul's batch) is tiled per
  GEMM: each GEMM's share of an operand is what its buffer must hold.
- A GEMM layer on the host unit (``runs_on`` host, wider than the PE) shares the array's
  SRAMs and is counted as above.  A row of no GEMM (``gemms`` = 0: pooling, softmax, norms,
  elementwise ops, named in a trace) has no compute to tile or to hide behind (its traffic
  time is its stall_cycles; the host's own compute time is not modelled): with "dram" it
  reads its input from DRAM once (both inputs of an add) and writes its output, touching no
  SRAM; with "sram" it works on chip like a layer, its input found where the previous output
  stayed, the second input of an add kept or refetched like a shortcut.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import dataflows, pe
from .dataflows import ROLE_COL, ROLE_ROW
from .formats import ALLOWED_BITS, ALLOWED_BITS_TEXT, BITS_PER_KB, TWO_INPUT_OPS

LAYER_COLUMNS = ("M", "N", "K", "ifmap_elems", "filter_elems", "ofmap_elems", "cycles",
                 "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads")
MEMORY_CONFIG_COLUMNS = ("rows", "cols", "dataflow", "wbits", "abits", "acc_bits",
                         "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                         "dram_bw_bytes_per_cycle")
# Columns a frame may lack, and what a row without them means: a standalone layer at the
# array's widths, on the array in one pass.
OPTIONAL_DEFAULTS = {"runs_on": "array", "weight_passes": 1, "activation_passes": 1,
                     "chained": False, "residual_elems": 0, "between_layers": "sram",
                     "gemms": 1, "op": "conv"}


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
            raise ValueError(f"{name}={_first(values[bad])!r}: allowed widths are "
                             f"{ALLOWED_BITS_TEXT}")
    acc = np.asarray(acc_bits)
    bad = ~np.isin(acc, range(2, 49))
    if bad.any():
        raise ValueError(f"acc_bits={_first(acc[bad])!r}: must be an integer in 2..48")


def _first(values: np.ndarray):
    """The first value as a Python scalar (an integer too large for int64 is one already)."""
    first = values.flat[0]
    return first.item() if isinstance(first, np.generic) else first


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


def column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column, or its OPTIONAL_DEFAULTS value on every row."""
    if name in frame.columns:
        return frame[name].to_numpy()
    return np.full(len(frame), OPTIONAL_DEFAULTS[name])


def column_is(frame: pd.DataFrame, name: str, values) -> np.ndarray:
    """Rows whose (string) column is one of ``values``, compared in pandas: on a categorical
    column that reads its codes, not a million strings."""
    values = (values,) if isinstance(values, str) else tuple(values)
    if name in frame.columns:
        return frame[name].isin(values).to_numpy()
    return np.full(len(frame), OPTIONAL_DEFAULTS[name] in values)


def layer_widths(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The layer's own widths (default: the array's)."""
    return tuple(frame[f"layer_{side}"].to_numpy() if f"layer_{side}" in frame.columns
                 else frame[side].to_numpy() for side in ("wbits", "abits"))


def unit_widths(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Widths of the PE that runs each row: the array's, or the layer's on the host unit."""
    layer_w, layer_a = layer_widths(frame)
    on_host = column_is(frame, "runs_on", "host")
    return (np.where(on_host, layer_w, frame["wbits"].to_numpy()),
            np.where(on_host, layer_a, frame["abits"].to_numpy()))


def _missing(buffer, need):
    """The fraction of ``need`` bits that a buffer of ``buffer`` bits cannot keep."""
    with np.errstate(divide="ignore"):  # nothing needed: 1 - B/0 = -inf, clipped to 0
        return np.clip(1.0 - buffer / need, 0.0, 1.0)


def _previous(values: np.ndarray) -> np.ndarray:
    """Each row's predecessor's value (0 for the first row)."""
    return np.concatenate([np.zeros(1, values.dtype), values[:-1]]) if len(values) else values


def _following(values: np.ndarray, fill) -> np.ndarray:
    return np.concatenate([values[1:], np.full(1, fill, values.dtype)]) if len(values) else values


def tiled_traffic(role: dict, sizes: dict, buffers: dict, partial_bits: np.ndarray,
                  row_folds, col_folds, row_tile, col_tile) -> dict[str, np.ndarray]:
    """DRAM bits of each input and of spilled partial sums under both loop orders, and the
    order the mapper takes (see the module docstring).

    role: operand -> ROLE_* codes; sizes/buffers: operand -> bits (inputs, and 'ofmap' for
    the buffer of partial sums); row_tile/col_tile: the share of an operand one fold's tile is.
    """
    totals, parts = [], []
    for outer_row in (True, False):  # x outer (y inner), then y outer (x inner)
        traffic = {}
        for name in ("ifmap", "filter"):
            r, size = role[name], sizes[name]
            repeats = np.where(r == ROLE_ROW, col_folds - 1,
                               np.where(r == ROLE_COL, row_folds - 1, 0))
            # The operand reused by the inner loop needs only one tile resident.
            inner = (r == ROLE_ROW) if outer_row else (r == ROLE_COL)
            tile = np.where(r == ROLE_ROW, row_tile, col_tile)
            need = np.where(inner, size * tile, size)
            traffic[name] = size * (1 + repeats * _missing(buffers[name], need))
        psum_need = partial_bits if outer_row else partial_bits * col_tile
        traffic["psum"] = np.where(role["ofmap"] == ROLE_COL, 2 * (row_folds - 1)
                                   * partial_bits * _missing(buffers["ofmap"], psum_need), 0.0)
        parts.append(traffic)
        totals.append(traffic["ifmap"] + traffic["filter"] + traffic["psum"])
    column_outer = totals[1] < totals[0]
    chosen = {name: np.where(column_outer, parts[1][name], parts[0][name])
              for name in parts[0]}
    chosen["order"] = column_outer.astype(np.int8)
    return chosen


def add_memory_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with SRAM and DRAM traffic in bits, stall cycles and total cycles.

    Adds ``{ifmap,filter,ofmap}_sram_{read,write}_bits``, ``{ifmap,filter}_dram_read_bits``,
    ``ofmap_dram_write_bits``, ``psum_dram_{read,write}_bits``,
    ``residual_dram_{read,write}_bits``, ``ifmap_onchip_bits`` (input found on chip),
    ``ofmap_kept_bits`` (output left on chip for the next layer), ``sram_loop_order``,
    ``dram_read_bits``, ``dram_write_bits``, ``dram_demand_bytes_per_cycle`` (traffic over
    compute cycles), ``stall_cycles`` and ``total_cycles`` (= cycles + stall_cycles).
    See the module docstring for the model and OPTIONAL_DEFAULTS for columns it may lack.
    """
    require_columns(frame, LAYER_COLUMNS + MEMORY_CONFIG_COLUMNS, "add_memory_columns")
    check_widths(frame["wbits"].to_numpy(), frame["abits"].to_numpy(),
                 frame["acc_bits"].to_numpy())
    layer_w, layer_a = layer_widths(frame)
    check_widths(layer_w, layer_a, frame["acc_bits"].to_numpy())
    gemms = column(frame, "gemms").astype(np.float64)
    check_positive(frame, ("gemms",) if "gemms" in frame.columns else (), allow_zero=True)
    on_array = gemms > 0
    check_positive(frame, ("M", "N", "K"), where=on_array)
    check_positive(frame, ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                           "dram_bw_bytes_per_cycle"))
    check_positive(frame, ("ifmap_elems", "filter_elems", "ofmap_elems", "cycles",
                           "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                           "ofmap_sram_reads"), allow_zero=True)
    col = {name: frame[name].to_numpy(dtype=np.float64) for name in LAYER_COLUMNS}
    # A host op has no GEMM: shape 1 x 1 x 1 keeps the arithmetic finite; its rows are masked.
    m, n, k = (np.where(on_array, col[name], 1.0) for name in ("M", "N", "K"))
    rows, cols = (frame[name].to_numpy(dtype=np.float64) for name in ("rows", "cols"))
    buffers = {name: frame[f"{name}_sram_kb"].to_numpy(dtype=np.float64) * BITS_PER_KB / 2
               for name in ("ifmap", "filter", "ofmap")}
    w_bits, a_bits = layer_w.astype(np.float64), layer_a.astype(np.float64)
    acc_word = pe.accumulator_bits(*unit_widths(frame), frame["acc_bits"].to_numpy())
    chained = column(frame, "chained").astype(bool)
    next_chained = _following(chained, False)
    out_bits = np.where(next_chained, _following(a_bits, 0.0), a_bits)
    on_chip = column_is(frame, "between_layers", "sram")
    # An add's second input is a shortcut; a layer may carry one folded in (residual_elems).
    two_inputs = ~on_array & column_is(frame, "op", TWO_INPUT_OPS)
    input_elems = np.where(two_inputs, col["ifmap_elems"] / 2, col["ifmap_elems"])
    shortcut_elems = np.where(two_inputs, col["ifmap_elems"] / 2,
                              column(frame, "residual_elems").astype(np.float64))

    code = dataflows.codes_of(frame["dataflow"])
    spatial_rows, spatial_cols, _ = dataflows.mapped_arrays(m, n, k, code)
    sizes = {"ifmap": input_elems * a_bits, "filter": col["filter_elems"] * w_bits}
    share = np.maximum(gemms, 1.0)  # each GEMM's part of an operand is what must fit
    tiles = tiled_traffic(dataflows.roles(code), {n_: v / share for n_, v in sizes.items()},
                          buffers, m * n * acc_word, np.ceil(spatial_rows / rows),
                          np.ceil(spatial_cols / cols),
                          np.minimum(rows, spatial_rows) / spatial_rows,
                          np.minimum(cols, spatial_cols) / spatial_cols)
    tiles = {name: (values * share if name != "order" else values)
             for name, values in tiles.items()}
    # A host op reads its input once and has no weights or partial sums.
    tiles["ifmap"] = np.where(on_array, tiles["ifmap"], sizes["ifmap"])
    tiles["filter"] = np.where(on_array, tiles["filter"], 0.0)
    tiles["psum"] = np.where(on_array, tiles["psum"], 0.0)

    # Between layers: the part of an output that both working buffers hold stays on chip.
    ofmap_bits = col["ofmap_elems"] * out_bits
    kept = np.where(next_chained & on_chip,
                    np.minimum(ofmap_bits, np.minimum(buffers["ofmap"], buffers["ifmap"])), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kept_share = np.where(ofmap_bits > 0, kept / ofmap_bits, 0.0)
    ifmap_onchip = np.where(chained & on_chip, _previous(kept_share) * sizes["ifmap"], 0.0)
    # A residual add's shortcut: kept beside the layer's input where the ifmap buffer has room.
    shortcut = shortcut_elems * np.where(on_array, out_bits, a_bits)
    room = np.maximum(buffers["ifmap"] - np.minimum(sizes["ifmap"], buffers["ifmap"]), 0.0)
    shortcut_lost = shortcut - np.where(on_chip, np.minimum(shortcut, room), 0.0)

    ifmap_dram = tiles["ifmap"] - ifmap_onchip
    filter_dram = tiles["filter"]
    psum_dram = tiles["psum"] / 2
    ofmap_dram_write = ofmap_bits - kept
    residual_write = np.where(on_chip, shortcut_lost, 0.0)
    dram_read = ifmap_dram + filter_dram + psum_dram + shortcut_lost
    dram_write = ofmap_dram_write + psum_dram + residual_write
    bw_bits = frame["dram_bw_bytes_per_cycle"].to_numpy(dtype=np.float64) * 8
    transfer_cycles = np.ceil((dram_read + dram_write) / bw_bits)
    stalls = np.maximum(transfer_cycles - col["cycles"], 0.0)

    weight_passes = column(frame, "weight_passes").astype(np.float64)
    activation_passes = column(frame, "activation_passes").astype(np.float64)
    out = {}
    # bit planes: a pass reads its slice, i.e. one operand's bits per pass of the other.  A host
    # op on chip reads its inputs from the SRAM and writes its output there; off chip, none.
    host_op_on_chip = ~on_array & on_chip
    out["ifmap_sram_read_bits"] = np.where(
        on_array, col["ifmap_sram_reads"] * a_bits / activation_passes + shortcut,
        np.where(on_chip, sizes["ifmap"] + shortcut, 0.0))
    out["ifmap_sram_write_bits"] = np.where(on_array, tiles["ifmap"] + shortcut_lost,
                                            np.where(on_chip, ifmap_dram + shortcut_lost, 0.0))
    out["filter_sram_read_bits"] = col["filter_sram_reads"] * w_bits / weight_passes
    out["filter_sram_write_bits"] = filter_dram
    # finished outputs are read once more on their way out (to DRAM or the next layer)
    out["ofmap_sram_read_bits"] = np.where(
        on_array, (col["ofmap_sram_reads"] + col["ofmap_elems"]) * acc_word, 0.0)
    out["ofmap_sram_write_bits"] = np.where(on_array, col["ofmap_sram_writes"] * acc_word,
                                            np.where(host_op_on_chip, ofmap_bits, 0.0))
    out["ifmap_dram_read_bits"] = ifmap_dram
    out["filter_dram_read_bits"] = filter_dram
    out["ofmap_dram_write_bits"] = ofmap_dram_write
    out["psum_dram_read_bits"] = psum_dram
    out["psum_dram_write_bits"] = psum_dram
    out["residual_dram_read_bits"] = shortcut_lost
    out["residual_dram_write_bits"] = residual_write
    out["ifmap_onchip_bits"] = ifmap_onchip
    out["ofmap_kept_bits"] = kept
    out["sram_loop_order"] = tiles["order"]
    out["dram_read_bits"] = dram_read
    out["dram_write_bits"] = dram_write
    with np.errstate(divide="ignore", invalid="ignore"):
        demand = (dram_read + dram_write) / 8 / col["cycles"]
    out["dram_demand_bytes_per_cycle"] = np.where(on_array, demand, np.nan)  # host: no compute
    out["stall_cycles"] = stalls.astype(np.int64)
    out["total_cycles"] = (col["cycles"] + stalls).astype(np.int64)
    return join_columns(frame, out)


def join_columns(frame: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """``frame`` with ``columns`` added (replacing any of the same name), copying neither.

    Assigning columns one by one copies each new array (pandas' copy-on-write guards it);
    concatenating them as one frame does not, which on a sweep's million rows is most of the
    time the memory model takes."""
    added = pd.DataFrame(columns, index=frame.index, copy=False)
    kept = frame.drop(columns=[name for name in columns if name in frame.columns])
    return pd.concat([kept, added], axis=1)
