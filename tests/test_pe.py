"""The PE module: one numbering of product units, where a layer runs, bit-serial digits."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim import ArrayConfig, kernels, pe
from accelsim.config import weight_code_range
from accelsim.cost import PE_KINDS, pe_arrays
from accelsim.formats import ALLOWED_BITS
from accelsim.systolic import pe_mode, simulate_gemm, simulate_passes


def test_one_numbering_for_kernels_and_costs():
    assert PE_KINDS == pe.PRODUCT_UNITS == ("binary", "ternary", "int", "fp32")
    assert (kernels.BINARY, kernels.TERNARY) == (pe.BINARY, pe.TERNARY)
    for wbits, abits, unit in ((1, 8, pe.BINARY), (2, 8, pe.TERNARY), (2, 32, pe.TERNARY),
                               (4, 8, pe.INT), (4, 32, pe.FP32), (32, 8, pe.FP32)):
        assert pe.product_unit(wbits, abits) == unit
        assert pe_mode(ArrayConfig(wbits=wbits, abits=abits)) == unit
        assert pe_arrays(wbits, abits, 32)["kind"] == unit


@pytest.mark.parametrize("layer, array, fits", [
    ((2, 8), (2, 8), True), ((1, 8), (2, 8), True), ((2, 4), (2, 8), True),
    ((2, 8), (1, 8), False), ((8, 8), (2, 8), False), ((32, 32), (2, 8), False),
    ((8, 8), (32, 32), True), ((2, 32), (2, 32), True), ((2, 32), (2, 16), False),
    ((1, 8), (4, 8), True), ((2, 8), (3, 8), True),
])
def test_a_layer_fits_where_every_side_does(layer, array, fits):
    place = pe.placement(*layer, *array, False)
    assert (not place["on_host"]) == fits


@pytest.mark.parametrize("layer, array, weight_passes, activation_passes", [
    ((8, 8), (2, 8), 7, 1),     # ternary digits: sign + one magnitude bit each
    ((8, 8), (4, 4), 3, 2),     # 7 magnitude bits in 3-bit digits; 8 bits in 4-bit digits
    ((16, 16), (2, 1), 15, 16),
    ((4, 8), (32, 8), 1, 1),    # an fp32 side takes any integer codes
])
def test_passes_split_what_does_not_fit(layer, array, weight_passes, activation_passes):
    place = pe.placement(*layer, *array, True)
    assert not place["on_host"]
    assert (place["weight_passes"], place["activation_passes"]) == (weight_passes,
                                                                     activation_passes)


@pytest.mark.parametrize("layer, array", [((32, 8), (8, 8)), ((8, 32), (8, 8)),
                                          ((2, 8), (1, 8))])
def test_what_has_no_digits_goes_to_the_host_even_with_passes(layer, array):
    assert pe.placement(*layer, *array, True)["on_host"]


def test_digits_rebuild_the_codes():
    rng = np.random.default_rng(0)
    for layer_bits in (3, 8, 16):
        low, high = weight_code_range(layer_bits)
        w = rng.integers(low, high + 1, size=200)
        for array_bits in (2, 3, 5):
            count = int(pe.weight_digits_needed(layer_bits, array_bits))
            digits = pe.weight_digits(w, array_bits, count)
            a_low, a_high = weight_code_range(array_bits)
            assert all(a_low <= d.min() and d.max() <= a_high for d, _ in digits)
            np.testing.assert_array_equal(sum(d << s for d, s in digits), w)
    a = rng.integers(0, 1 << 16, size=200)
    digits = pe.activation_digits(a, 4, int(pe.activation_digits_needed(16, 4)))
    assert len(digits) == 4
    np.testing.assert_array_equal(sum(d << s for d, s in digits), a)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 12), n=st.integers(1, 12), k=st.integers(1, 12),
       rows=st.integers(1, 5), cols=st.integers(1, 5),
       dataflow=st.sampled_from(["os", "ws", "is"]), layer_w=st.sampled_from([3, 8, 12]),
       layer_a=st.sampled_from([4, 8, 16]), array=st.sampled_from([(2, 4), (3, 8), (4, 2)]),
       seed=st.integers(0, 2**32 - 1))
def test_bit_serial_passes_are_bit_exact(m, n, k, rows, cols, dataflow, layer_w, layer_a,
                                         array, seed):
    rng = np.random.default_rng(seed)
    low, high = weight_code_range(layer_w)
    a = rng.integers(0, 1 << layer_a, size=(m, k))
    w = rng.integers(low, high + 1, size=(k, n))
    cfg = ArrayConfig(rows, cols, wbits=array[0], abits=array[1], dataflow=dataflow,
                      acc_bits=48)
    place = pe.placement(layer_w, layer_a, *array, True)
    wp, ap = int(place["weight_passes"]), int(place["activation_passes"])
    res = simulate_passes(a, w, cfg, wp, ap)
    np.testing.assert_array_equal(res.output, a @ w)
    one = simulate_gemm(np.zeros_like(a), np.zeros_like(w), cfg)
    assert res.passes == wp * ap
    assert res.cycles == res.passes * one.cycles and res.clocks == res.passes * one.clocks
    assert res.shift_adds == (res.passes - 1) * m * n
    assert res.busy_pe_cycles == res.passes * m * n * k


def test_every_width_has_a_product_unit():
    for wbits in ALLOWED_BITS:
        for abits in ALLOWED_BITS:
            assert pe.kind_name(wbits, abits).split("+")[0] in PE_KINDS
