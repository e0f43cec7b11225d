"""The cycle-level model's Python API: check operands, pick the kernel, report counts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import analytic, kernels
from .config import ArrayConfig, activation_code_range, weight_code_range


@dataclass(frozen=True)
class GemmResult:
    """What one GEMM on the array produced and what it cost in cycles and accesses.

    ``cycles`` follows SCALE-Sim: folds x clocks-per-fold - 1 (``clocks`` is the plain count of
    clocks simulated).  SRAM counts are in operand words; the memory model turns them into bits.
    """

    output: np.ndarray
    cycles: int
    clocks: int
    folds: int
    macs: int
    busy_pe_cycles: int
    utilization: float
    ifmap_sram_reads: int
    filter_sram_reads: int
    ofmap_sram_writes: int
    ofmap_sram_reads: int
    zero_weight_macs: int
    overflows: int
    pe_busy: np.ndarray   # (rows, cols) MACs each PE performed
    fold_log: np.ndarray  # (folds, 4): first row and column of the mapped GEMM, clocks, MACs


def pe_mode(cfg: ArrayConfig) -> int:
    """Which PE arithmetic the widths call for."""
    if cfg.is_float:
        return kernels.MODE_FLOAT
    if cfg.wbits == 2:
        return kernels.MODE_TERNARY
    if cfg.wbits == 1:
        return kernels.MODE_BINARY
    return kernels.MODE_MULTIPLY


def check_operands(activations: np.ndarray, weights: np.ndarray,
                   cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray]:
    """Validate operand shapes and codes; return them in the kernel's dtype (int64 or float32)."""
    a, w = np.asarray(activations), np.asarray(weights)
    if a.ndim != 2 or w.ndim != 2:
        raise ValueError(f"operands must be 2-D: A is {a.ndim}-D, W is {w.ndim}-D")
    if a.shape[1] != w.shape[0]:
        raise ValueError(f"GEMM shapes do not match: A is {a.shape} (M, K), W is {w.shape} (K, N)")
    if 0 in a.shape or 0 in w.shape:
        raise ValueError(f"empty GEMM: A is {a.shape}, W is {w.shape}")
    if cfg.is_float:
        a32, w32 = a.astype(np.float32), w.astype(np.float32)
        if not (np.isfinite(a32).all() and np.isfinite(w32).all()):
            raise ValueError("operands must be finite for the fp32 PE")
        return a32, w32
    for name, matrix, (low, high), bits in (
            ("A (activations)", a, activation_code_range(cfg.abits), f"abits={cfg.abits}"),
            ("W (weights)", w, weight_code_range(cfg.wbits), f"wbits={cfg.wbits}")):
        if matrix.dtype.kind not in "iub":
            if matrix.dtype.kind != "f" or not np.array_equal(matrix, np.round(matrix)):
                raise ValueError(f"{name} must hold integer codes, found dtype {matrix.dtype}")
        if matrix.min() < low or matrix.max() > high:
            raise ValueError(f"{name} codes must lie in [{low}, {high}] for {bits}; found "
                             f"[{matrix.min()}, {matrix.max()}]")
    if cfg.wbits == 1 and (w == 0).any():
        raise ValueError("W (weights) codes must be -1 or +1 for wbits=1 (binary); found 0")
    return a.astype(np.int64), w.astype(np.int64)


def simulate_gemm(activations: np.ndarray, weights: np.ndarray, cfg: ArrayConfig) -> GemmResult:
    """Run A (M x K, unsigned codes) @ W (K x N, signed codes) clock by clock on the array."""
    a, w = check_operands(activations, weights, cfg)
    m, k = a.shape
    n = w.shape[1]
    mode = pe_mode(cfg)
    stats = np.zeros(kernels.N_STATS, dtype=np.int64)
    pe_busy = np.zeros((cfg.rows, cfg.cols), dtype=np.int64)
    fold_log = np.zeros((_fold_count(m, n, k, cfg), kernels.N_FOLD_FIELDS), dtype=np.int64)
    state = (stats, pe_busy, fold_log)
    out_dtype = np.float32 if cfg.is_float else np.int64
    if cfg.dataflow == "os":
        output = np.zeros((m, n), out_dtype)
        kernels.run_output_stationary(a, w, cfg.rows, cfg.cols, mode, cfg.acc_bits, output,
                                      *state)
    elif cfg.dataflow == "ws":
        output = np.zeros((m, n), out_dtype)
        kernels.run_stationary(w, a, cfg.rows, cfg.cols, mode, cfg.acc_bits, True, output, *state)
    else:  # "is": A^T held in the array, W^T streams, the array computes (A W)^T
        transposed = np.zeros((n, m), out_dtype)
        kernels.run_stationary(np.ascontiguousarray(a.T), np.ascontiguousarray(w.T), cfg.rows,
                               cfg.cols, mode, cfg.acc_bits, False, transposed, *state)
        output = np.ascontiguousarray(transposed.T)
    clocks = int(stats[kernels.STAT_CYCLES])
    macs = m * n * k
    return GemmResult(
        output=output,
        cycles=clocks - 1,
        clocks=clocks,
        folds=int(stats[kernels.STAT_FOLDS]),
        macs=macs,
        busy_pe_cycles=int(stats[kernels.STAT_BUSY]),
        # clocks, not SCALE-Sim's cycles (= clocks - 1), so that a full array reads exactly 1.0
        utilization=macs / (clocks * cfg.pes),
        ifmap_sram_reads=int(stats[kernels.STAT_IFMAP_READS]),
        filter_sram_reads=int(stats[kernels.STAT_FILTER_READS]),
        ofmap_sram_writes=int(stats[kernels.STAT_OFMAP_WRITES]),
        ofmap_sram_reads=int(stats[kernels.STAT_OFMAP_READS]),
        zero_weight_macs=int(stats[kernels.STAT_ZERO_WEIGHT_MACS]),
        overflows=int(stats[kernels.STAT_OVERFLOWS]),
        pe_busy=pe_busy,
        fold_log=fold_log,
    )


def _fold_count(m: int, n: int, k: int, cfg: ArrayConfig) -> int:
    """Folds the kernel will run (sizes its log; the kernel counts the folds it runs itself)."""
    return int(analytic.gemm_counts(m, n, k, cfg.rows, cfg.cols, cfg.dataflow)["folds"])
