"""Whole networks: both engines agree, and match SCALE-Sim on the shipped ResNets."""
import numpy as np
import pytest

from accelsim import ArrayConfig, simulate_network
from accelsim.workload import (Layer, Workload, builtin, scalesim_topology_text,
                               trace_csv_text, write_trace)

COUNTS = ["folds", "clocks", "cycles", "macs", "busy_pe_cycles", "ifmap_sram_reads",
          "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads"]


def scalesim_network_cycles(net, rows, cols, dataflow, batch=1):
    """SCALE-Sim 3.0.0's compute-cycle formula (folds x per-fold - 1, DESIGN.md), summed: the
    formula as documented, over more shapes than SCALE-Sim can run in CI.  What SCALE-Sim
    itself measures is tests/data/scalesim_cycles.csv (tests/test_scalesim_reference.py)."""
    total = 0
    for layer in net.layers:
        m, n, k = layer.gemm(batch)
        sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
        per_fold = t + rows + cols - 2 + (0 if dataflow == "os" else rows)
        total += -(-sr // rows) * -(-sc // cols) * per_fold - 1
    return total


def test_resnet20_on_the_paper_array_matches_scalesim():
    frame = simulate_network("resnet20", ArrayConfig(8, 8, wbits=2, abits=8, dataflow="os"))
    assert frame["cycles"].sum() == 674_952   # SCALE-Sim 3.0.0, measured (issue 2)
    assert frame["macs"].sum() == 40_551_040
    assert list(frame["layer"][:2]) == ["conv1", "stage1.block1.conv1"]
    assert (frame["overflows"] == 0).all()
    assert (frame["operands"] == "random").all()


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_engines_agree_on_every_layer(dataflow):
    cfg = ArrayConfig(8, 8, dataflow=dataflow)
    cycle = simulate_network("resnet20", cfg, engine="cycle")
    closed = simulate_network("resnet20", cfg, engine="analytic")
    for column in COUNTS + ["dram_read_bits", "dram_write_bits", "energy_total_pj"]:
        np.testing.assert_array_equal(cycle[column].to_numpy(), closed[column].to_numpy(), column)
    # random codes say nothing of the network's zero weights: no gating in either engine
    assert cycle["zero_weight_macs"].isna().all() and closed["zero_weight_macs"].isna().all()
    assert cycle.attrs["zero_gating"] == closed.attrs["zero_gating"] == "none"


@pytest.mark.parametrize("model", ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
@pytest.mark.parametrize("size", [4, 8, 16, 32, 128])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_closed_form_is_scalesims_formula_on_shipped_resnets(model, size, dataflow):
    net = builtin(model)
    frame = simulate_network(net, ArrayConfig(size, size, dataflow=dataflow), engine="analytic")
    assert frame["cycles"].sum() == scalesim_network_cycles(net, size, size, dataflow)


def test_batch_scales_m():
    frame = simulate_network("resnet20", ArrayConfig(8, 8), engine="analytic", batch=4)
    assert frame["M"].iloc[0] == 4 * 1024
    assert frame["cycles"].sum() == scalesim_network_cycles(builtin("resnet20"), 8, 8, "os", 4)


def test_trace_file_with_operand_codes(tmp_path):
    net = builtin("resnet20")
    write_trace(net, tmp_path / "r20.csv")
    rng = np.random.default_rng(0)
    arrays = {}
    for layer in net.layers[:2]:
        m, n, k = layer.gemm()
        arrays[f"{layer.name}/a"] = rng.integers(0, 256, size=(m, k))
        w = rng.integers(-1, 2, size=(k, n))
        w[: k // 2] = 0   # half the weights pruned: the zero-weight count must see it
        arrays[f"{layer.name}/w"] = w
    np.savez(tmp_path / "r20.npz", **arrays)
    cfg = ArrayConfig(8, 8)
    cycle = simulate_network(tmp_path / "r20.csv", cfg)
    closed = simulate_network(tmp_path / "r20.csv", cfg, engine="analytic")
    assert list(cycle["operands"][:3]) == ["npz", "npz", "random"]
    for i in range(2):
        w = arrays[f"{net.layers[i].name}/w"]
        expected_zero = int((w == 0).sum()) * cycle["M"].iloc[i]
        assert cycle["zero_weight_macs"].iloc[i] == expected_zero
        assert closed["zero_weight_macs"].iloc[i] == expected_zero
    assert np.isnan(closed["zero_weight_macs"].iloc[2])


def test_scalesim_topology_runs_unchanged(tmp_path):
    topo = tmp_path / "topo.csv"
    topo.write_text(scalesim_topology_text(builtin("resnet20")))
    frame = simulate_network(topo, ArrayConfig(8, 8), engine="analytic")
    assert frame["cycles"].sum() == 674_952


def test_unknown_network_and_engine():
    with pytest.raises(ValueError, match="neither a file nor a built-in network"):
        simulate_network("resnet21", ArrayConfig())
    with pytest.raises(ValueError, match="engine='fast'"):
        simulate_network("resnet20", ArrayConfig(), engine="fast")
    with pytest.raises(ValueError, match="batch=0"):
        simulate_network("resnet20", ArrayConfig(), batch=0)


# ----------------------------------------------------------------------------- grown trace rows

MIXED = Workload("mixed", (
    Layer("conv", 8, 8, 3, 3, 8, 16, 1, 1),
    Layer("dw", 8, 8, 3, 3, 16, 16, 2, 1, groups=16),
    Layer("grouped", 4, 4, 1, 1, 16, 32, groups=4),
    Layer("pool", 4, 4, 4, 4, 32, 32, op="pool", runs_on="host"),
    Layer("proj", 5, 1, 1, 1, 32, 24, op="linear"),
    Layer("qk", 5, 1, 1, 1, 8, 5, op="matmul", batch=3),
    Layer("softmax", 3, 5, 1, 1, 5, 5, op="softmax", runs_on="host"),
    Layer("av", 5, 1, 1, 1, 5, 8, op="matmul", batch=3),
    Layer("add", 5, 1, 1, 1, 24, 24, op="add", runs_on="host"),
))


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("batch", [1, 2])
def test_grouped_matmul_and_host_rows_in_both_engines(dataflow, batch):
    cfg = ArrayConfig(4, 4, dataflow=dataflow)
    cycle = simulate_network(MIXED, cfg, engine="cycle", batch=batch)
    closed = simulate_network(MIXED, cfg, engine="analytic", batch=batch)
    for column in COUNTS + ["gemms", "M", "N", "K"]:
        np.testing.assert_array_equal(cycle[column].to_numpy(), closed[column].to_numpy(), column)
    assert list(cycle["layer"]) == [layer.name for layer in MIXED.layers]  # file order
    rows = cycle.set_index("layer")
    # groups: G GEMMs of M x N/G x K/G back to back, SCALE-Sim's - 1 once per layer
    m, n, k, g = 16 * batch, 1, 9, 16
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    per_fold = t + 4 + 4 - 2 + (0 if dataflow == "os" else 4)
    assert rows.loc["dw", "cycles"] == g * -(-sr // 4) * -(-sc // 4) * per_fold - 1
    assert rows.loc["dw", "macs"] == g * m * n * k
    # a matmul's batch multiplies its GEMMs (each input brings its own second operand)
    assert rows.loc["qk", "gemms"] == 3 * batch and rows.loc["qk", "M"] == 5
    assert rows.loc["proj", "M"] == 5 * batch and rows.loc["proj", "gemms"] == 1
    # host rows: no array cycles; with outputs kept on chip (the default) they work there
    for host in ("pool", "softmax", "add"):
        assert rows.loc[host, "cycles"] == rows.loc[host, "macs"] == 0
        assert rows.loc[host, "energy_mac_pj"] == 0 and rows.loc[host, "ifmap_sram_read_bits"] > 0
    assert rows.loc["pool", "dram_read_bits"] == 0   # the grouped conv's output stayed
    # SCALE-Sim's accounting: each host row reads its inputs from DRAM and writes its output
    # there, touching no SRAM, and the transfer shows as stalls
    off_chip = simulate_network(MIXED, ArrayConfig(4, 4, dataflow=dataflow,
                                                   between_layers="dram"),
                                engine="analytic", batch=batch).set_index("layer")
    for host in ("pool", "softmax", "add"):
        row = off_chip.loc[host]
        assert row["dram_read_bits"] > 0 and row["stall_cycles"] > 0
        assert row["ifmap_sram_read_bits"] == 0 and row["ofmap_sram_write_bits"] == 0
    assert off_chip.loc["add", "dram_read_bits"] == 2 * 5 * 24 * batch * 8   # two inputs, 8 bits
    assert off_chip.loc["pool", "dram_write_bits"] == 32 * batch * 8         # 4x4 window -> 1x1


def test_grouped_layer_runs_on_stored_codes(tmp_path):
    layer = Layer("dw", 6, 6, 3, 3, 4, 4, 1, 1, groups=4, wbits=2, abits=8)
    write_trace(Workload("dw", (layer,)), tmp_path / "dw.csv")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, size=(4, 36, 9))
    w = rng.integers(-1, 2, size=(4, 9, 1))
    np.savez(tmp_path / "dw.npz", **{"dw/a": a, "dw/w": w})
    frame = simulate_network(tmp_path / "dw.csv", ArrayConfig(4, 4))
    assert frame["operands"].iloc[0] == "npz"
    assert frame["zero_weight_macs"].iloc[0] == int((w == 0).sum()) * 36
    np.savez(tmp_path / "dw.npz", **{"dw/a": a[0], "dw/w": w[0]})
    with pytest.raises(ValueError, match=r"expected \(G, K, N\)"):
        simulate_network(tmp_path / "dw.csv", ArrayConfig(4, 4))


def test_existing_counts_are_unchanged_by_the_new_columns(tmp_path):
    # the same ResNet-20 written with every appended column at its default
    text = trace_csv_text(builtin("resnet20")).splitlines()
    header = text[0].split(",")
    full = [",".join(header + ["runs_on", "batch"][len(header) - 13:])]
    full += [line + ",array,1" for line in text[1:]]
    (tmp_path / "r20.csv").write_text("\n".join(full) + "\n")
    frame = simulate_network(tmp_path / "r20.csv", ArrayConfig(8, 8), engine="analytic")
    assert frame["cycles"].sum() == 674_952


# ----------------------------------------------------------------------------- layer widths

def test_fp32_ends_run_on_the_host_unit_and_cost_more():
    for model in ("resnet20", "resnet56"):
        ends = simulate_network(model, ArrayConfig(), engine="analytic")
        low = simulate_network(model, ArrayConfig(), engine="analytic", quantize_ends=True)
        hosted = ends[ends["runs_on"] == "host"]
        assert list(hosted["layer"]) == ["conv1", "fc"]
        assert (hosted["layer_wbits"] == 32).all() and (hosted["layer_abits"] == 32).all()
        assert (low["runs_on"] == "array").all()
        assert ends["energy_host_pj"].sum() == hosted["energy_total_pj"].sum() > 0
        # most of the host unit's energy is extra: the ends on 2b x 8b PEs cost a fraction
        extra = ends["energy_total_pj"].sum() - low["energy_total_pj"].sum()
        assert extra > 0.7 * ends["energy_host_pj"].sum()
        # the host unit is an array of the same size: SCALE-Sim's cycles either way
        np.testing.assert_array_equal(ends["cycles"], low["cycles"])


def test_a_trace_keeps_its_own_widths(tmp_path):
    layers = (Layer("a", 8, 8, 3, 3, 3, 8, 1, 1, wbits=32, abits=32),
              Layer("b", 8, 8, 3, 3, 8, 8, 1, 1, wbits=2, abits=4),
              Layer("c", 8, 8, 3, 3, 8, 8, 1, 1, wbits=8, abits=8))
    write_trace(Workload("t", layers), tmp_path / "t.csv")
    frame = simulate_network(tmp_path / "t.csv", ArrayConfig(4, 4, wbits=2, abits=8),
                             engine="analytic")
    assert list(frame["layer_wbits"]) == [32, 2, 8] and list(frame["layer_abits"]) == [32, 4, 8]
    assert list(frame["runs_on"]) == ["host", "array", "host"]
    passes = simulate_network(tmp_path / "t.csv", ArrayConfig(4, 4, wbits=2, abits=8,
                                                              wide_layers="passes"),
                              engine="analytic")
    # fp32 has no integer digits; 8-bit weights are 7 ternary digits (sign + 7 magnitude bits)
    assert list(passes["runs_on"]) == ["host", "array", "array"]
    assert list(passes["passes"]) == [1, 1, 7]
    with pytest.raises(ValueError, match="quantize_ends applies to built-in networks"):
        simulate_network(tmp_path / "t.csv", ArrayConfig(), quantize_ends=True)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_bit_serial_passes_in_both_engines(dataflow):
    # 8-bit weights and activations on a 2b x 4b array: 7 weight digits x 2 activation digits
    net = Workload("w8a8", (Layer("a", 6, 6, 3, 3, 4, 5, 1, 1, wbits=8, abits=8),
                            Layer("b", 6, 6, 3, 3, 5, 3, 1, 1, wbits=2, abits=4)))
    cfg = ArrayConfig(4, 4, wbits=2, abits=4, dataflow=dataflow, wide_layers="passes")
    cycle = simulate_network(net, cfg, engine="cycle")
    closed = simulate_network(net, cfg, engine="analytic")
    for column in COUNTS + ["shift_adds", "energy_total_pj"]:
        np.testing.assert_array_equal(cycle[column].to_numpy(), closed[column].to_numpy(), column)
    one = simulate_network(net, ArrayConfig(4, 4, dataflow=dataflow, wbits=8, abits=8),
                           engine="analytic")
    a, b = cycle.iloc[0], one.iloc[0]
    assert a["passes"] == 14 and a["runs_on"] == "array"
    assert a["cycles"] == 14 * b["cycles"] and a["busy_pe_cycles"] == 14 * b["macs"]
    assert a["shift_adds"] == 13 * a["M"] * a["N"]
    assert a["energy_shift_add_pj"] > 0
    # each pass reads its bit planes: the operands' bits once per pass of the other operand
    assert a["filter_sram_read_bits"] == b["filter_sram_read_bits"] * 2
    assert a["ifmap_sram_read_bits"] == b["ifmap_sram_read_bits"] * 7
    assert a["dram_read_bits"] == b["dram_read_bits"]   # passes run per fold: no refetch


def test_zero_gating_only_from_the_traces_codes(tmp_path):
    net = builtin("resnet20")
    write_trace(net, tmp_path / "r20.csv")
    layer = net.layers[1]
    m, n, k = layer.gemm()
    rng = np.random.default_rng(0)
    w = rng.integers(-1, 2, size=(k, n))
    np.savez(tmp_path / "r20.npz", **{f"{layer.name}/a": rng.integers(0, 256, size=(m, k)),
                                      f"{layer.name}/w": w})
    for engine in ("cycle", "analytic"):
        frame = simulate_network(tmp_path / "r20.csv", ArrayConfig(8, 8), engine=engine)
        assert frame.attrs["zero_gating"] == "trace r20.npz"
        assert frame["zero_weight_macs"].iloc[1] == int((w == 0).sum()) * m
        assert frame["energy_saved_zero_gating_pj"].iloc[1] > 0
        assert frame["zero_weight_macs"].drop(index=1).isna().all()
