"""Accumulator overflow where users look: the accelsim report, dse.sweep's columns, and the
fronts, which leave out designs that can overflow unless told to rank them."""
import numpy as np
import pandas as pd

import dse.sweep as sweep
from accelsim import ArrayConfig, simulate_network
from accelsim.__main__ import main as accelsim_main
from accelsim.network import overflow_possible, reachable_sums

# One 3x3 conv on 3 channels: K = 27; 8-bit activations x ternary weights reach 27 x 255 x 1 =
# 6,885, which needs 14 signed bits (13 hold 4,095).
TRACE = ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n"
         "c1,8,8,3,3,3,4,1,1,2,8\n")


def write_trace(folder, largest_codes=True):
    path = folder / "t.csv"
    path.write_text(TRACE)
    if largest_codes:  # every code at its largest: the reachable sum is reached
        np.savez(folder / "t.npz", **{"c1/a": np.full((64, 27), 255), "c1/w": np.ones((27, 4),
                                                                                      int)})
    return path


def test_the_reachable_sum_is_tight_against_the_cycle_engine(tmp_path):
    trace = write_trace(tmp_path)
    for acc_bits, wraps in ((13, True), (14, False)):
        cfg = ArrayConfig(8, 8, acc_bits=acc_bits)
        cycle = simulate_network(trace, cfg)
        closed = simulate_network(trace, cfg, engine="analytic")
        assert reachable_sums(closed)[0] == 27 * 255 * 1
        assert bool(overflow_possible(closed)[0]) is wraps
        assert bool(cycle["overflows"].iloc[0] > 0) is wraps  # the bound is reached: not loose
        assert closed["overflows"].isna().all()              # the closed form counts none


def test_fp32_adders_cannot_overflow(tmp_path):
    frame = simulate_network(write_trace(tmp_path, False), ArrayConfig(8, 8, wbits=32, abits=32,
                                                                       acc_bits=2),
                             engine="analytic")
    assert np.isnan(reachable_sums(frame)).all() and not overflow_possible(frame).any()


def test_the_accelsim_report_says_what_overflowed_or_could(tmp_path, capsys):
    trace = str(write_trace(tmp_path))
    assert accelsim_main(["--trace", trace, "--acc-bits", "13"]) == 0
    counted = simulate_network(trace, ArrayConfig(8, 8, acc_bits=13))["overflows"].sum()
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("accumulator")][0]
    assert f"{counted:,} of 6,912 MACs wrapped at 13 bits (layers c1)" in line
    assert accelsim_main(["--trace", trace, "--acc-bits", "13", "--engine", "analytic"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("accumulator")][0]
    assert "not counted by the analytic engine, but possible in 1 layers (c1)" in line
    assert "6.88e+03" in line and "13-bit" in line
    assert accelsim_main(["--trace", trace, "--engine", "analytic"]) == 0
    assert "none possible: the largest reachable sum, 6.88e+03 (c1), fits the 32-bit" in \
        capsys.readouterr().out


def test_the_sweep_flags_them_and_the_fronts_leave_them_out(tmp_path, capsys):
    trace = str(write_trace(tmp_path, False))
    args = ["--trace", trace, "--acc-bits", "13,14,32", "--rows", "4,8", "--progress", "off",
            "--workers", "1", "--objectives", "energy,area"]
    assert sweep.main(args + ["--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "2 of 6 points left out of the fronts: their accumulators can overflow" in out
    frame = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert (frame["overflow_possible"] == (frame["acc_bits"] == 13)).all()
    assert frame.loc[frame["overflow_possible"], "pareto_rank"].isna().all()
    assert frame["overflows"].isna().all()                   # analytic: not counted
    assert (frame["pareto_filters"] == "all points; no overflow possible").all()
    assert sweep.main(args + ["--rank-overflowing", "--out", str(tmp_path / "b")]) == 0
    ranked = pd.read_csv(tmp_path / "b" / "sweep.csv")
    # the narrower accumulator is the smaller array: ranked, it would win the front
    assert ranked["pareto_rank"].notna().all()
    assert ranked.loc[ranked["pareto_rank"] == 1, "acc_bits"].min() == 13


def test_one_cycle_point_counts_them(tmp_path, capsys):
    trace = str(write_trace(tmp_path))
    assert sweep.main(["--trace", trace, "--acc-bits", "13", "--out", str(tmp_path / "o")]) == 0
    row = pd.read_csv(tmp_path / "o" / "sweep.csv").iloc[0]
    counted = simulate_network(trace, ArrayConfig(8, 8, acc_bits=13))["overflows"].sum()
    assert row["overflows"] == counted > 0 and bool(row["overflow_possible"])
    assert "accumulator overflows" in capsys.readouterr().out
