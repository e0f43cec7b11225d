"""Numba kernels of the cycle-level systolic array: plain loops over typed arrays.

Every kernel steps the array one clock at a time.  Each PE holds registers for the operands
passing through it (with a valid bit, as hardware does) and either an output-stationary
accumulator or a partial sum moving down its column.  Memory is O(rows x cols) registers plus
the operand and output matrices: nothing grows with cycles x PEs.

Two kernels cover the three dataflows:
- ``run_output_stationary``: the left operand streams in from the left edge (row i skewed by
  i clocks), the top operand from the top edge (column j skewed by j); each PE accumulates
  its own output.  Per fold: T + rows + cols - 2 clocks.
- ``run_stationary``: one operand is preloaded into the array (rows clocks, shifted down from
  the top), the other streams in from the left, and partial sums flow down the columns to the
  bottom edge, where they are added to what earlier folds over K left in the output buffer.
  Per fold: rows (preload) + T + rows + cols - 2 clocks.  Weight-stationary preloads W;
  input-stationary preloads A^T and streams W^T, giving (A W)^T.

The PE arithmetic is chosen by ``mode``: MODE_MULTIPLY (integer multiplier), MODE_TERNARY
(weights {-1, 0, +1}: sign-select-and-append, zero gated, no multiplier), MODE_BINARY
(weights {-1, +1}: conditional negate), MODE_FLOAT (fp32 fused multiply-add).  Integer
accumulators wrap at ``acc_bits`` as the hardware's would, and every wrap is counted.

Counters (``stats``, int64): see the STAT_* indices below.  ``pe_busy`` (rows x cols) counts
each PE's MACs; ``fold_log`` (folds x N_FOLD_FIELDS) records every fold as it runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit

MODE_MULTIPLY = 0
MODE_TERNARY = 1
MODE_BINARY = 2
MODE_FLOAT = 3

STAT_CYCLES = 0            # clocks simulated
STAT_BUSY = 1              # PE-clocks that performed a MAC on valid operands
STAT_IFMAP_READS = 2       # activation words read from the ifmap SRAM into the array edge
STAT_FILTER_READS = 3      # weight words read from the filter SRAM
STAT_OFMAP_WRITES = 4      # output / partial-sum words written to the ofmap SRAM
STAT_OFMAP_READS = 5       # partial sums read back from the ofmap SRAM to accumulate across K folds
STAT_ZERO_WEIGHT_MACS = 6  # MACs whose weight is 0 (the ternary PE gates its accumulator)
STAT_OVERFLOWS = 7         # accumulations that left the signed acc_bits range
STAT_FOLDS = 8
N_STATS = 9

# Columns of the per-fold log: where the fold sits in the mapped GEMM, its length, its MACs.
FOLD_ROW0 = 0
FOLD_COL0 = 1
FOLD_CLOCKS = 2
FOLD_BUSY = 3
N_FOLD_FIELDS = 4


@njit(cache=True, inline="always")
def _pe_product(act, wgt, mode):
    """What the PE adds to its accumulator for one activation and one weight."""
    if mode == MODE_TERNARY:
        # sign-compare-and-append: pass the activation with the weight's sign, or force zero
        return act if wgt > 0 else (-act if wgt < 0 else act - act)
    if mode == MODE_BINARY:
        return act if wgt > 0 else -act
    return act * wgt


@njit(cache=True, inline="always")
def _accumulate(acc, value, mode, acc_min, acc_span, stats):
    """acc + value in a signed accumulator of acc_bits, wrapping (and counting) on overflow."""
    total = acc + value
    if mode != MODE_FLOAT:
        if total < acc_min or total >= acc_min + acc_span:
            stats[STAT_OVERFLOWS] += 1
            total = (total - acc_min) % acc_span + acc_min
    return total


@njit(cache=True, inline="always")
def _log_fold(fold_log, stats, row0, col0, clocks, busy_before):
    fold = stats[STAT_FOLDS]
    fold_log[fold, FOLD_ROW0] = row0
    fold_log[fold, FOLD_COL0] = col0
    fold_log[fold, FOLD_CLOCKS] = clocks
    fold_log[fold, FOLD_BUSY] = stats[STAT_BUSY] - busy_before
    stats[STAT_CYCLES] += clocks
    stats[STAT_FOLDS] += 1


@njit(cache=True)
def run_output_stationary(left, top, rows, cols, mode, acc_bits, left_is_weight, out, stats,
                          pe_busy, fold_log):
    """Output-stationary GEMM out = left @ top on a rows x cols array.

    left: (Sr, T) streams from the left edge; top: (T, Sc) streams from the top edge.
    out: (Sr, Sc), written fold by fold.  For OS, left = A and top = W.
    """
    sr, t_len = left.shape
    sc = top.shape[1]
    acc_min = -(1 << (acc_bits - 1))
    acc_span = 1 << acc_bits
    left_reg = np.zeros((rows, cols), left.dtype)
    left_ok = np.zeros((rows, cols), np.bool_)
    top_reg = np.zeros((rows, cols), top.dtype)
    top_ok = np.zeros((rows, cols), np.bool_)
    acc = np.zeros((rows, cols), out.dtype)
    clocks_per_fold = t_len + rows + cols - 2
    for r0 in range(0, sr, rows):
        r_used = min(rows, sr - r0)
        for c0 in range(0, sc, cols):
            c_used = min(cols, sc - c0)
            busy_before = stats[STAT_BUSY]
            left_ok[:, :] = False
            top_ok[:, :] = False
            acc[:, :] = 0
            for clock in range(clocks_per_fold):
                # Operands move one PE right / down, then the edges take the next skewed wavefront.
                for i in range(rows):
                    for j in range(cols - 1, 0, -1):
                        left_reg[i, j] = left_reg[i, j - 1]
                        left_ok[i, j] = left_ok[i, j - 1]
                    k = clock - i
                    if i < r_used and 0 <= k < t_len:
                        left_reg[i, 0] = left[r0 + i, k]
                        left_ok[i, 0] = True
                        if left_is_weight:
                            stats[STAT_FILTER_READS] += 1
                        else:
                            stats[STAT_IFMAP_READS] += 1
                    else:
                        left_ok[i, 0] = False
                for i in range(rows - 1, 0, -1):
                    for j in range(cols):
                        top_reg[i, j] = top_reg[i - 1, j]
                        top_ok[i, j] = top_ok[i - 1, j]
                for j in range(cols):
                    k = clock - j
                    if j < c_used and 0 <= k < t_len:
                        top_reg[0, j] = top[k, c0 + j]
                        top_ok[0, j] = True
                        if left_is_weight:
                            stats[STAT_IFMAP_READS] += 1
                        else:
                            stats[STAT_FILTER_READS] += 1
                    else:
                        top_ok[0, j] = False
                for i in range(rows):
                    for j in range(cols):
                        if left_ok[i, j] and top_ok[i, j]:
                            if left_is_weight:
                                wgt = left_reg[i, j]
                                value = _pe_product(top_reg[i, j], wgt, mode)
                            else:
                                wgt = top_reg[i, j]
                                value = _pe_product(left_reg[i, j], wgt, mode)
                            stats[STAT_BUSY] += 1
                            pe_busy[i, j] += 1
                            if wgt == 0:
                                stats[STAT_ZERO_WEIGHT_MACS] += 1
                            acc[i, j] = _accumulate(acc[i, j], value, mode, acc_min, acc_span,
                                                    stats)
            # The finished outputs drain to the ofmap SRAM while the next fold streams in.
            for i in range(r_used):
                for j in range(c_used):
                    out[r0 + i, c0 + j] = acc[i, j]
            stats[STAT_OFMAP_WRITES] += r_used * c_used
            _log_fold(fold_log, stats, r0, c0, clocks_per_fold, busy_before)


@njit(cache=True)
def run_stationary(stationary, streaming, rows, cols, mode, acc_bits, stationary_is_weight,
                   out, stats, pe_busy, fold_log):
    """Weight- or input-stationary GEMM out = streaming @ stationary on a rows x cols array.

    stationary: (Sr, Sc) preloaded, its Sr dimension (K) along the array's rows;
    streaming: (T, Sr) enters from the left edge, row t of it one clock after row t-1;
    out: (T, Sc).  Folds over K add into out through the ofmap buffer's adder.
    """
    sr, sc = stationary.shape
    t_len = streaming.shape[0]
    acc_min = -(1 << (acc_bits - 1))
    acc_span = 1 << acc_bits
    held = np.zeros((rows, cols), stationary.dtype)
    held_ok = np.zeros((rows, cols), np.bool_)
    stream_reg = np.zeros((rows, cols), streaming.dtype)
    stream_ok = np.zeros((rows, cols), np.bool_)
    psum = np.zeros((rows, cols), out.dtype)
    psum_ok = np.zeros((rows, cols), np.bool_)
    clocks_streaming = t_len + rows + cols - 2
    out[:, :] = 0
    for r0 in range(0, sr, rows):
        r_used = min(rows, sr - r0)
        first_k_fold = r0 == 0
        for c0 in range(0, sc, cols):
            c_used = min(cols, sc - c0)
            # Preload: the stationary tile shifts down from the top edge, one row per clock,
            # bottom row first, so that after `rows` clocks PE row i holds tile row i.
            busy_before = stats[STAT_BUSY]
            held_ok[:, :] = False
            for clock in range(rows):
                for i in range(rows - 1, 0, -1):
                    for j in range(cols):
                        held[i, j] = held[i - 1, j]
                        held_ok[i, j] = held_ok[i - 1, j]
                tile_row = rows - 1 - clock
                for j in range(cols):
                    if tile_row < r_used and j < c_used:
                        held[0, j] = stationary[r0 + tile_row, c0 + j]
                        held_ok[0, j] = True
                        if stationary_is_weight:
                            stats[STAT_FILTER_READS] += 1
                        else:
                            stats[STAT_IFMAP_READS] += 1
                    else:
                        held_ok[0, j] = False
            stream_ok[:, :] = False
            psum_ok[:, :] = False
            for clock in range(clocks_streaming):
                for i in range(rows):
                    for j in range(cols - 1, 0, -1):
                        stream_reg[i, j] = stream_reg[i, j - 1]
                        stream_ok[i, j] = stream_ok[i, j - 1]
                    t = clock - i
                    if i < r_used and 0 <= t < t_len:
                        stream_reg[i, 0] = streaming[t, r0 + i]
                        stream_ok[i, 0] = True
                        if stationary_is_weight:
                            stats[STAT_IFMAP_READS] += 1
                        else:
                            stats[STAT_FILTER_READS] += 1
                    else:
                        stream_ok[i, 0] = False
                # Partial sums move one PE down; bottom-up so each row reads the old value above.
                for i in range(rows - 1, -1, -1):
                    for j in range(cols):
                        if i > 0:
                            incoming = psum[i - 1, j]
                            incoming_ok = psum_ok[i - 1, j]
                        else:
                            incoming = psum[i, j] - psum[i, j]
                            incoming_ok = False
                        busy = stream_ok[i, j] and held_ok[i, j]
                        if busy:
                            if stationary_is_weight:
                                wgt = held[i, j]
                                value = _pe_product(stream_reg[i, j], wgt, mode)
                            else:
                                wgt = stream_reg[i, j]
                                value = _pe_product(held[i, j], wgt, mode)
                            stats[STAT_BUSY] += 1
                            pe_busy[i, j] += 1
                            if wgt == 0:
                                stats[STAT_ZERO_WEIGHT_MACS] += 1
                            psum[i, j] = _accumulate(incoming, value, mode, acc_min, acc_span,
                                                     stats)
                        else:
                            psum[i, j] = incoming
                        psum_ok[i, j] = busy or incoming_ok
                # The bottom row's partial sums leave the array into the ofmap buffer.
                for j in range(c_used):
                    t = clock - (rows - 1) - j
                    if 0 <= t < t_len and psum_ok[rows - 1, j]:
                        if first_k_fold:
                            out[t, c0 + j] = psum[rows - 1, j]
                        else:
                            stats[STAT_OFMAP_READS] += 1
                            out[t, c0 + j] = _accumulate(out[t, c0 + j], psum[rows - 1, j], mode,
                                                         acc_min, acc_span, stats)
                        stats[STAT_OFMAP_WRITES] += 1
            _log_fold(fold_log, stats, r0, c0, rows + clocks_streaming, busy_before)
