"""The PE: what arithmetic a pair of operand widths calls for, and where a layer runs.

One numbering of PE kinds serves the kernels (their ``mode``), the cost model (the parts it
prices), the memory model (word widths) and the reports.  Widths are 1..16 (integers) or 32
(fp32, ``accelsim.formats``).

- The weight side chooses the *product unit*: 1 bit, binary weights {-1, +1}: a conditional
  negate (BINARY); 2 bits, ternary {-1, 0, +1}: sign-select with a zero gate (TERNARY); 3..16
  bits: a wbits x abits integer multiplier (INT); fp32 weights, or integer weights meeting fp32
  activations: an fp32 multiplier (FP32).  Binary and ternary units work on fp32 activations
  too: negating a float flips its sign bit.
- The *datapath* after the product is fp32 when either operand is fp32 (the product is a
  float): an fp32 adder and a 32-bit accumulator register; otherwise an acc_bits integer adder.
  So a 2b x fp32 PE is a sign-select on fp32 activations plus an fp32 adder, not an FMA.

Where a layer runs (``placement``): a layer whose widths fit the array's PE runs on the array.
An operand side fits when the array's side is fp32 (it represents any code) or both are
integers and the layer's is no wider; binary weights fit any weight side.  A wider layer runs,
by default (``wide_layers="host"``), on a host unit: an array of the same size built from PEs
of the layer's own widths.  With ``wide_layers="passes"`` an integer layer runs on the array
as several bit-serial passes instead (Judd et al., Stripes, MICRO 2016; Sharma et al., Bit
Fusion, ISCA 2018): weights split into digits of the array's magnitude bits, activations into
digits of its width, one pass per pair of digits, the partial results shifted and added.  A
binary array cannot take a zero digit and a fp32 layer has no integer digits: those run on
the host either way.
"""
from __future__ import annotations

import numpy as np

from .formats import FP32_BITS

# Product units, by the weight side.  The kernels' ``mode`` is this code.
BINARY, TERNARY, INT, FP32 = 0, 1, 2, 3
PRODUCT_UNITS = ("binary", "ternary", "int", "fp32")
WIDE_LAYERS = ("host", "passes")
RUNS_ON = ("array", "host")  # "host": not on the array (the trace's runs_on speaks the same)


def product_unit(wbits, abits) -> np.ndarray:
    """The product unit's code (BINARY, TERNARY, INT, FP32), elementwise."""
    wbits, abits = np.asarray(wbits), np.asarray(abits)
    sign_only = np.where(wbits == 1, BINARY, TERNARY)
    integer = np.where(abits == FP32_BITS, FP32, INT)
    return np.where(wbits <= 2, sign_only, np.where(wbits == FP32_BITS, FP32, integer))


def float_datapath(wbits, abits) -> np.ndarray:
    """True where the product, the adder and the accumulator are fp32."""
    return (np.asarray(wbits) == FP32_BITS) | (np.asarray(abits) == FP32_BITS)


def accumulator_bits(wbits, abits, acc_bits) -> np.ndarray:
    """Bits of a partial sum: 32 on an fp32 datapath, acc_bits otherwise."""
    return np.where(float_datapath(wbits, abits), FP32_BITS, np.asarray(acc_bits))


def kind_name(wbits: int, abits: int) -> str:
    """'ternary', 'int', ... and '+fp32 add' where a sign unit meets fp32 activations."""
    unit = PRODUCT_UNITS[int(product_unit(wbits, abits))]
    if unit in ("binary", "ternary") and bool(float_datapath(wbits, abits)):
        return unit + "+fp32add"
    return unit


# ----------------------------------------------------------------------------- placement

def _side_fits(layer, array, is_weight: bool) -> np.ndarray:
    fits = (array == FP32_BITS) | ((layer != FP32_BITS) & (layer <= array))
    return fits | (layer == 1) if is_weight else fits


def weight_digits_needed(layer_wbits, array_wbits) -> np.ndarray:
    """Digits of a weight on the array's weight side: sign + (array - 1) magnitude bits each.

    1 where the weight fits; 0 where it cannot be split (binary array, fp32 weights)."""
    layer, array = np.asarray(layer_wbits), np.asarray(array_wbits)
    per_digit = np.maximum(array - 1, 1)
    digits = -(-(layer - 1) // per_digit)
    splittable = (array >= 2) & (array != FP32_BITS) & (layer != FP32_BITS)
    return np.where(_side_fits(layer, array, True), 1, np.where(splittable, digits, 0))


def activation_digits_needed(layer_abits, array_abits) -> np.ndarray:
    """Digits of an activation on the array's activation side (1 if it fits, 0 if fp32)."""
    layer, array = np.asarray(layer_abits), np.asarray(array_abits)
    splittable = (array != FP32_BITS) & (layer != FP32_BITS)
    return np.where(_side_fits(layer, array, False), 1,
                    np.where(splittable, -(-layer // array), 0))


def placement(layer_wbits, layer_abits, array_wbits, array_abits, passes_allowed) -> dict:
    """Where each layer runs: ``on_host`` (bool), ``weight_passes``, ``activation_passes``.

    Elementwise over widths; ``passes_allowed``: True where ``wide_layers`` is 'passes'.
    A layer on the host runs in one pass on PEs of its own widths.
    """
    w_digits = weight_digits_needed(layer_wbits, array_wbits)
    a_digits = activation_digits_needed(layer_abits, array_abits)
    fits = (w_digits == 1) & (a_digits == 1)
    passes_allowed = np.asarray(passes_allowed, dtype=bool)
    on_host = ~fits & ~(passes_allowed & (w_digits > 0) & (a_digits > 0))
    return {"on_host": on_host,
            "weight_passes": np.where(on_host, 1, w_digits).astype(np.int64),
            "activation_passes": np.where(on_host, 1, a_digits).astype(np.int64)}


def check_wide_layers(value: str) -> str:
    if value not in WIDE_LAYERS:
        raise ValueError(f"wide_layers={value!r}: allowed values are host, passes")
    return value


# ----------------------------------------------------------------------------- digits

def weight_digits(w: np.ndarray, array_wbits: int, count: int) -> list[tuple[np.ndarray, int]]:
    """Signed weight codes as ``count`` digits the array's weight side takes: (codes, shift).

    w = sum(digit << shift); each digit keeps the weight's sign and array_wbits - 1 of its
    magnitude bits, so it lies within the array's code range."""
    if count == 1:
        return [(w, 0)]
    per_digit = array_wbits - 1
    sign, magnitude = np.sign(w), np.abs(w)
    mask = (1 << per_digit) - 1
    return [(sign * ((magnitude >> (i * per_digit)) & mask), i * per_digit)
            for i in range(count)]


def activation_digits(a: np.ndarray, array_abits: int,
                      count: int) -> list[tuple[np.ndarray, int]]:
    """Unsigned activation codes as ``count`` digits of array_abits bits: (codes, shift)."""
    if count == 1:
        return [(a, 0)]
    mask = (1 << array_abits) - 1
    return [((a >> (j * array_abits)) & mask, j * array_abits) for j in range(count)]
