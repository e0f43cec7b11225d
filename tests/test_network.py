"""Whole networks: both engines agree, and match SCALE-Sim on the shipped ResNets."""
import numpy as np
import pytest

from accelsim import ArrayConfig, simulate_network
from accelsim.workload import builtin, scalesim_topology_text, write_trace

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
