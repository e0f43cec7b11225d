"""The dataflow registry: every record runs on the kernels, the closed form and the memory model.

Each test is parametrised over the registry plus one record defined here (output-stationary
with N down the rows), so a record added to ``accelsim.dataflows`` is tested as these are.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from accelsim import ArrayConfig, dataflows, simulate_gemm
from accelsim.analytic import gemm_counts
from accelsim.config import config_columns, weight_code_range
from accelsim.memory import add_memory_columns

EXTRA = dataflows.Dataflow("os_nm", "N", "M", "K", "output-stationary, N down the rows")
RECORDS = dataflows.REGISTRY + (EXTRA,)


@pytest.fixture
def registry(monkeypatch):
    """The registry with EXTRA appended, as if a record had been added to the module."""
    monkeypatch.setattr(dataflows, "REGISTRY", RECORDS)
    monkeypatch.setattr(dataflows, "NAMES", tuple(f.name for f in RECORDS))
    monkeypatch.setattr(dataflows, "CODES", {f.name: c for c, f in enumerate(RECORDS)})
    return RECORDS


def test_scalesims_three_dataflows():
    mapped = {f.name: (f.spatial_rows, f.spatial_cols, f.temporal) for f in dataflows.REGISTRY}
    assert mapped == {"os": ("M", "N", "K"), "ws": ("K", "N", "M"), "is": ("K", "M", "N")}
    assert [f.held for f in dataflows.REGISTRY] == ["ofmap", "filter", "ifmap"]
    assert [f.preloads for f in dataflows.REGISTRY] == [False, True, True]


def test_a_record_whose_outputs_enter_from_the_left_is_refused():
    with pytest.raises(ValueError, match="outputs would enter from the left"):
        dataflows.Dataflow("bad", "M", "K", "N", "")
    with pytest.raises(ValueError, match="M, N, K"):
        dataflows.Dataflow("bad", "M", "M", "K", "")


def scalesim_cycles(flow, m, n, k, rows, cols):
    """SCALE-Sim's count, from the record's letters alone."""
    size = {"M": m, "N": n, "K": k}
    sr, sc, t = size[flow.spatial_rows], size[flow.spatial_cols], size[flow.temporal]
    per_fold = t + rows + cols - 2 + (rows if flow.held != "ofmap" else 0)
    return -(-sr // rows) * -(-sc // cols) * per_fold - 1


@pytest.mark.parametrize("flow", RECORDS, ids=lambda f: f.name)
@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 20), n=st.integers(1, 20), k=st.integers(1, 20),
       rows=st.integers(1, 6), cols=st.integers(1, 6), wbits=st.sampled_from([1, 2, 4, 8]),
       seed=st.integers(0, 2**32 - 1))
def test_every_record_is_bit_exact_and_counts_as_its_closed_form(flow, m, n, k, rows, cols,
                                                                  wbits, seed):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dataflows, "REGISTRY", RECORDS)
        patch.setattr(dataflows, "CODES", {f.name: c for c, f in enumerate(RECORDS)})
        rng = np.random.default_rng(seed)
        a = rng.integers(0, 256, size=(m, k))
        low, high = weight_code_range(wbits)
        w = rng.choice([-1, 1], size=(k, n)) if wbits == 1 else rng.integers(low, high + 1,
                                                                              size=(k, n))
        cfg = ArrayConfig(rows, cols, wbits=wbits, abits=8, dataflow=flow.name)
        res = simulate_gemm(a, w, cfg)
        np.testing.assert_array_equal(res.output, a @ w)
        assert res.cycles == scalesim_cycles(flow, m, n, k, rows, cols)
        assert res.zero_weight_macs == int((w == 0).sum()) * m
        closed = gemm_counts(m, n, k, rows, cols, flow.name)
        for field in ("folds", "clocks", "cycles", "macs", "ifmap_sram_reads",
                      "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads"):
            assert getattr(res, field) == int(closed[field]), field


def test_vectorised_counts_and_memory_over_every_record(registry):
    shapes = [(10, 20, 30), (64, 3, 700), (1, 9, 5)]
    rows = []
    for flow in registry:
        for m, n, k in shapes:
            cfg = ArrayConfig(4, 8, wbits=2, abits=8, dataflow=flow.name, ifmap_sram_kb=1,
                              filter_sram_kb=1, ofmap_sram_kb=1)
            counts = {c: v.item() for c, v in gemm_counts(m, n, k, 4, 8, flow.name).items()}
            rows.append({"M": m, "N": n, "K": k, "ifmap_elems": m * k, "filter_elems": k * n,
                         "ofmap_elems": m * n, **counts, **config_columns(cfg)})
    frame = pd.DataFrame(rows)
    together = gemm_counts(frame["M"], frame["N"], frame["K"], 4, 8, frame["dataflow"])
    for column in ("cycles", "ifmap_sram_reads", "ofmap_sram_reads"):
        np.testing.assert_array_equal(together[column], frame[column])
    memory = add_memory_columns(frame)
    alone = pd.concat([add_memory_columns(frame.iloc[[i]]) for i in range(len(frame))])
    np.testing.assert_array_equal(memory["dram_read_bits"], alone["dram_read_bits"])
    assert (memory["dram_read_bits"] >= frame["filter_elems"] * 2).all()


def test_the_extra_record_runs_through_a_whole_network(registry):
    from accelsim import simulate_network
    cycle = simulate_network("resnet20", ArrayConfig(8, 8, dataflow="os_nm"), engine="cycle")
    closed = simulate_network("resnet20", ArrayConfig(8, 8, dataflow="os_nm"),
                              engine="analytic")
    np.testing.assert_array_equal(cycle["cycles"], closed["cycles"])
    np.testing.assert_array_equal(cycle["energy_total_pj"], closed["energy_total_pj"])
