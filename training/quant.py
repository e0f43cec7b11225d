"""WRPN quantizers and drop-in quantized layers (QConv2d, QLinear, QReLU).

WRPN (Mishra et al., ICLR 2018; Intel Distiller's WRPNQuantizer):
- activations are clipped to [0, 1] and rounded to k bits: round((2^k - 1) a) / (2^k - 1);
- weights are clipped to [-1, 1] and rounded to a sign and k-1 magnitude bits:
  round((2^(k-1) - 1) w) / (2^(k-1) - 1), so 2 bits is ternary {-1, 0, +1} (NOTES.md: not
  Distiller's post-2020 (2^k - 1)/2, which gives 5 levels at 2 bits); 1 bit is binary sign(w);
- gradients pass straight through the rounding and are zero where the clip is active;
- 32 bits means no quantization at all.

Where we depart from plain WRPN (the 2-bit initialisation problem, NOTES.md): PyTorch's default
initialisation puts almost every conv weight far inside (-0.5, 0.5), so plain WRPN rounds all of
them to 0 at 2 bits.  Our layers therefore quantize w / s, with a per-layer scale s recomputed
from the float weights at every step and held constant for the gradient:

    s = min(max|w|, 0.7 * 2^(k-1) * mean|w|)      (k >= 2)

At 2 bits a weight is non-zero when |w| >= s / 2 = 0.7 mean|w|: the threshold of ternary weight
networks (Li & Liu 2016), about 42% zeros for Gaussian weights.  Each extra bit doubles the
levels and the clip range, until s reaches max|w| (4 bits and up for typical layers), where
nothing is clipped.  At 1 bit the scale is XNOR-Net's mean|w|.  Every conv here is followed by
batch norm, which undoes any scale, so s only decides which weights round to zero or clip.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from accelsim.formats import FP32_BITS, check_bits

TWN_THRESHOLD = 0.7  # ternary weight networks: zero below 0.7 * mean|w|


def is_float(bits: int) -> bool:
    return bits >= FP32_BITS


def weight_levels(bits: int) -> int:
    """n in round(n * w) / n: the largest weight magnitude code (1 for 1 and 2 bits)."""
    return max(1, (1 << (bits - 1)) - 1)


def activation_levels(bits: int) -> int:
    """2^k - 1: the largest activation code."""
    return (1 << bits) - 1


class _RoundClip(torch.autograd.Function):
    """round(clamp(x, lo, hi) * n) / n with a straight-through gradient inside [lo, hi].

    One fused Function rather than clamp + round + STE arithmetic keeps the extra cost of fake
    quantization small (the issue's target: a quantized step within 1.25x of fp32)."""

    @staticmethod
    def forward(ctx, x, lo: float, hi: float, n: int):
        clipped = x.clamp(lo, hi)
        ctx.save_for_backward(clipped == x)  # inside the clip range (NaN-free inputs)
        return clipped.mul_(n).round_().div_(n)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None


class _Sign(torch.autograd.Function):
    """Binary weights {-1, +1} (sign, with 0 -> +1); straight through inside [-1, 1]."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.abs() <= 1)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


def quantize_activations(a: torch.Tensor, bits: int) -> torch.Tensor:
    """WRPN activations: clip to [0, 1], round to k bits; identity at 32 bits."""
    if is_float(bits):
        return a
    return _RoundClip.apply(a, 0.0, 1.0, activation_levels(bits))


def quantize_weights(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Plain WRPN weights: clip to [-1, 1], sign + (k-1) magnitude bits; identity at 32 bits."""
    if is_float(bits):
        return w
    if bits == 1:
        return _Sign.apply(w)
    return _RoundClip.apply(w, -1.0, 1.0, weight_levels(bits))


@torch.no_grad()
def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """The per-layer scale s of the module docstring (a 0-d tensor, no gradient)."""
    mean_abs = w.abs().mean().clamp_min(1e-12)
    if bits == 1:
        return mean_abs
    return torch.minimum(w.abs().max(), TWN_THRESHOLD * (1 << (bits - 1)) * mean_abs)


def quantize_weights_scaled(w: torch.Tensor, bits: int) -> torch.Tensor:
    """s * WRPN(w / s): what QConv2d / QLinear use (the 2-bit initialisation fix)."""
    if is_float(bits):
        return w
    s = weight_scale(w, bits)
    return quantize_weights(w / s, bits) * s


class QConv2d(nn.Conv2d):
    """nn.Conv2d whose weights are WRPN-quantized to ``wbits``; its input is expected to come
    from a QReLU (or the image) at ``abits``, which is what the integer export assumes."""

    def __init__(self, *args, wbits: int = 32, abits: int = 32, **kwargs):
        super().__init__(*args, **kwargs)
        self.wbits, self.abits = check_bits(wbits, "wbits"), check_bits(abits, "abits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, quantize_weights_scaled(self.weight, self.wbits), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", wbits={self.wbits}, abits={self.abits}"


class QLinear(nn.Linear):
    """nn.Linear with WRPN-quantized weights (see QConv2d)."""

    def __init__(self, *args, wbits: int = 32, abits: int = 32, **kwargs):
        super().__init__(*args, **kwargs)
        self.wbits, self.abits = check_bits(wbits, "wbits"), check_bits(abits, "abits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, quantize_weights_scaled(self.weight, self.wbits), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", wbits={self.wbits}, abits={self.abits}"


class QReLU(nn.Module):
    """ReLU followed by WRPN activation quantization, fused: clamp(x, 0, 1) then round.

    At 32 bits it is a plain (unclipped) ReLU."""

    def __init__(self, abits: int = 32):
        super().__init__()
        self.abits = check_bits(abits, "abits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x) if is_float(self.abits) else quantize_activations(x, self.abits)

    def extra_repr(self) -> str:
        return f"abits={self.abits}"


# ----------------------------------------------------------------------------- integer codes

@dataclass(frozen=True)
class LayerCodes:
    """A quantized layer as integers: output = scale * (activation codes @ weight codes) + bias.

    weight: signed codes in PyTorch's layout ((N, C, R, S) or (N, C)); weight_scale and
    activation_scale turn codes into the values the float layer uses."""

    weight: torch.Tensor
    weight_scale: float
    activation_scale: float

    @property
    def scale(self) -> float:
        return self.weight_scale * self.activation_scale


@torch.no_grad()
def layer_codes(module: QConv2d | QLinear) -> LayerCodes:
    """The integer weight codes and scales of a quantized layer (both widths below 32)."""
    if is_float(module.wbits) or is_float(module.abits):
        raise ValueError(f"layer with wbits={module.wbits}, abits={module.abits} is full "
                         "precision: it has no integer codes")
    w = module.weight.detach()
    s = weight_scale(w, module.wbits)
    if module.wbits == 1:
        codes = torch.where(w >= 0, 1, -1)
        w_scale = float(s)
    else:
        n = weight_levels(module.wbits)
        codes = torch.round((w / s).clamp(-1, 1) * n)
        w_scale = float(s) / n
    return LayerCodes(codes.to(torch.int64), w_scale, 1.0 / activation_levels(module.abits))


@torch.no_grad()
def activation_codes(a: torch.Tensor, abits: int) -> torch.Tensor:
    """Integer codes of an already quantized activation tensor (exact: a = code / (2^k - 1))."""
    levels = activation_levels(abits)
    return torch.round(a * levels).to(torch.int64)


@torch.no_grad()
def zero_weight_fraction(model: nn.Module) -> float:
    """Fraction of quantized-layer weights whose code is 0 (what the ternary PE gates off)."""
    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (QConv2d, QLinear)) and not is_float(module.wbits):
            codes = quantize_weights_scaled(module.weight, module.wbits)
            zeros += int((codes == 0).sum())
            total += codes.numel()
    return zeros / total if total else 0.0
