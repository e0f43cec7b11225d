"""The cost model: PE parts from the table, energy of a run by hand, bad tables, the CLI."""
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from accelsim import ArrayConfig, simulate_network
from accelsim.config import config_columns
from accelsim.formats import ALLOWED_BITS
from accelsim.cost import (add_energy_columns, array_cost, int_multiplier, load_table,
                           network_summary, pe_cost)
from accelsim.cost.report import main, tpu_v1_check
from accelsim.workload import Layer, Workload, write_trace

T = load_table()
WIDTHS = list(ALLOWED_BITS)


def test_table_has_a_source_beside_every_number():
    frame = T.frame()
    assert (frame["source"].str.len() > 10).all()
    assert (frame["value"] > 0).all()
    assert T["int_mult_8b_energy_pj"] == 0.2 and T["fp32_mult_energy_pj"] == 3.7


def test_pe_parts_by_hand():
    ternary = pe_cost(2, 8)
    assert ternary.kind == "ternary"
    assert ternary.multiplier_area_um2 == pytest.approx(8 * (1.596 + 1.064))  # XOR + AND / bit
    assert ternary.accumulator_area_um2 == pytest.approx(137)                 # 32-bit add
    assert ternary.register_bits == 2 + 8 + 32
    assert ternary.area_um2 == pytest.approx(8 * 2.66 + 137 + 42 * 4.522)
    assert ternary.energy_pj_per_mac == pytest.approx(8 * 2.66 * 0.00073 + 0.1 + 42 * 0.0031)
    int8 = pe_cost(8, 8)
    assert int8.kind == "int"
    assert int8.multiplier_area_um2 == pytest.approx(282)
    assert int8.energy_pj_per_mac == pytest.approx(0.2 + 0.1 + 48 * 0.0031)
    fp32 = pe_cost(32, 32)
    assert fp32.kind == "fp32"
    assert fp32.area_um2 == pytest.approx(7700 + 4184 + 96 * 4.522)
    assert fp32.energy_pj_per_mac == pytest.approx(3.7 + 0.9 + 96 * 0.0031)
    assert pe_cost(1, 8).multiplier_area_um2 == pytest.approx(8 * 1.596)   # binary: XOR only
    # the multiplier power law passes through both of Horowitz's points (ISSCC 2014: an 8-bit
    # multiply 0.2 pJ and 282 um2, a 32-bit one 3.1 pJ and 3495 um2), and between them follows
    # the product of the widths: 16 x 16 is the geometric mean of the two
    for bits, energy_pj, area_um2 in ((8, 0.2, 282), (32, 3.1, 3495)):
        area, energy = int_multiplier(bits, bits, T)   # a 32x32 PE is fp32: ask the fit itself
        assert (float(energy), float(area)) == pytest.approx((energy_pj, area_um2), rel=1e-12)
    assert pe_cost(16, 16).multiplier_energy_pj == pytest.approx((0.2 * 3.1) ** 0.5)
    assert pe_cost(16, 16).multiplier_area_um2 == pytest.approx((282 * 3495) ** 0.5)
    assert pe_cost(8, 16, acc_bits=16).accumulator_energy_pj == pytest.approx(0.05)


def test_a_32_bit_side_prices_only_what_it_needs():
    # Ternary weights on fp32 activations: a sign-select (one XOR on the sign bit, an AND per
    # bit for the zero) and an fp32 adder; no multiplier.
    w2a32 = pe_cost(2, 32)
    assert w2a32.kind == "ternary+fp32add" and w2a32.float_adder
    assert w2a32.multiplier_area_um2 == pytest.approx(1.596 + 32 * 1.064)
    assert w2a32.accumulator_area_um2 == pytest.approx(4184)
    assert w2a32.register_bits == 2 + 32 + 32
    assert pe_cost(1, 32).multiplier_area_um2 == pytest.approx(1.596)   # binary: the sign bit
    # fp32 weights meet 8-bit activations in an fp32 multiplier; the registers stay narrow
    w32a8 = pe_cost(32, 8)
    assert w32a8.kind == "fp32" and w32a8.multiplier_area_um2 == pytest.approx(7700)
    assert w32a8.register_bits == 32 + 8 + 32
    fp32 = pe_cost(32, 32)
    assert w2a32.area_um2 < 0.4 * fp32.area_um2 and w2a32.energy_pj_per_mac < 0.3 * fp32.energy_pj_per_mac
    assert w32a8.area_um2 < fp32.area_um2
    # and whole runs follow: W2A32 and W32A8 no longer cost what W32A32 costs
    energy = {(w, a): network_summary(simulate_network(
        "resnet20", ArrayConfig(wbits=w, abits=a), engine="analytic"))["energy_uj"]
        for w, a in ((2, 32), (32, 8), (32, 32))}
    assert energy[(2, 32)] < energy[(32, 32)] and energy[(32, 8)] < energy[(32, 32)]


@pytest.mark.parametrize("field", ["area_um2", "energy_pj_per_mac"])
def test_cost_never_falls_as_a_width_grows(field):
    for fixed in WIDTHS:
        by_w = [getattr(pe_cost(w, fixed), field) for w in WIDTHS]
        by_a = [getattr(pe_cost(fixed, a), field) for a in WIDTHS]
        assert np.all(np.diff(by_w) >= 0), (fixed, by_w)
        assert np.all(np.diff(by_a) >= 0), (fixed, by_a)
    by_acc = [getattr(pe_cost(4, 4, acc), field) for acc in range(2, 49)]
    assert np.all(np.diff(by_acc) > 0)


def test_ternary_pe_cheaper_than_any_multiplier_pe():
    for abits in WIDTHS[:-1]:
        ternary = pe_cost(2, abits)
        for wbits in [w for w in WIDTHS if w >= 3]:
            other = pe_cost(wbits, abits)
            assert other.kind in ("int", "fp32")
            assert ternary.area_um2 < other.area_um2
            assert ternary.energy_pj_per_mac < other.energy_pj_per_mac


TINY = ArrayConfig(rows=2, cols=2, wbits=8, abits=8, ifmap_sram_kb=16, filter_sram_kb=16,
                   ofmap_sram_kb=16, dram_bw_bytes_per_cycle=64)
TINY_NET = Workload("tiny", (Layer("fc", 1, 1, 1, 1, 3, 2, wbits=8, abits=8),))


def tiny_energy_by_hand():
    # (2 x 3) @ (3 x 2), batch 2, on a 2x2 OS array: 12 MACs; every SRAM is 16 KB, so each
    # buffer is 8 KB, where Horowitz's 64-bit read costs 10 pJ.
    sram_pj_per_bit = 10 / 64
    return {
        "energy_mac_pj": 12 * (0.2 + 0.1),              # 8x8 multiply + 32-bit add
        "energy_reg_pj": 12 * (8 + 8 + 32) * 0.0031,
        "energy_ifmap_sram_pj": (6 * 8 + 6 * 8) * sram_pj_per_bit,    # reads + DRAM fill
        "energy_filter_sram_pj": (6 * 8 + 6 * 8) * sram_pj_per_bit,
        "energy_ofmap_sram_pj": (4 * 32 + 4 * 32) * sram_pj_per_bit,  # writes + drain
        "energy_dram_pj": (6 * 8 + 6 * 8 + 4 * 8) * 1950 / 64,
    }


@pytest.mark.parametrize("engine", ["cycle", "analytic"])
def test_tiny_gemm_energy_by_hand(engine):
    frame = simulate_network(TINY_NET, TINY, batch=2, engine=engine)
    row = frame.iloc[0]
    expected = tiny_energy_by_hand()
    assert (row["M"], row["N"], row["K"], row["macs"]) == (2, 2, 3, 12)
    for column, value in expected.items():
        assert row[column] == pytest.approx(value), column
    assert row["energy_total_pj"] == pytest.approx(sum(expected.values()))
    assert row["energy_total_pj"] == pytest.approx(3975.3856)


def test_zero_weights_gate_the_accumulator():
    frame = simulate_network(TINY_NET, TINY, batch=2, engine="analytic")
    assert np.isnan(frame["energy_saved_zero_gating_pj"]).all()   # unknown without data
    frame["zero_weight_macs"] = 4
    row = add_energy_columns(frame).iloc[0]
    assert row["energy_saved_zero_gating_pj"] == pytest.approx(4 * 0.3)
    assert row["energy_mac_pj"] == pytest.approx(8 * 0.3)


def test_zero_gating_needs_the_networks_codes(tmp_path):
    # Without data neither engine gates: the mission command's energy is one number.
    cfg = ArrayConfig(rows=4, cols=4, wbits=2, abits=8)
    runs = {engine: simulate_network("resnet20", cfg, engine=engine)
            for engine in ("cycle", "analytic")}
    for frame in runs.values():
        assert frame.attrs["zero_gating"] == "none" and (frame["zero_gating"] == "none").all()
        assert frame["energy_saved_zero_gating_pj"].isna().all()
    assert runs["cycle"]["energy_total_pj"].sum() == runs["analytic"]["energy_total_pj"].sum()
    # With a trace's codes, each zero weight gates the product unit and the adder of its MACs.
    layer = Layer("fc", 1, 1, 1, 1, 64, 10, wbits=2, abits=8, op="linear")
    write_trace(Workload("t", (layer,)), tmp_path / "t.csv")
    w = np.zeros((64, 10), dtype=np.int64)
    w[:16] = 1
    np.savez(tmp_path / "t.npz", **{"fc/w": w, "fc/a": np.ones((1, 64), dtype=np.int64)})
    frame = simulate_network(tmp_path / "t.csv", cfg, engine="cycle")
    pe = pe_cost(2, 8)
    assert frame.attrs["zero_gating"] == "trace t.npz"
    assert frame["zero_weight_macs"].iloc[0] == 48 * 10
    assert frame["energy_saved_zero_gating_pj"].iloc[0] == pytest.approx(
        480 * (pe.multiplier_energy_pj + pe.accumulator_energy_pj))


def test_network_summary_totals_and_rates():
    cfg = ArrayConfig(rows=8, cols=8, wbits=2, abits=8, freq_mhz=500)
    frame = simulate_network("resnet20", cfg, engine="analytic")
    s = network_summary(frame)
    assert s["cycles"] == frame["cycles"].sum()
    assert s["total_cycles"] == frame["cycles"].sum() + frame["stall_cycles"].sum()
    assert s["latency_s"] == pytest.approx(s["total_cycles"] / 500e6)
    assert s["energy_total_pj"] == pytest.approx(frame["energy_total_pj"].sum())
    assert s["power_mw"] == pytest.approx(s["energy_total_pj"] * 1e-12 / s["latency_s"] * 1e3)
    assert s["peak_tops"] == pytest.approx(2 * 64 * 500e6 / 1e12)
    assert s["achieved_tops"] < s["peak_tops"]
    assert s["tops_per_w"] == pytest.approx(s["achieved_tops"] / (s["power_mw"] / 1e3))
    area = array_cost(cfg)
    assert s["total_mm2"] == pytest.approx(area.total_mm2)
    assert area.pe_array_mm2 == pytest.approx(64 * pe_cost(2, 8).area_um2 / 1e6)
    assert area.sram_mm2 == pytest.approx(3 * 64 * 8192 * 0.346 / 0.5 / 1e6)


def test_network_summary_by_design_point_matches_one_at_a_time():
    frames, singles = [], []
    for point, (rows, wbits) in enumerate([(4, 2), (8, 8), (16, 32)]):
        frame = simulate_network("resnet20", ArrayConfig(rows=rows, cols=rows, wbits=wbits),
                                 engine="analytic")
        frames.append(frame.assign(point=point))
        singles.append(network_summary(frame))
    together = network_summary(pd.concat(frames, ignore_index=True), by=["point"])
    for point, single in enumerate(singles):
        for key in ("energy_total_pj", "power_mw", "total_mm2", "tops_per_w", "stall_cycles"):
            assert together.loc[point, key] == pytest.approx(single[key], nan_ok=True), key
    with pytest.raises(ValueError, match="several values"):
        network_summary(pd.concat(frames))


def test_vectorised_energy_runs_over_a_million_rows_a_second():
    frame = simulate_network("resnet56", ArrayConfig(), engine="analytic")
    big = pd.concat([frame] * (200_000 // len(frame)), ignore_index=True)
    big["wbits"] = np.resize([1, 2, 4, 8, 32], len(big))
    add_energy_columns(big.head(10))
    start = time.perf_counter()
    add_energy_columns(big.drop(columns=["total_cycles"]))   # memory model included
    rate = len(big) / (time.perf_counter() - start)
    assert rate > 1e6 / 3   # > 1e6 rows/s on an idle core; slack for a busy test machine


def test_config_columns_are_the_config():
    cols = config_columns(ArrayConfig(rows=3, dataflow="ws"))
    assert cols["rows"] == 3 and cols["dataflow"] == "ws" and cols["acc_bits"] == 32
    assert set(cols) >= {"cols", "wbits", "abits", "freq_mhz", "ifmap_sram_kb",
                         "filter_sram_kb", "ofmap_sram_kb", "dram_bw_bytes_per_cycle"}


def test_tpu_v1_peak_within_1_percent_of_published():
    # Jouppi et al., ISCA 2017, Table 2: 92 peak TOPS (8-bit), typed here from the paper
    table = tpu_v1_check().set_index("metric")
    ours = table.loc["peak TOPS (8b)", "ours_45nm"]
    assert abs(ours - 92) / 92 < 0.01
    assert table.loc["peak TOPS (8b)", "published"] == 92


# ----------------------------------------------------------------------------- tables

def write_csv(path, drop=None, change=None):
    frame = T.frame()
    if drop:
        frame = frame[frame["name"] != drop]
    if change:
        frame["value"] = frame["value"].astype(object)
        frame.loc[frame["name"] == change[0], "value"] = change[1]
    frame.to_csv(path, index=False)
    return path


def test_user_csv_and_yaml_tables_load_and_change_results(tmp_path):
    import yaml  # declared in pyproject.toml: a missing PyYAML fails here, it is not skipped
    doubled = load_table(write_csv(tmp_path / "t.csv", change=("fp32_mult_area_um2", 15400)))
    assert pe_cost(32, 32, table=doubled).area_um2 == pytest.approx(pe_cost(32, 32).area_um2 + 7700)
    entries = {name: {"value": T[name], "unit": T.units[name], "source": T.sources[name]}
               for name in T.values}
    entries["dram_64b_energy_pj"] = 1300
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(entries))
    low = load_table(tmp_path / "t.yaml")
    assert low["dram_64b_energy_pj"] == 1300
    assert pe_cost(2, 8, table=tmp_path / "t.yaml") == pe_cost(2, 8)
    assert pe_cost(8, 8, table={"int_mult_8b_energy_pj": 0.3}).multiplier_energy_pj == 0.3


@pytest.mark.parametrize("drop, change, message", [
    ("dff_area_um2", None, "'dff_area_um2' is missing"),
    (None, ("fp32_add_energy_pj", "lots"), "'fp32_add_energy_pj' has a non-numeric value"),
    (None, ("xor2_area_um2", "-1"), "'xor2_area_um2' must be a finite number > 0"),
])
def test_bad_table_names_the_entry(tmp_path, drop, change, message):
    with pytest.raises(ValueError, match=message):
        load_table(write_csv(tmp_path / "bad.csv", drop=drop, change=change))


def test_unknown_table_entry_is_named(tmp_path):
    path = write_csv(tmp_path / "t.csv")
    with open(path, "a") as handle:
        handle.write("dff_aera_um2,4.5,um2,typo\n")
    with pytest.raises(ValueError, match="unknown entry 'dff_aera_um2'"):
        load_table(path)


@pytest.mark.parametrize("wbits, abits", [(0, 8), (2, 17), (64, 64)])
def test_unknown_widths_are_named(wbits, abits):
    with pytest.raises(ValueError, match="wbits" if wbits not in ALLOWED_BITS else "abits"):
        pe_cost(wbits, abits)


# ----------------------------------------------------------------------------- command line

def test_compare_prints_both_pes_and_their_ratios(capsys):
    assert main(["--compare", "2x8", "32x32", "--model", "resnet20"]) == 0
    out = capsys.readouterr().out
    assert "2x8 ternary" in out and "32x32 fp32" in out
    # the ratios by hand from the table's Horowitz / NanGate numbers, not from the code: fp32
    # multiplier + adder + 96 flip-flops against 8 XOR+AND cells + a 32-bit adder + 42
    # flip-flops (area); 3.7 + 0.9 pJ + 96 flip-flops against the ternary PE's pJ (power)
    area = (7700 + 4184 + 96 * 4.522) / (8 * (1.596 + 1.064) + 137 + 42 * 4.522)
    power = (3.7 + 0.9 + 96 * 0.0031) / (8 * 2.66 * 0.00073 + 0.1 + 42 * 0.0031)
    line = next(line for line in out.splitlines() if line.startswith("paper (Sec. 3)"))
    assert f"ours: {area:.1f}x area, {power:.1f}x power" in line
    assert (round(area, 1), round(power, 1)) == (35.4, 19.9)   # README's table says so too
    assert "15x smaller and 12x more power efficient" in line    # the paper's, Section 3


@pytest.mark.parametrize("argv, message", [
    (["--compare", "2x3x4"], "expected WBITSxABITS"),
    (["--compare", "2x64"], "abits=64"),
    (["--compare", "2x8", "--table", "/nonexistent.csv"], "no such file"),
])
def test_cli_errors_are_one_line_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_as_a_module_bad_table(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", change=("dram_64b_energy_pj", "x"))
    done = subprocess.run([sys.executable, "-m", "accelsim.cost", "--compare", "2x8", "8x8",
                           "--table", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "dram_64b_energy_pj" in done.stderr


def test_the_three_commands_take_the_same_cost_flags(capsys, tmp_path):
    from accelsim.__main__ import main as accelsim_main
    from dse.sweep import main as sweep_main
    flags = ["--wide-layers", "passes", "--between-layers", "dram", "--quantize-ends"]
    assert accelsim_main(["--model", "resnet20", "--engine", "analytic", *flags]) == 0
    out = capsys.readouterr().out
    assert "wide layers: passes" in out and "between layers: dram" in out
    assert "zero_gating: none" in out and "0 on the host unit" in out
    assert main(["--compare", "2x8", "32x32", "--model", "resnet20", *flags]) == 0
    out = capsys.readouterr().out
    assert "first conv and FC quantized; wide layers: passes; between layers: dram" in out
    assert sweep_main(["--model", "resnet20", "--engine", "analytic", "--out", str(tmp_path),
                       *flags]) == 0
    out = capsys.readouterr().out
    assert "first conv and FC quantized" in out and "wide layers: passes" in out
    row = pd.read_csv(tmp_path / "sweep.csv").iloc[0]
    assert (row["wide_layers"], row["between_layers"], row["ends"]) == ("passes", "dram",
                                                                        "quantized")
    assert np.isnan(row["top1_err_pct"])   # the accuracy tables hold only fp32-ended networks
    # the default report names the host unit's rows
    assert accelsim_main(["--model", "resnet20", "--engine", "analytic"]) == 0
    assert "2 on the host unit: conv1, fc" in capsys.readouterr().out
