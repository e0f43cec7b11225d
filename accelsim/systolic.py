"""The cycle-level model's Python API: check operands, pick the kernel, report counts."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import analytic, kernels, pe
from .config import ArrayConfig, activation_code_range, weight_code_range
from .formats import FP32_BITS


@dataclass(frozen=True)
class GemmResult:
    """What one GEMM on the array produced and what it cost in cycles and accesses.

    ``cycles`` follows SCALE-Sim: folds x clocks-per-fold - 1 (``clocks`` is the plain count of
    clocks simulated), summed over passes for a GEMM run bit-serially.  SRAM counts are in
    operand words; the memory model turns them into bits.
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
    passes: int = 1
    shift_adds: int = 0


def pe_mode(cfg: ArrayConfig) -> int:
    """The kernel's mode: the product unit of the PE's widths (``accelsim.pe``)."""
    return int(pe.product_unit(cfg.wbits, cfg.abits))


def check_operands(activations: np.ndarray, weights: np.ndarray,
                   cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray]:
    """Validate operand shapes and codes; return them in the kernel's dtype (int64 or float32).

    An fp32 side takes any finite values; an integer side takes codes of its width, also when
    the other side is fp32 (a ternary PE on fp32 activations still needs ternary weights).
    """
    a, w = np.asarray(activations), np.asarray(weights)
    if a.ndim != 2 or w.ndim != 2:
        raise ValueError(f"operands must be 2-D: A is {a.ndim}-D, W is {w.ndim}-D")
    if a.shape[1] != w.shape[0]:
        raise ValueError(f"GEMM shapes do not match: A is {a.shape} (M, K), W is {w.shape} (K, N)")
    if 0 in a.shape or 0 in w.shape:
        raise ValueError(f"empty GEMM: A is {a.shape}, W is {w.shape}")
    for name, matrix, bits, code_range, what in (
            ("A (activations)", a, cfg.abits, activation_code_range, "abits"),
            ("W (weights)", w, cfg.wbits, weight_code_range, "wbits")):
        if bits == FP32_BITS:
            if not np.isfinite(matrix.astype(np.float32)).all():
                raise ValueError(f"{name} must be finite for an fp32 operand")
            continue
        low, high = code_range(bits)
        if matrix.dtype.kind not in "iub":
            if matrix.dtype.kind != "f" or not np.array_equal(matrix, np.round(matrix)):
                raise ValueError(f"{name} must hold integer codes, found dtype {matrix.dtype}")
        if matrix.min() < low or matrix.max() > high:
            raise ValueError(f"{name} codes must lie in [{low}, {high}] for {what}={bits}; "
                             f"found [{matrix.min()}, {matrix.max()}]")
    if cfg.wbits == 1 and (w == 0).any():
        raise ValueError("W (weights) codes must be -1 or +1 for wbits=1 (binary); found 0")
    dtype = np.float32 if cfg.is_float else np.int64
    return a.astype(dtype), w.astype(dtype)


def simulate_gemm(activations: np.ndarray, weights: np.ndarray, cfg: ArrayConfig) -> GemmResult:
    """Run A (M x K, unsigned codes) @ W (K x N, signed codes) clock by clock on the array.

    The dataflow record (``cfg.flow``) lays the operands out for one of the two kernels: with
    the outputs held, its row operand enters from the left and its column operand from the top;
    with an input held, that input is preloaded and the row operand streams from the left.
    """
    a, w = check_operands(activations, weights, cfg)
    m, k = a.shape
    n = w.shape[1]
    flow = cfg.flow
    matrices = {"ifmap": a, "filter": w}
    stats = np.zeros(kernels.N_STATS, dtype=np.int64)
    pe_busy = np.zeros((cfg.rows, cfg.cols), dtype=np.int64)
    fold_log = np.zeros((_fold_count(m, n, k, cfg), kernels.N_FOLD_FIELDS), dtype=np.int64)
    state = (stats, pe_busy, fold_log)
    out_dtype = np.float32 if cfg.is_float else np.int64
    sr, sc, t = flow.spatial_rows, flow.spatial_cols, flow.temporal
    size = {"M": m, "N": n, "K": k}
    mode = pe_mode(cfg)
    if flow.held == "ofmap":
        left, top = flow.row_operand, flow.col_operand
        out_dims = (sr, sc)
        mapped_out = np.zeros((size[sr], size[sc]), out_dtype)
        kernels.run_output_stationary(flow.arrange(matrices[left], left, (sr, t)),
                                      flow.arrange(matrices[top], top, (t, sc)), cfg.rows,
                                      cfg.cols, mode, cfg.acc_bits, left == "filter",
                                      mapped_out, *state)
    else:
        held, streamed = flow.held, flow.row_operand
        out_dims = (t, sc)
        mapped_out = np.zeros((size[t], size[sc]), out_dtype)
        kernels.run_stationary(flow.arrange(matrices[held], held, (sr, sc)),
                               flow.arrange(matrices[streamed], streamed, (t, sr)), cfg.rows,
                               cfg.cols, mode, cfg.acc_bits, held == "filter", mapped_out,
                               *state)
    output = flow.arrange(mapped_out, "ofmap", out_dims)
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


def simulate_passes(activations: np.ndarray, weights: np.ndarray, cfg: ArrayConfig,
                    weight_passes: int, activation_passes: int) -> GemmResult:
    """A GEMM of codes wider than the PE, run as bit-serial passes on the array.

    Weights split into ``weight_passes`` digits and activations into ``activation_passes``
    digits that the PE takes (``accelsim.pe``); each pair of digits is one pass of
    ``simulate_gemm``, and its outputs are shifted and added into the running sum (in the
    output buffer's adder, which wraps at acc_bits as the accumulators do).  Counts are summed
    over the passes, plus one ofmap read per output per pass after the first.
    """
    a, w = np.asarray(activations, dtype=np.int64), np.asarray(weights, dtype=np.int64)
    runs = [(simulate_gemm(a_digit, w_digit, cfg), a_shift + w_shift)
            for w_digit, w_shift in pe.weight_digits(w, cfg.wbits, weight_passes)
            for a_digit, a_shift in pe.activation_digits(a, cfg.abits, activation_passes)]
    if len(runs) == 1:
        return runs[0][0]
    first = runs[0][0]
    if cfg.is_float:
        total = sum(run.output.astype(np.float64) * float(1 << shift) for run, shift in runs)
        output = total.astype(np.float32)
    else:
        # (x << s) mod 2^acc, term by term, so that no intermediate leaves int64
        acc, span = cfg.acc_bits, 1 << cfg.acc_bits
        total = sum((run.output % (1 << (acc - shift))) << shift for run, shift in runs
                    if shift < acc) % span
        output = (total + span // 2) % span - span // 2
    passes = len(runs)
    shift_adds = first.output.size * (passes - 1)
    summed = {name: sum(getattr(run, name) for run, _ in runs)
              for name in ("cycles", "clocks", "folds", "busy_pe_cycles", "ifmap_sram_reads",
                           "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads",
                           "zero_weight_macs", "overflows")}
    summed["ofmap_sram_reads"] += shift_adds
    return replace(first, output=output, **summed, passes=passes, shift_adds=shift_adds,
                   pe_busy=sum(run.pe_busy for run, _ in runs),
                   fold_log=np.concatenate([run.fold_log for run, _ in runs]))


def _fold_count(m: int, n: int, k: int, cfg: ArrayConfig) -> int:
    """Folds the kernel will run (sizes its log; the kernel counts the folds it runs itself)."""
    return int(analytic.gemm_counts(m, n, k, cfg.rows, cfg.cols, cfg.dataflow)["folds"])
