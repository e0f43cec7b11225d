"""The cycle-level model: bit-exact outputs, SCALE-Sim's cycle counts, and its counters."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim import ArrayConfig, simulate_gemm
from accelsim.analytic import gemm_counts
from accelsim.config import weight_code_range


def reference_wrapped(a, w, acc_bits=32):
    """Independent NumPy reference: the exact product, wrapped to a signed acc_bits register."""
    exact = a.astype(np.int64) @ w.astype(np.int64)
    span = 1 << acc_bits
    return (exact + span // 2) % span - span // 2, exact


def random_codes(rng, m, n, k, wbits, abits):
    a = rng.integers(0, 1 << abits, size=(m, k))
    if wbits == 1:
        w = rng.choice([-1, 1], size=(k, n))
    else:
        low, high = weight_code_range(wbits)
        w = rng.integers(low, high + 1, size=(k, n))
    return a, w


def scalesim_cycles(m, n, k, rows, cols, dataflow):
    """SCALE-Sim 3.0.0's compute cycles (DESIGN.md), written out independently."""
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    per_fold = t + rows + cols - 2 + (0 if dataflow == "os" else rows)
    folds = -(-sr // rows) * -(-sc // cols)
    return folds * per_fold - 1


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 40),
       rows=st.integers(1, 9), cols=st.integers(1, 9), dataflow=st.sampled_from(["os", "ws", "is"]),
       wbits=st.sampled_from([1, 2, 3, 4, 8, 16]), abits=st.sampled_from([1, 2, 4, 8, 16]),
       seed=st.integers(0, 2**32 - 1))
def test_bit_exact_and_cycles_match_scalesim(m, n, k, rows, cols, dataflow, wbits, abits, seed):
    rng = np.random.default_rng(seed)
    a, w = random_codes(rng, m, n, k, wbits, abits)
    cfg = ArrayConfig(rows=rows, cols=cols, wbits=wbits, abits=abits, dataflow=dataflow)
    res = simulate_gemm(a, w, cfg)
    wrapped, exact = reference_wrapped(a, w)
    assert res.output.dtype == np.int64
    np.testing.assert_array_equal(res.output, wrapped)
    if res.overflows == 0:
        np.testing.assert_array_equal(res.output, exact)
    if (exact != wrapped).any():
        assert res.overflows > 0
    assert res.cycles == scalesim_cycles(m, n, k, rows, cols, dataflow)
    assert res.busy_pe_cycles == res.macs == m * n * k
    assert res.pe_busy.sum() == m * n * k
    assert res.fold_log[:, 3].sum() == m * n * k
    assert res.fold_log[:, 2].sum() == res.clocks
    assert res.zero_weight_macs == int((w == 0).sum()) * m  # each weight meets M activations


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 30), n=st.integers(1, 30), k=st.integers(1, 30),
       rows=st.integers(1, 8), cols=st.integers(1, 8), dataflow=st.sampled_from(["os", "ws", "is"]),
       seed=st.integers(0, 2**32 - 1))
def test_analytic_counts_equal_cycle_level(m, n, k, rows, cols, dataflow, seed):
    rng = np.random.default_rng(seed)
    a, w = random_codes(rng, m, n, k, 2, 8)
    res = simulate_gemm(a, w, ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    closed = gemm_counts(m, n, k, rows, cols, dataflow)
    for field in ("folds", "clocks", "cycles", "macs", "ifmap_sram_reads", "filter_sram_reads",
                  "ofmap_sram_writes", "ofmap_sram_reads"):
        assert getattr(res, field) == int(closed[field]), field
    assert res.utilization == pytest.approx(float(closed["utilization"]))


def test_fp32_pe_computes_in_float():
    rng = np.random.default_rng(1)
    a = rng.random((13, 21), dtype=np.float32)
    w = rng.standard_normal((21, 9), dtype=np.float32)
    for dataflow in ("os", "ws", "is"):
        res = simulate_gemm(a, w, ArrayConfig(4, 4, wbits=32, abits=32, dataflow=dataflow))
        assert res.output.dtype == np.float32
        np.testing.assert_allclose(res.output, a.astype(np.float64) @ w, rtol=1e-5, atol=1e-5)
        assert res.overflows == 0


def test_ternary_weights_with_fp32_activations_use_the_float_pe():
    a = np.array([[0.5, 1.25]], dtype=np.float32)
    w = np.array([[1], [-1]])
    res = simulate_gemm(a, w, ArrayConfig(1, 1, wbits=2, abits=32))
    assert res.output.dtype == np.float32 and res.output[0, 0] == pytest.approx(-0.75)


# ---------------------------------------------------------------- hand-derived cycle counts

def test_one_pe_output_stationary():
    # 1x1 array, K=5: the lone PE takes one operand pair per clock: 5 clocks, SCALE-Sim says 4.
    res = simulate_gemm(np.arange(5).reshape(1, 5), np.ones((5, 1), int), ArrayConfig(1, 1))
    assert (res.clocks, res.cycles, res.folds) == (5, 4, 1)
    assert res.output[0, 0] == 10
    assert res.utilization == 1.0


def test_single_fold_fills_the_array_skew():
    # 8x8 OS, M=N=8, K=10: the last PE (7,7) sees its last pair at clock 9 + 7 + 7 = 23.
    res = simulate_gemm(np.ones((8, 10), int), np.ones((10, 8), int), ArrayConfig(8, 8))
    assert (res.clocks, res.cycles, res.folds) == (24, 23, 1)
    np.testing.assert_array_equal(res.pe_busy, np.full((8, 8), 10))


def test_m_smaller_than_the_array_still_pays_the_full_skew():
    # M=3 rows of output on an 8-row array: the fold still lasts K + rows + cols - 2 clocks,
    # and only the first three PE rows work.
    res = simulate_gemm(np.ones((3, 4), int), np.ones((4, 8), int), ArrayConfig(8, 8))
    assert res.clocks == 4 + 8 + 8 - 2
    assert res.utilization == pytest.approx(3 * 8 * 4 / (18 * 64))
    assert (res.pe_busy[:3] == 4).all() and (res.pe_busy[3:] == 0).all()


def test_weight_stationary_preload_then_stream():
    # 2x2 WS, K=2, N=2, M=3: 2 clocks preload + (3 + 2 + 2 - 2) streaming = 7 clocks.
    a = np.array([[1, 2], [3, 4], [5, 6]])
    w = np.array([[1, -1], [0, 1]])
    res = simulate_gemm(a, w, ArrayConfig(2, 2, dataflow="ws"))
    assert (res.clocks, res.cycles) == (7, 6)
    np.testing.assert_array_equal(res.output, a @ w)
    assert res.filter_sram_reads == 4 and res.ifmap_sram_reads == 6
    assert res.zero_weight_macs == 3  # the weight 0 meets each of the three activation rows


def test_folds_over_k_accumulate_through_the_ofmap_buffer():
    # WS, K=5 on 2 rows: three K folds, each output written 3 times and read back twice.
    rng = np.random.default_rng(3)
    a, w = random_codes(rng, 4, 3, 5, 2, 8)
    res = simulate_gemm(a, w, ArrayConfig(2, 4, dataflow="ws"))
    np.testing.assert_array_equal(res.output, a @ w)
    assert res.folds == 3
    assert res.ofmap_sram_writes == 3 * 12 and res.ofmap_sram_reads == 2 * 12


def test_input_stationary_counts():
    # IS maps (K, M, N): A^T is held, W^T streams; folds = ceil(K/rows) * ceil(M/cols).
    rng = np.random.default_rng(4)
    a, w = random_codes(rng, 6, 5, 3, 4, 8)
    res = simulate_gemm(a, w, ArrayConfig(2, 4, wbits=4, dataflow="is"))
    np.testing.assert_array_equal(res.output, a @ w)
    assert res.folds == 2 * 2
    assert res.clocks == 4 * (5 + 2 * 2 + 4 - 2)
    assert res.ifmap_sram_reads == 6 * 3


def test_accumulator_overflow_is_reported_and_wraps():
    # 16-bit codes: 65535 * 32767 * 2 does not fit in 32 bits.
    a = np.full((1, 2), 65535)
    w = np.full((2, 1), 32767)
    res = simulate_gemm(a, w, ArrayConfig(1, 1, wbits=16, abits=16))
    assert res.overflows >= 1
    exact = 2 * 65535 * 32767
    assert res.output[0, 0] == (exact + 2**31) % 2**32 - 2**31


def test_wider_accumulator_avoids_the_overflow():
    a = np.full((1, 2), 65535)
    w = np.full((2, 1), 32767)
    res = simulate_gemm(a, w, ArrayConfig(1, 1, wbits=16, abits=16, acc_bits=40))
    assert res.overflows == 0 and res.output[0, 0] == 2 * 65535 * 32767


def test_binary_weights_are_plus_minus_one():
    a = np.array([[3, 5]])
    res = simulate_gemm(a, np.array([[1], [-1]]), ArrayConfig(1, 1, wbits=1))
    assert res.output[0, 0] == -2
    with pytest.raises(ValueError, match="wbits=1"):
        simulate_gemm(a, np.array([[1], [0]]), ArrayConfig(1, 1, wbits=1))


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, field", [
    ({"rows": 0}, "rows"), ({"cols": -1}, "cols"), ({"wbits": 17}, "wbits"),
    ({"abits": 0}, "abits"), ({"dataflow": "rs"}, "dataflow"), ({"rows": 2.5}, "rows"),
    ({"freq_mhz": 0}, "freq_mhz"),
])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ArrayConfig(**kwargs)


@pytest.mark.parametrize("a, w, message", [
    (np.ones((2, 3), int), np.ones((4, 2), int), "shapes do not match"),
    (np.full((2, 3), 256), np.ones((3, 2), int), r"A \(activations\) codes must lie in \[0, 255\]"),
    (np.full((2, 3), -1), np.ones((3, 2), int), "A"),
    (np.ones((2, 3), int), np.full((3, 2), 2), r"W \(weights\) codes must lie in \[-1, 1\]"),
    (np.full((2, 3), 0.5), np.ones((3, 2), int), "integer codes"),
    (np.ones(3, int), np.ones((3, 2), int), "2-D"),
    (np.ones((0, 3), int), np.ones((3, 2), int), "empty"),
])
def test_bad_operands_name_the_problem(a, w, message):
    with pytest.raises(ValueError, match=message):
        simulate_gemm(a, w, ArrayConfig(4, 4, wbits=2, abits=8))
