"""The memory model: traffic in packed bits, refetch when an operand does not fit, stalls."""
import math

import numpy as np
import pandas as pd
import pytest

from accelsim import ArrayConfig, simulate_network
from accelsim.analytic import gemm_counts
from accelsim.config import config_columns
from accelsim.memory import add_memory_columns


def gemm_frame(m, n, k, cfg: ArrayConfig, ifmap_elems=None) -> pd.DataFrame:
    """One (design point, layer) row: a GEMM's closed-form counts beside the config."""
    counts = {name: value.item() for name, value in
              gemm_counts(m, n, k, cfg.rows, cfg.cols, cfg.dataflow).items()}
    row = {"layer": "g", "M": m, "N": n, "K": k, "ifmap_elems": m * k if ifmap_elems is None
           else ifmap_elems, "filter_elems": k * n, "ofmap_elems": m * n, **counts,
           "busy_pe_cycles": counts["macs"], "zero_weight_macs": np.nan,
           **config_columns(cfg)}
    return pd.DataFrame([row])


TINY = ArrayConfig(rows=2, cols=2, wbits=8, abits=8, ifmap_sram_kb=16, filter_sram_kb=16,
                   ofmap_sram_kb=16, dram_bw_bytes_per_cycle=64)


def test_tiny_gemm_traffic_by_hand():
    # (2 x 3) @ (3 x 2) on a 2x2 OS array: 1 fold, 3 + 2 + 2 - 2 = 5 clocks, cycles 4.
    row = add_memory_columns(gemm_frame(2, 2, 3, TINY)).iloc[0]
    assert row["cycles"] == 4
    assert row["ifmap_sram_read_bits"] == 6 * 8          # M*K words, one column fold
    assert row["filter_sram_read_bits"] == 6 * 8         # K*N words, one row fold
    assert row["ofmap_sram_write_bits"] == 4 * 32        # accumulator words
    assert row["ofmap_sram_read_bits"] == 4 * 32         # drained once to DRAM
    assert row["dram_read_bits"] == 6 * 8 + 6 * 8        # everything fits: fetched once
    assert row["dram_write_bits"] == 4 * 8               # outputs requantised to abits
    assert row["dram_demand_bytes_per_cycle"] == (96 + 32) / 8 / 4
    assert row["stall_cycles"] == 0 and row["total_cycles"] == 4


@pytest.mark.parametrize("bw, stalls", [(64, 0), (4, 0), (3.9, 1), (2, 4), (1, 12)])
def test_stalls_appear_exactly_below_demand(bw, stalls):
    # demand: 128 bits = 16 bytes over 4 compute cycles = 4 bytes/cycle
    cfg = ArrayConfig(**{**config_columns(TINY), "dram_bw_bytes_per_cycle": bw})
    row = add_memory_columns(gemm_frame(2, 2, 3, cfg)).iloc[0]
    assert row["stall_cycles"] == stalls == max(0, math.ceil(16 / bw) - 4)
    assert row["total_cycles"] == 4 + stalls


def test_stalls_are_a_threshold_in_bandwidth():
    cfg = ArrayConfig(rows=8, cols=8, wbits=8, abits=8)
    frame = gemm_frame(64, 32, 72, cfg)
    demand = add_memory_columns(frame).iloc[0]["dram_demand_bytes_per_cycle"]
    for factor, stalled in ((1.0, False), (1.5, False), (0.99, True), (0.5, True)):
        frame["dram_bw_bytes_per_cycle"] = demand * factor
        assert (add_memory_columns(frame).iloc[0]["stall_cycles"] > 0) == stalled


def test_weight_traffic_halves_from_8_to_4_bits():
    rows = {}
    for wbits in (8, 4):
        cfg = ArrayConfig(rows=4, cols=4, wbits=wbits, abits=8, dataflow="ws")
        rows[wbits] = add_memory_columns(gemm_frame(32, 24, 40, cfg)).iloc[0]
    for column in ("filter_sram_read_bits", "filter_dram_read_bits", "filter_sram_write_bits"):
        assert rows[4][column] * 2 == rows[8][column] > 0
    assert rows[4]["ifmap_dram_read_bits"] == rows[8]["ifmap_dram_read_bits"]


def test_ternary_weights_move_a_quarter_of_8_bit_ones():
    bits = {w: add_memory_columns(gemm_frame(16, 16, 16, ArrayConfig(wbits=w))).iloc[0]
            ["filter_dram_read_bits"] for w in (2, 8)}
    assert bits[8] == 4 * bits[2] == 16 * 16 * 8


def test_filter_refetched_once_per_row_fold_when_it_does_not_fit():
    # OS reads the filter once per row fold: ceil(M / rows) = 4 passes.
    m, n, k = 16, 64, 128   # filter 128 x 64 x 8 bits = 8 KB
    fits = ArrayConfig(rows=4, cols=4, wbits=8, abits=8, filter_sram_kb=16)
    small = ArrayConfig(rows=4, cols=4, wbits=8, abits=8, filter_sram_kb=15.9)
    once = add_memory_columns(gemm_frame(m, n, k, fits)).iloc[0]["filter_dram_read_bits"]
    again = add_memory_columns(gemm_frame(m, n, k, small)).iloc[0]["filter_dram_read_bits"]
    assert once == k * n * 8
    assert again == 4 * k * n * 8


def test_partial_sums_spill_when_they_do_not_fit():
    # WS with K = 3 row folds: psums written 3x, read back 2x per output, 32 bits each.
    m, n, k = 64, 8, 24
    big = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=64)
    tiny = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=2)
    kept = add_memory_columns(gemm_frame(m, n, k, big)).iloc[0]
    spilled = add_memory_columns(gemm_frame(m, n, k, tiny)).iloc[0]
    assert kept["psum_dram_read_bits"] == kept["psum_dram_write_bits"] == 0
    assert spilled["psum_dram_read_bits"] == m * n * 2 * 32
    assert spilled["psum_dram_write_bits"] == m * n * 2 * 32
    assert spilled["dram_write_bits"] == m * n * 8 + m * n * 2 * 32


def test_vectorised_rows_match_one_at_a_time():
    frames = [gemm_frame(m, n, k, ArrayConfig(rows=r, cols=r, wbits=w, dataflow=d))
              for m, n, k in ((10, 20, 30), (64, 3, 700)) for r in (4, 16)
              for w in (1, 2, 8, 32) for d in ("os", "ws", "is")]
    together = add_memory_columns(pd.concat(frames, ignore_index=True))
    alone = pd.concat([add_memory_columns(f) for f in frames], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone)


@pytest.mark.parametrize("column, value", [("ifmap_sram_kb", -1.0), ("dram_bw_bytes_per_cycle", 0.0),
                                           ("M", -3), ("cycles", -1), ("wbits", 3.5),
                                           ("abits", 64), ("acc_bits", 99)])
def test_bad_input_names_the_column(column, value):
    frame = gemm_frame(8, 8, 8, ArrayConfig())
    frame[column] = value
    with pytest.raises(ValueError, match=column):
        add_memory_columns(frame)


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="dram_bw_bytes_per_cycle"):
        add_memory_columns(gemm_frame(8, 8, 8, ArrayConfig()).drop(columns="dram_bw_bytes_per_cycle"))


def test_simulate_network_carries_memory_columns_in_both_engines():
    cfg = ArrayConfig(rows=4, cols=4, wbits=2, abits=4)
    cycle = simulate_network("resnet20", cfg, engine="cycle")
    analytic = simulate_network("resnet20", cfg, engine="analytic")
    for column in ("dram_read_bits", "dram_write_bits", "stall_cycles", "total_cycles",
                   "ifmap_sram_read_bits", "ofmap_sram_write_bits"):
        np.testing.assert_array_equal(cycle[column], analytic[column])
    assert (analytic["total_cycles"] == analytic["cycles"] + analytic["stall_cycles"]).all()


def test_partial_sums_of_one_column_fold_are_what_must_fit():
    # N = 4 column folds: all of M x N psums (64 kbit) would overflow a 4 KB working buffer,
    # but the K folds of one column fold run back to back, so only M x cols (16 kbit) is held.
    m, n, k = 64, 32, 24
    cfg = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=8)
    row = add_memory_columns(gemm_frame(m, n, k, cfg)).iloc[0]
    assert row["ofmap_sram_reads"] == m * n * 2
    assert row["psum_dram_read_bits"] == row["psum_dram_write_bits"] == 0
    # IS holds N x cols: N = 32 rows of 8 columns, 8 kbit, fits too; at 1 KB it spills.
    is_cfg = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="is", ofmap_sram_kb=1)
    spilled = add_memory_columns(gemm_frame(m, n, k, is_cfg)).iloc[0]
    assert spilled["psum_dram_read_bits"] == m * n * 2 * 32
