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


def sram(bits: float) -> float:
    """An SRAM size in kB whose working half holds ``bits``."""
    return 2 * bits / 8192


@pytest.mark.parametrize("filter_half, order, ifmap_dram, filter_dram", [
    (256, 0, 256, 256),   # both operands fit: each fetched once
    (224, 0, 256, 288),   # filter misses 1/8: x outer refetches that 1/8 on the 2nd row fold
    (128, 1, 320, 256),   # filter misses 1/2: y outer is cheaper, the ifmap misses 1/4 instead
])
def test_tiled_refetch_by_hand(filter_half, order, ifmap_dram, filter_dram):
    # OS on 2x2, M = N = 4, K = 8, 8-bit operands: A and W are 32 words = 256 bits each; two
    # row folds (x) and two column folds (y); a fold's tile is half of its operand (128 bits).
    # x outer: A's current tile (128 bits) serves both y, W is needed whole on each x:
    #   W = 256 * (1 + 1 * missing share).  y outer: W's tile serves both x, A is needed whole.
    # The ifmap buffer holds 192 bits: A misses 1/4 when needed whole.
    cfg = ArrayConfig(rows=2, cols=2, wbits=8, abits=8, ifmap_sram_kb=sram(192),
                      filter_sram_kb=sram(filter_half), ofmap_sram_kb=16)
    row = add_memory_columns(gemm_frame(4, 4, 8, cfg)).iloc[0]
    assert row["sram_loop_order"] == order
    assert row["ifmap_dram_read_bits"] == ifmap_dram
    assert row["filter_dram_read_bits"] == filter_dram


def test_an_operand_slightly_over_its_buffer_costs_only_its_overflow():
    # OS reads the filter once per row fold (4 here): all-or-nothing refetch would move 4x.
    m, n, k = 16, 64, 128   # filter 128 x 64 x 8 bits = 64 kbit; the activations are 16 kbit
    fits = ArrayConfig(rows=4, cols=4, wbits=8, abits=8, filter_sram_kb=16, ifmap_sram_kb=2)
    small = ArrayConfig(rows=4, cols=4, wbits=8, abits=8, filter_sram_kb=15.9, ifmap_sram_kb=2)
    once = add_memory_columns(gemm_frame(m, n, k, fits)).iloc[0]["filter_dram_read_bits"]
    row = add_memory_columns(gemm_frame(m, n, k, small)).iloc[0]
    assert once == k * n * 8
    # x outer (the activations, 16 kbit, do not fit whole in 8 kbit): 3 more row folds each
    # refetch the 0.6% of the filter that misses its 63.6 kbit working half
    missing = 1 - 15.9 * 8192 / 2 / (k * n * 8)
    assert row["sram_loop_order"] == 0
    assert row["filter_dram_read_bits"] == pytest.approx(k * n * 8 * (1 + 3 * missing))


def test_partial_sums_spill_only_what_does_not_fit():
    # WS with K = 3 row folds: partial sums (64 x 8 x 32 bits = 16 kbit) meet a 8 kbit working
    # half: the half that misses goes out and back on each of the 2 later row folds.
    m, n, k = 64, 8, 24
    big = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=64)
    tiny = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=2)
    kept = add_memory_columns(gemm_frame(m, n, k, big)).iloc[0]
    spilled = add_memory_columns(gemm_frame(m, n, k, tiny)).iloc[0]
    assert kept["psum_dram_read_bits"] == kept["psum_dram_write_bits"] == 0
    partials = m * n * 32
    assert spilled["psum_dram_read_bits"] == 2 * partials / 2
    assert spilled["psum_dram_write_bits"] == 2 * partials / 2
    assert spilled["dram_write_bits"] == m * n * 8 + 2 * partials / 2


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
    # N = 4 column folds: all of M x N psums (64 kbit) would overflow a 32 kbit working buffer,
    # but with column folds outer the K folds of one column fold run back to back, so only
    # M x cols (16 kbit) is held.
    m, n, k = 64, 32, 24
    cfg = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="ws", ofmap_sram_kb=8)
    row = add_memory_columns(gemm_frame(m, n, k, cfg)).iloc[0]
    assert row["ofmap_sram_reads"] == m * n * 2
    assert row["psum_dram_read_bits"] == row["psum_dram_write_bits"] == 0
    assert row["sram_loop_order"] == 1
    # IS holds N x cols = 32 x 8 words (8 kbit) of partial sums; a 4 kbit half keeps half of them
    is_cfg = ArrayConfig(rows=8, cols=8, wbits=8, abits=8, dataflow="is", ofmap_sram_kb=1)
    spilled = add_memory_columns(gemm_frame(m, n, k, is_cfg)).iloc[0]
    assert spilled["psum_dram_read_bits"] == 2 * m * n * 32 / 2


# ----------------------------------------------------------------------------- whole networks

def dram_bits(frame: pd.DataFrame) -> float:
    return frame["dram_read_bits"].sum() + frame["dram_write_bits"].sum()


def resnet20_dram(kb: float, **config) -> float:
    cfg = ArrayConfig(ifmap_sram_kb=kb, filter_sram_kb=kb, ofmap_sram_kb=kb, **config)
    return dram_bits(simulate_network("resnet20", cfg, engine="analytic"))


@pytest.mark.parametrize("between_layers", ["sram", "dram"])
def test_dram_traffic_changes_smoothly_with_sram_size(between_layers):
    # Refetch of only what does not fit: no cliff where an operand outgrows its buffer.  Sizes
    # from 0.5 kB to 4 MB, each against one 12.5% larger.
    sizes = np.geomspace(0.5, 4096, 60)
    small = np.array([resnet20_dram(kb, between_layers=between_layers) for kb in sizes])
    large = np.array([resnet20_dram(kb * 1.125, between_layers=between_layers) for kb in sizes])
    assert (large <= small).all()            # a bigger buffer never moves more
    assert (small / large).max() <= 2.0
    assert small.max() / small.min() > 2.5   # while the whole range does matter


def test_8_bit_filters_move_4_to_6_times_the_bits_of_2_bit_ones():
    # ResNet-20, 8x8, 64 kB SRAMs, every layer at the array's widths: 36 kB of stage-3 8-bit
    # filters miss a 32 kB half-buffer by 4 kB; all-or-nothing refetch moved them 8 times
    # (23.2x the 2-bit traffic).  Ideal is 4x (every weight fetched once).
    bits = {w: simulate_network("resnet20", ArrayConfig(wbits=w, abits=8), engine="analytic",
                                quantize_ends=True)["filter_dram_read_bits"].sum()
            for w in (2, 8)}
    assert bits[2] == 536_672
    assert 4.0 <= bits[8] / bits[2] <= 6.0


def test_outputs_stay_on_chip_between_layers_where_they_fit():
    cfg = ArrayConfig()   # 64 kB SRAMs: 32 kB working halves
    kept = simulate_network("resnet20", cfg, engine="analytic")
    spilled = simulate_network("resnet20", ArrayConfig(between_layers="dram"), engine="analytic")
    # stage 1's 32x32x16 8-bit tensors (16 kB) stay on chip: no DRAM between its layers
    stage1 = kept["layer"].str.startswith("stage1")
    assert (kept.loc[stage1, "ifmap_dram_read_bits"] == 0).all()
    assert (kept.loc[stage1, "ofmap_dram_write_bits"] == 0).all()
    # the image comes from DRAM (fp32 at conv1) and the logits go there
    assert kept["ifmap_dram_read_bits"].iloc[0] == 32 * 32 * 3 * 32
    assert kept["ofmap_dram_write_bits"].iloc[-1] == 10 * 32
    # SCALE-Sim's accounting: every layer writes its output and reads its input back
    assert (spilled["ofmap_dram_write_bits"] > 0).all() and (spilled["ofmap_kept_bits"] == 0).all()
    inputs = spilled["ifmap_elems"] * spilled["layer_abits"]
    np.testing.assert_array_equal(spilled["ifmap_dram_read_bits"], inputs)
    assert dram_bits(spilled) > 5 * dram_bits(kept)
    # compute cycles never depend on it
    np.testing.assert_array_equal(kept["cycles"], spilled["cycles"])


def test_an_output_larger_than_the_buffer_keeps_what_fits():
    cfg = ArrayConfig(ifmap_sram_kb=16, filter_sram_kb=64, ofmap_sram_kb=16)   # 8 kB halves
    frame = simulate_network("resnet20", cfg, engine="analytic").set_index("layer")
    out_bits = 32 * 32 * 16 * 8                     # a stage-1 tensor: 16 kB
    row = frame.loc["stage1.block2.conv1"]
    assert row["ofmap_kept_bits"] == 8 * 8192       # half of it stays on chip
    assert row["ofmap_dram_write_bits"] == out_bits - 8 * 8192
    assert frame.loc["stage1.block2.conv2", "ifmap_onchip_bits"] == 8 * 8192


def test_residual_shortcuts_stay_beside_the_input_or_go_out_and_back():
    # stage 1: a 16 kB input and its 16 kB shortcut fill a 32 kB working half exactly
    roomy = simulate_network("resnet20", ArrayConfig(), engine="analytic").set_index("layer")
    row = roomy.loc["stage1.block1.conv2"]
    assert row["residual_elems"] == 32 * 32 * 16
    assert row["residual_dram_read_bits"] == row["residual_dram_write_bits"] == 0
    assert row["ifmap_sram_read_bits"] >= 32 * 32 * 16 * 8   # the add reads the shortcut
    # 24 kB halves: the input takes 16 kB, 8 kB of the shortcut stay, 8 kB go out and back
    tight = ArrayConfig(ifmap_sram_kb=48, filter_sram_kb=48, ofmap_sram_kb=48)
    row = simulate_network("resnet20", tight, engine="analytic").set_index("layer").loc[
        "stage1.block1.conv2"]
    assert row["residual_dram_read_bits"] == row["residual_dram_write_bits"] == 8 * 8192
    # SCALE-Sim's accounting: the shortcut is read back from DRAM, where its producer wrote it
    scalesim = simulate_network("resnet20", ArrayConfig(between_layers="dram"),
                                engine="analytic").set_index("layer").loc["stage1.block1.conv2"]
    assert scalesim["residual_dram_read_bits"] == 32 * 32 * 16 * 8
    assert scalesim["residual_dram_write_bits"] == 0
