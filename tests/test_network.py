"""Whole networks: both engines agree, and match SCALE-Sim on the shipped ResNets."""
import numpy as np
import pytest

from accelsim import ArrayConfig, simulate_network
from accelsim.workload import (Layer, Workload, builtin, scalesim_topology_text,
                               trace_csv_text, write_trace)

COUNTS = ["folds", "clocks", "cycles", "macs", "busy_pe_cycles", "ifmap_sram_reads",
          "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads"]


def scalesim_network_cycles(net, rows, cols, dataflow, batch=1):
    """SCALE-Sim 3.0.0's per-layer compute cycles (folds x per-fold - 1), summed."""
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
    for column in COUNTS:
        np.testing.assert_array_equal(cycle[column].to_numpy(), closed[column].to_numpy(), column)
    # ternary weights drawn uniformly: about a third of the MACs meet a zero weight
    assert 0.30 < cycle["zero_weight_macs"].sum() / cycle["macs"].sum() < 0.37


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
    # host rows: no array cycles, but their DRAM traffic is counted and shows as stalls
    for host in ("pool", "softmax", "add"):
        assert rows.loc[host, "cycles"] == rows.loc[host, "macs"] == 0
        assert rows.loc[host, "dram_read_bits"] > 0 and rows.loc[host, "stall_cycles"] > 0
        assert rows.loc[host, "energy_mac_pj"] == 0 and rows.loc[host, "ifmap_sram_read_bits"] == 0
    assert rows.loc["add", "dram_read_bits"] == 2 * 5 * 24 * batch * 8   # two inputs, 8 bits
    assert rows.loc["pool", "dram_write_bits"] == 32 * batch * 8         # 4x4 window -> 1x1


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
