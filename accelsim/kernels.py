"""Numba kernels of the cycle-level systolic array: plain loops over typed arrays.

Every kernel steps the array one clock at a time.  Each PE holds registers for the operands
passing through it (with a valid bit, as hardware does) and either an output-stationary
accumulator or a partial sum moving down its column.  Memory is O(rows x cols) registers plus
the operand and output matrices: nothing grows with cycles x PEs.

The chain of operand registers along a row (or down a column) is a shift register: each clock
every register takes its neighbour's value.  We keep each chain as a delay line, a circular
buffer stored twice over (length 2n for n PEs) whose head moves back one place per clock: the
value a PE holds is the one its edge injected j clocks ago, exactly as in the shift register,
but a clock costs one write per chain instead of n copies, and the PEs' registers sit in one
contiguous window that the MAC loop reads as a vector.

Two kernels cover every dataflow of ``accelsim.dataflows`` (which arranges the operands):
- ``run_output_stationary``: the left operand streams in from the left edge (row i skewed by
  i clocks), the top operand from the top edge (column j skewed by j); each PE accumulates
  its own output.  Per fold: T + rows + cols - 2 clocks.
- ``run_stationary``: one operand is preloaded into the array (rows clocks, shifted down from
  the top), the other streams in from the left, and partial sums flow down the columns to the
  bottom edge, where they are added to what earlier folds over K left in the output buffer.
  Per fold: rows (preload) + T + rows + cols - 2 clocks.  Weight-stationary preloads W;
  input-stationary preloads A^T and streams W^T, giving (A W)^T.

The PE arithmetic is chosen by ``mode``, the product unit's code of ``accelsim.pe`` (one
numbering for kernels and costs): TERNARY (weights {-1, 0, +1}: sign-select-and-append, zero
gated, no multiplier), BINARY (weights {-1, +1}: conditional negate), INT and FP32 (a
multiplier; the operands' dtype makes it integer or float).  Integer accumulators wrap at
``acc_bits`` as the hardware's would, and every wrap is counted.

Counters (``stats``, int64): see the STAT_* indices below.  ``pe_busy`` (rows x cols) counts
each PE's MACs; ``fold_log`` (folds x N_FOLD_FIELDS) records every fold as it runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from .pe import BINARY, TERNARY

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


def _wrap_to_accumulator(total, acc_min, acc_mask):
    """Keep a sum within a signed accumulator of acc_bits; return (value, overflowed)."""


@overload(_wrap_to_accumulator, inline="always")
def _wrap_to_accumulator_impl(total, acc_min, acc_mask):
    if isinstance(total, types.Float):
        return lambda total, acc_min, acc_mask: (total, False)

    def wrap_integer(total, acc_min, acc_mask):
        # two's-complement wrap, as an acc_bits-wide register would do, without a branch
        offset = total - acc_min
        return (offset & acc_mask) + acc_min, (offset & ~acc_mask) != 0
    return wrap_integer


@njit(cache=True, inline="always")
def _pe_product(act, wgt, mode):
    """What the PE adds to its accumulator for one activation and one weight."""
    zero = act - act
    if mode == TERNARY:
        # sign-compare-and-append: pass the activation with the weight's sign, or force zero
        return act if wgt > 0 else (-act if wgt < 0 else zero)
    if mode == BINARY:
        return act if wgt > 0 else -act
    return act * wgt


@njit(cache=True, inline="always")
def _advance(head, length):
    """Move a delay line one place: every register takes its upstream neighbour's value."""
    return head - 1 if head > 0 else length - 1


@njit(cache=True, inline="always")
def _feed_row_line(line, ok, row, head, length, value, valid):
    """Load the first register of row ``row``'s delay line (both copies, see above)."""
    line[row, head] = value
    line[row, head + length] = value
    ok[row, head] = valid
    ok[row, head + length] = valid


@njit(cache=True, inline="always")
def _feed_column_line(line, ok, col, head, length, value, valid):
    """Load the first register of column ``col``'s delay line (both copies)."""
    line[head, col] = value
    line[head + length, col] = value
    ok[head, col] = valid
    ok[head + length, col] = valid


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

    left: (Sr, T) streams in from the left edge, row i of the array skewed by i clocks;
    top: (T, Sc) from the top edge, column j skewed by j clocks; out: (Sr, Sc).  The weights
    are ``top`` (activations from the left), or ``left`` when ``left_is_weight``.
    """
    act, wgt = left, top
    m, k_len = act.shape
    n = wgt.shape[1]
    acc_min = -(1 << (acc_bits - 1))
    acc_mask = (1 << acc_bits) - 1
    # act_line[i, act_head + j] is PE(i, j)'s register of the left operand (the activations,
    # unless left_is_weight); wgt_line[wgt_head + i, j] is its register of the top operand;
    # *_ok are their valid bits.
    act_line = np.zeros((rows, 2 * cols), act.dtype)
    act_ok = np.zeros((rows, 2 * cols), np.int64)
    wgt_line = np.zeros((2 * rows, cols), wgt.dtype)
    wgt_ok = np.zeros((2 * rows, cols), np.int64)
    acc = np.zeros((rows, cols), out.dtype)
    clocks_per_fold = k_len + rows + cols - 2
    for r0 in range(0, m, rows):
        r_used = min(rows, m - r0)
        for c0 in range(0, n, cols):
            c_used = min(cols, n - c0)
            busy_before = stats[STAT_BUSY]
            act_ok[:, :] = 0
            wgt_ok[:, :] = 0
            acc[:, :] = 0
            act_head = 0
            wgt_head = 0
            busy = 0
            zero_weight = 0
            overflows = 0
            act_reads = 0
            wgt_reads = 0
            for clock in range(clocks_per_fold):
                # Operands move one PE right / down; the edges take the next skewed wavefront.
                act_head = _advance(act_head, cols)
                for i in range(rows):
                    k = clock - i
                    valid = i < r_used and 0 <= k < k_len
                    value = act[r0 + i, k] if valid else act[0, 0] - act[0, 0]
                    _feed_row_line(act_line, act_ok, i, act_head, cols, value, valid)
                    act_reads += valid
                wgt_head = _advance(wgt_head, rows)
                for j in range(cols):
                    k = clock - j
                    valid = j < c_used and 0 <= k < k_len
                    value = wgt[k, c0 + j] if valid else wgt[0, 0] - wgt[0, 0]
                    _feed_column_line(wgt_line, wgt_ok, j, wgt_head, rows, value, valid)
                    wgt_reads += valid
                # Every PE whose two registers hold valid operands performs one MAC.
                for i in range(rows):
                    for j in range(cols):
                        ok = act_ok[i, act_head + j] & wgt_ok[wgt_head + i, j]
                        from_left = act_line[i, act_head + j]
                        from_top = wgt_line[wgt_head + i, j]
                        w = from_left if left_is_weight else from_top
                        a = from_top if left_is_weight else from_left
                        value = _pe_product(a, w, mode)
                        total, wrapped = _wrap_to_accumulator(acc[i, j] + value, acc_min,
                                                              acc_mask)
                        acc[i, j] = total if ok else acc[i, j]
                        busy += ok
                        pe_busy[i, j] += ok
                        zero_weight += ok & (w == 0)
                        overflows += ok & wrapped
            # The finished outputs drain to the ofmap SRAM while the next fold streams in.
            for i in range(r_used):
                for j in range(c_used):
                    out[r0 + i, c0 + j] = acc[i, j]
            stats[STAT_BUSY] += busy
            stats[STAT_ZERO_WEIGHT_MACS] += zero_weight
            stats[STAT_OVERFLOWS] += overflows
            stats[STAT_FILTER_READS if left_is_weight else STAT_IFMAP_READS] += act_reads
            stats[STAT_IFMAP_READS if left_is_weight else STAT_FILTER_READS] += wgt_reads
            stats[STAT_OFMAP_WRITES] += r_used * c_used
            _log_fold(fold_log, stats, r0, c0, clocks_per_fold, busy_before)


@njit(cache=True)
def run_stationary(stationary, streaming, rows, cols, mode, acc_bits, stationary_is_weight,
                   out, stats, pe_busy, fold_log):
    """Weight- or input-stationary GEMM out = streaming @ stationary on a rows x cols array.

    stationary: (Sr, Sc) preloaded, its Sr dimension (K) along the array's rows;
    streaming: (T, Sr) enters from the left edge, row i of the array skewed by i clocks;
    out: (T, Sc).  Folds over K (innermost) add into out through the ofmap buffer's adder.
    """
    sr, sc = stationary.shape
    t_len = streaming.shape[0]
    acc_min = -(1 << (acc_bits - 1))
    acc_mask = (1 << acc_bits) - 1
    # held_line[held_head + i, j] is PE(i, j)'s stationary register while the tile shifts in;
    # stream_line[i, stream_head + j] its streaming register; psum[i, j] its partial sum.
    held_line = np.zeros((2 * rows, cols), stationary.dtype)
    held_ok = np.zeros((2 * rows, cols), np.int64)
    stream_line = np.zeros((rows, 2 * cols), streaming.dtype)
    stream_ok = np.zeros((rows, 2 * cols), np.int64)
    psum = np.zeros((rows, cols), out.dtype)
    psum_ok = np.zeros((rows, cols), np.int64)
    values = np.zeros(cols, out.dtype)
    clocks_streaming = t_len + rows + cols - 2
    out[:, :] = 0
    # K folds innermost: one column fold's partial sums (T x cols words) are all the output
    # buffer holds between folds, as in a weight-stationary accelerator's accumulators.
    for c0 in range(0, sc, cols):
        c_used = min(cols, sc - c0)
        for r0 in range(0, sr, rows):
            r_used = min(rows, sr - r0)
            first_k_fold = r0 == 0
            busy_before = stats[STAT_BUSY]
            busy = 0
            zero_weight = 0
            overflows = 0
            held_reads = 0
            stream_reads = 0
            # Preload: the tile shifts down from the top edge one row per clock, bottom row
            # first, so that after `rows` clocks PE row i holds tile row i.
            held_head = 0
            for clock in range(rows):
                held_head = _advance(held_head, rows)
                tile_row = rows - 1 - clock
                for j in range(cols):
                    valid = tile_row < r_used and j < c_used
                    value = (stationary[r0 + tile_row, c0 + j] if valid
                             else stationary[0, 0] - stationary[0, 0])
                    _feed_column_line(held_line, held_ok, j, held_head, rows, value, valid)
                    held_reads += valid
            stream_ok[:, :] = 0
            psum_ok[:, :] = 0
            stream_head = 0
            for clock in range(clocks_streaming):
                stream_head = _advance(stream_head, cols)
                for i in range(rows):
                    t = clock - i
                    valid = i < r_used and 0 <= t < t_len
                    value = streaming[t, r0 + i] if valid else streaming[0, 0] - streaming[0, 0]
                    _feed_row_line(stream_line, stream_ok, i, stream_head, cols, value, valid)
                    stream_reads += valid
                # Partial sums move one PE down: bottom-up, so each row reads the old one above.
                for i in range(rows - 1, -1, -1):
                    for j in range(cols):
                        ok = stream_ok[i, stream_head + j] & held_ok[held_head + i, j]
                        streamed = stream_line[i, stream_head + j]
                        held = held_line[held_head + i, j]
                        w = held if stationary_is_weight else streamed
                        a = streamed if stationary_is_weight else held
                        incoming = psum[i - 1, j] if i > 0 else values[0] - values[0]
                        incoming_ok = psum_ok[i - 1, j] if i > 0 else 0
                        total, wrapped = _wrap_to_accumulator(incoming + _pe_product(a, w, mode),
                                                              acc_min, acc_mask)
                        psum[i, j] = total if ok else incoming
                        psum_ok[i, j] = ok | incoming_ok
                        busy += ok
                        pe_busy[i, j] += ok
                        zero_weight += ok & (w == 0)
                        overflows += ok & wrapped
                # The bottom row's partial sums leave the array into the ofmap buffer.
                for j in range(c_used):
                    t = clock - (rows - 1) - j
                    if 0 <= t < t_len and psum_ok[rows - 1, j]:
                        if first_k_fold:
                            out[t, c0 + j] = psum[rows - 1, j]
                        else:
                            stats[STAT_OFMAP_READS] += 1
                            total, wrapped = _wrap_to_accumulator(
                                out[t, c0 + j] + psum[rows - 1, j], acc_min, acc_mask)
                            out[t, c0 + j] = total
                            overflows += wrapped
                        stats[STAT_OFMAP_WRITES] += 1
            stats[STAT_BUSY] += busy
            stats[STAT_ZERO_WEIGHT_MACS] += zero_weight
            stats[STAT_OVERFLOWS] += overflows
            stats[STAT_FILTER_READS if stationary_is_weight else STAT_IFMAP_READS] += held_reads
            stats[STAT_IFMAP_READS if stationary_is_weight else STAT_FILTER_READS] += stream_reads
            _log_fold(fold_log, stats, r0, c0, rows + clocks_streaming, busy_before)
