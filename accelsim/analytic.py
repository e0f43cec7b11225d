"""Closed-form cycles and SRAM accesses: what the cycle-level model counts, without simulating.

Every function works elementwise on NumPy arrays (or scalars) so that a sweep evaluates
millions of (design point, layer) pairs in one call.  Cycles follow SCALE-Sim 3.0.0's compute
accounting (DESIGN.md): a GEMM (M, N, K) maps to (Sr, Sc, T) = (M, N, K) for output-stationary,
(K, N, M) for weight-stationary and (K, M, N) for input-stationary; folds =
ceil(Sr/rows) x ceil(Sc/cols); each fold takes T + rows + cols - 2 clocks (OS) or
T + 2 rows + cols - 2 (WS, IS: rows more to preload the stationary tile); reported cycles are
folds x per-fold - 1.  A layer of several GEMMs of one shape (a grouped conv's groups, a
matmul's batch of heads) runs them back to back as one layer: G times the folds, and SCALE-Sim's
- 1 once; a layer of no GEMMs (an op on the host) takes 0 cycles.  Tests hold these equal to
``accelsim.systolic`` on every case.
"""
from __future__ import annotations

import numpy as np

from .config import DATAFLOWS

DATAFLOW_CODES = {name: code for code, name in enumerate(DATAFLOWS)}  # os=0, ws=1, is=2


def _ceil_div(a, b):
    return -(-a // b)


def gemm_counts(m, n, k, rows, cols, dataflow, gemms=1) -> dict[str, np.ndarray]:
    """Cycles and SRAM word accesses of GEMMs (M x K) @ (K x N), elementwise over the inputs.

    ``dataflow`` is a name ('os', 'ws', 'is') or an array of codes from DATAFLOW_CODES;
    ``gemms``: how many such GEMMs the layer runs (0 for a layer on the host).
    Returns int64 arrays: folds, clocks, cycles, macs, ifmap_sram_reads, filter_sram_reads,
    ofmap_sram_writes, ofmap_sram_reads, and float utilization (0 where nothing ran).
    """
    m, n, k, rows, cols, gemms = (np.asarray(x, dtype=np.int64)
                                  for x in (m, n, k, rows, cols, gemms))
    code = np.asarray(DATAFLOW_CODES[dataflow] if isinstance(dataflow, str) else dataflow)
    is_os, is_ws = code == 0, code == 1
    # (Sr, Sc, T) per dataflow
    spatial_rows = np.where(is_os, m, k)
    spatial_cols = np.where(is_os | is_ws, n, m)
    temporal = np.where(is_os, k, np.where(is_ws, m, n))
    folds = gemms * _ceil_div(spatial_rows, rows) * _ceil_div(spatial_cols, cols)
    clocks = folds * (temporal + np.where(is_os, 0, rows) + rows + cols - 2)
    macs = gemms * m * n * k
    k_folds = _ceil_div(k, rows)
    # Operands are re-read once per fold of the other operand's spatial dimension; outputs
    # are written once (OS) or once per K fold, read back to accumulate (WS, IS).
    ifmap_reads = gemms * np.where(is_os | is_ws, m * k * _ceil_div(n, cols), m * k)
    filter_reads = gemms * np.where(is_os, k * n * _ceil_div(m, rows),
                                    np.where(is_ws, k * n, k * n * _ceil_div(m, cols)))
    ofmap_writes = gemms * np.where(is_os, m * n, m * n * k_folds)
    ofmap_reads = gemms * np.where(is_os, 0, m * n * (k_folds - 1))
    ran = clocks > 0
    slots = clocks * rows * cols
    return {
        "folds": folds,
        "clocks": clocks,
        "cycles": np.where(ran, clocks - 1, 0),
        "macs": macs,
        "utilization": np.divide(macs, slots, out=np.zeros(np.broadcast(macs, slots).shape),
                                 where=ran),
        "ifmap_sram_reads": ifmap_reads,
        "filter_sram_reads": filter_reads,
        "ofmap_sram_writes": ofmap_writes,
        "ofmap_sram_reads": ofmap_reads,
    }


# ----------------------------------------------------------------------------- one fold, clock by clock

# How a dataflow lays a GEMM (M, N, K) on the array: the GEMM dimensions on its rows and
# columns and the one streamed through it (DESIGN.md's (Sr, Sc, T)), and whether it first
# preloads a stationary tile (one row per clock, ``rows`` clocks).
MAPPING = {"os": ("M", "N", "K"), "ws": ("K", "N", "M"), "is": ("K", "M", "N")}
PRELOADS = {"os": False, "ws": True, "is": True}


def mapped_dims(m: int, n: int, k: int, dataflow: str) -> tuple[int, int, int]:
    """(Sr, Sc, T) of a GEMM under a dataflow (MAPPING)."""
    sizes = {"M": m, "N": n, "K": k}
    return tuple(sizes[d] for d in MAPPING[dataflow])


def fold_schedule(rows: int, cols: int, dataflow: str, used_rows: int, used_cols: int,
                  temporal: int) -> dict:
    """When each PE of one fold works, as the cycle-level kernels clock it.

    Operands enter the array's edges skewed (row i by i clocks, column j by j) and move one
    PE per clock, so PE (i, j) of the fold's ``used_rows`` x ``used_cols`` corner makes its
    ``temporal`` MACs in clocks [start, start + temporal), start = preload + i + j, where the
    preload is ``rows`` clocks for WS and IS and none for OS.  PEs outside the corner (a
    partial fold at the GEMM's edge) idle the whole fold, which lasts preload + temporal +
    rows + cols - 2 clocks however little of the array it uses.  Returns ``start`` (rows x
    cols, -1 where unused), ``preload`` and ``clocks``.
    """
    preload = rows if PRELOADS[dataflow] else 0
    i, j = np.indices((rows, cols))
    start = np.where((i < used_rows) & (j < used_cols), preload + i + j, -1)
    return {"start": start, "preload": preload, "clocks": preload + temporal + rows + cols - 2}
