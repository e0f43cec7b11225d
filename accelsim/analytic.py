"""Closed-form cycles and SRAM accesses: what the cycle-level model counts, without simulating.

Every function works elementwise on NumPy arrays (or scalars) so that a sweep evaluates
millions of (design point, layer) pairs in one call.  Cycles follow SCALE-Sim 3.0.0's compute
accounting (DESIGN.md): a dataflow record (``accelsim.dataflows``) maps a GEMM (M, N, K) to
(Sr, Sc, T); folds = ceil(Sr/rows) x ceil(Sc/cols); each fold takes T + rows + cols - 2 clocks,
plus rows to preload where the held operand is an input; reported cycles are
folds x per-fold - 1.  A layer of several GEMMs of one shape (a grouped conv's groups, a
matmul's batch of heads) runs them back to back as one layer: G times the folds, and
SCALE-Sim's - 1 once; a layer of no GEMMs (an op on the host) takes 0 cycles.  Tests hold these
equal to ``accelsim.systolic`` on every record.
"""
from __future__ import annotations

import numpy as np

from . import dataflows
from .dataflows import ROLE_COL

DATAFLOW_CODES = dataflows.CODES  # os=0, ws=1, is=2
PASS_SCALED = ("folds", "clocks", "busy_pe_cycles", "ifmap_sram_reads", "filter_sram_reads",
               "ofmap_sram_writes", "ofmap_sram_reads")


def _ceil_div(a, b):
    return -(-a // b)


def gemm_counts(m, n, k, rows, cols, dataflow, gemms=1) -> dict[str, np.ndarray]:
    """Cycles and SRAM word accesses of GEMMs (M x K) @ (K x N), elementwise over the inputs.

    ``dataflow`` is a name, or an array of names or codes (``accelsim.dataflows.CODES``);
    ``gemms``: how many such GEMMs the layer runs (0 for a layer on the host).
    Returns int64 arrays: folds, clocks, cycles, macs, ifmap_sram_reads, filter_sram_reads,
    ofmap_sram_writes, ofmap_sram_reads, and float utilization (0 where nothing ran).
    """
    m, n, k, rows, cols, gemms = (np.asarray(x, dtype=np.int64)
                                  for x in (m, n, k, rows, cols, gemms))
    code = dataflows.codes_of(dataflow)
    spatial_rows, spatial_cols, temporal = dataflows.mapped_arrays(m, n, k, code)
    row_folds, col_folds = _ceil_div(spatial_rows, rows), _ceil_div(spatial_cols, cols)
    folds = gemms * row_folds * col_folds
    preload = np.where(dataflows.lookup(code, lambda f: f.preloads), rows, 0)
    clocks = folds * (temporal + preload + rows + cols - 2)
    macs = gemms * m * n * k
    # Each fold reads its tile of the row operand (once per column fold in all), of the column
    # operand (once per row fold), and preloads its held tile (each element once).  Outputs
    # held in the PEs are written once; outputs as the column operand are written once per
    # row fold and read back to accumulate on every fold but the first.
    role = dataflows.roles(code)
    reads = {name: gemms * np.choose(role[name], (size * col_folds, size * row_folds, size))
             for name, size in (("ifmap", m * k), ("filter", k * n))}
    out_is_col = role["ofmap"] == ROLE_COL
    ofmap_writes = gemms * np.where(out_is_col, m * n * row_folds, m * n)
    ofmap_reads = gemms * np.where(out_is_col, m * n * (row_folds - 1), 0)
    ran = clocks > 0
    slots = clocks * rows * cols
    return {
        "folds": folds,
        "clocks": clocks,
        "cycles": np.where(ran, clocks - 1, 0),
        "macs": macs,
        "utilization": np.divide(macs, slots, out=np.zeros(np.broadcast(macs, slots).shape),
                                 where=ran),
        "ifmap_sram_reads": reads["ifmap"],
        "filter_sram_reads": reads["filter"],
        "ofmap_sram_writes": ofmap_writes,
        "ofmap_sram_reads": ofmap_reads,
    }


def with_passes(counts: dict[str, np.ndarray], m, n, passes,
                gemms=1) -> dict[str, np.ndarray]:
    """The counts of a GEMM run as ``passes`` bit-serial passes (``accelsim.pe``).

    Each pass is the whole GEMM on digit operands: folds, clocks, PE work and SRAM reads repeat
    per pass; a pass reports SCALE-Sim cycles of its own, so cycles = passes x (clocks - 1).
    Every pass after the first shifts its outputs and adds them to the running sum in the
    output buffer: one read and one add per output (``shift_adds``).
    """
    passes = np.asarray(passes, dtype=np.int64)
    out = dict(counts)
    busy = counts.get("busy_pe_cycles", counts["macs"])
    for name in PASS_SCALED:
        out[name] = (busy if name == "busy_pe_cycles" else counts[name]) * passes
    out["cycles"] = counts["cycles"] * passes
    out["shift_adds"] = np.asarray(m, dtype=np.int64) * n * gemms * (passes - 1)
    out["ofmap_sram_reads"] = out["ofmap_sram_reads"] + out["shift_adds"]
    return out


# ----------------------------------------------------------------------------- one fold, clock by clock

def fold_schedule(rows: int, cols: int, dataflow: str, used_rows: int, used_cols: int,
                  temporal: int) -> dict:
    """When each PE of one fold works, as the cycle-level kernels clock it.

    Operands enter the array's edges skewed (row i by i clocks, column j by j) and move one
    PE per clock, so PE (i, j) of the fold's ``used_rows`` x ``used_cols`` corner makes its
    ``temporal`` MACs in clocks [start, start + temporal), start = preload + i + j, where the
    preload is ``rows`` clocks for a record that holds an input (WS, IS) and none otherwise
    (OS).  PEs outside the corner (a partial fold at the GEMM's edge) idle the whole fold,
    which lasts preload + temporal + rows + cols - 2 clocks however little of the array it
    uses.  Returns ``start`` (rows x cols, -1 where unused), ``preload`` and ``clocks``.
    """
    preload = rows if dataflows.get(dataflow).preloads else 0
    i, j = np.indices((rows, cols))
    start = np.where((i < used_rows) & (j < used_cols), preload + i + j, -1)
    return {"start": start, "preload": preload, "clocks": preload + temporal + rows + cols - 2}


__all__ = ["DATAFLOW_CODES", "fold_schedule", "gemm_counts", "with_passes"]
