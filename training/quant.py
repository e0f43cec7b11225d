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

Activations have two quantizers (``quantizer=`` of QReLU, ``--quantizer`` of training.train):
- ``wrpn``: the paper's fixed clip to [0, 1] (above).
- ``pact`` (Choi et al. 2018, "PACT: Parameterized Clipping Activation"): each QReLU learns its
  clipping level alpha; codes are round(clip(x, 0, alpha) * (2^k - 1) / alpha), unsigned k-bit,
  and the layer reading them sees code * alpha / (2^k - 1).  The gradient passes straight
  through inside [0, alpha) and goes to alpha where x >= alpha (PACT's dq/dalpha = 1 there).
  Why it exists: the fixed [0, 1] clip holds a CIFAR ResNet's residual stream at 1 while every
  block adds a unit-variance batch-norm output to it, so no block is close to the identity and
  the gradient grows with depth (measured at initialisation, ResNet-56 at width 0.25: gradient
  norm 2e6 at conv1 against 0.1 at the last block; fp32 activations: 1.0 and 0.3; the same with
  16-bit codes, so it is the clip, not the rounding).  ResNet-56 and deeper then never learn.
  The scale alpha / (2^k - 1) stays outside the array, as the accelerator's output scaling:
  the trace's .npz carries it as ``<layer>/a_scale``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from accelsim.formats import ACT_QUANTIZERS, FP32_BITS, check_bits

TWN_THRESHOLD = 0.7  # ternary weight networks: zero below 0.7 * mean|w|
# A trained network's quantizer when none is named.  Chosen by measurement (README, "Choosing the
# activation quantizer"): PACT trains every depth, the [0, 1] clip fails from ~44 layers on.
DEFAULT_ACT_QUANTIZER = "pact"
# PACT's initial clipping level.  Choi et al. start at 10; the measurements behind this choice
# are in README (a level that the unclipped ResNet-56's residual stream rarely exceeds at
# initialisation, small enough that 2-bit codes are not all zero).
PACT_ALPHA_INIT = 4.0
PACT_ALPHA_MIN = 1e-3  # alpha is kept above this, so the code step alpha / (2^k - 1) is > 0


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


class _PACT(torch.autograd.Function):
    """round(clip(x, 0, alpha) * n / alpha) * alpha / n, in fp32 at least (a bf16 input under
    autocast is widened: bf16 would round the code x step products); gradients as in PACT."""

    @staticmethod
    def forward(ctx, x, alpha, n: int):
        x = _at_least_fp32(x)
        alpha = alpha.to(x.dtype).clamp_min(PACT_ALPHA_MIN)
        above = x >= alpha
        ctx.save_for_backward(above, x > 0)
        return torch.minimum(x.clamp_min(0), alpha).mul_(n / alpha).round_().mul_(alpha / n)

    @staticmethod
    def backward(ctx, grad):
        above, positive = ctx.saved_tensors
        grad_x = grad * (positive & ~above)
        grad_alpha = (grad * above).sum().reshape(())
        return grad_x, grad_alpha, None


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def pact_activations_reference(x: torch.Tensor, alpha: torch.Tensor, bits: int) -> torch.Tensor:
    """PACT's function and gradients from plain tensor ops (a straight-through estimator by
    ``detach``): the oracle that _PACT, QReLU's memory-lean form, is tested against."""
    n = activation_levels(bits)
    x = _at_least_fp32(x)
    alpha = alpha.to(x.dtype).clamp_min(PACT_ALPHA_MIN)
    clipped = torch.minimum(F.relu(x), alpha)
    return clipped + (torch.round(clipped * (n / alpha)) * (alpha / n) - clipped).detach()


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


def check_quantizer(quantizer: str) -> str:
    if quantizer not in ACT_QUANTIZERS:
        raise ValueError(f"quantizer={quantizer!r}: choose one of {', '.join(ACT_QUANTIZERS)}")
    return quantizer


class QReLU(nn.Module):
    """ReLU followed by activation quantization to ``abits``, fused: ``pact`` (a learnable clip
    level ``alpha``) or ``wrpn`` (clip to [0, 1]).  At 32 bits it is a plain (unclipped) ReLU
    with no parameter, whatever the quantizer."""

    def __init__(self, abits: int = 32, quantizer: str = DEFAULT_ACT_QUANTIZER,
                 alpha_init: float | None = None):
        super().__init__()
        self.abits = check_bits(abits, "abits")
        self.quantizer = check_quantizer(quantizer)
        self.learns_clip = quantizer == "pact" and not is_float(abits)
        if self.learns_clip:
            start = PACT_ALPHA_INIT if alpha_init is None else alpha_init
            self.alpha = nn.Parameter(torch.tensor(float(start)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if is_float(self.abits):
            return F.relu(x)
        if self.learns_clip:
            return _PACT.apply(x, self.alpha, activation_levels(self.abits))
        return quantize_activations(x, self.abits)

    @torch.no_grad()
    def step(self) -> float:
        """The value of one activation code (its output is an integer times this)."""
        if is_float(self.abits):
            raise ValueError("a full-precision QReLU has no code step")
        top = float(self.alpha.clamp_min(PACT_ALPHA_MIN)) if self.learns_clip else 1.0
        return top / activation_levels(self.abits)

    def extra_repr(self) -> str:
        return f"abits={self.abits}, quantizer={self.quantizer}"


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
def layer_codes(module: QConv2d | QLinear, activation_step: float | None = None) -> LayerCodes:
    """The integer weight codes and scales of a quantized layer (both widths below 32).

    ``activation_step``: the code step of the layer's input (``QReLU.step()`` of the quantizer
    that produced it); by default WRPN's fixed 1 / (2^k - 1), as for an image in [0, 1]."""
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
    if activation_step is None:
        activation_step = 1.0 / activation_levels(module.abits)
    return LayerCodes(codes.to(torch.int64), w_scale, activation_step)


@torch.no_grad()
def activation_codes(a: torch.Tensor, abits: int, step: float | None = None) -> torch.Tensor:
    """Integer codes of an already quantized activation tensor (a = code x step; the default
    step is WRPN's 1 / (2^k - 1))."""
    step = 1.0 / activation_levels(abits) if step is None else step
    codes = torch.round(a.double() / step)
    if codes.min() < 0 or codes.max() > activation_levels(abits):
        raise ValueError(f"activation codes outside [0, {activation_levels(abits)}]: the tensor "
                         "was not quantized with this step")
    return codes.to(torch.int64)


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


# ----------------------------------------------------------------------------- any model

def convert(module: nn.Module, wbits: int, abits: int, *, full_precision_ends: bool = True,
            inplace: bool = False, quantizer: str = DEFAULT_ACT_QUANTIZER) -> nn.Module:
    """A copy of ``module`` (or the module itself, ``inplace``) made a WRPN network.

    Every nn.Conv2d / nn.Linear becomes a QConv2d / QLinear at ``wbits``/``abits`` (keeping
    its weights; our own quantized layers take the new widths), every nn.ReLU a QReLU(abits)
    with the activation ``quantizer``, and every nn.ReLU6 too below 32 bits (a quantized
    activation's clip, WRPN's [0, 1] or PACT's learned level, takes ReLU6's place).  With
    ``full_precision_ends`` the first and the last conv / linear layer, in the order the module
    registers them, stay fp32, as WRPN trains them.  ReLUs called as functions (F.relu) in a
    forward are not modules and stay as they are."""
    check_bits(wbits, "wbits")
    check_bits(abits, "abits")
    check_quantizer(quantizer)
    model = module if inplace else copy.deepcopy(module)
    gemms = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    ends = {id(gemms[0]), id(gemms[-1])} if full_precision_ends and gemms else set()
    swapped: dict[int, nn.Module] = {}  # a module used in two places stays one module

    def swap(m: nn.Module) -> nn.Module:
        if id(m) not in swapped:
            bits = (FP32_BITS, FP32_BITS) if id(m) in ends else (wbits, abits)
            swapped[id(m)] = _quantized(m, *bits, abits, quantizer)
        return swapped[id(m)]

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = swap(child)
            if new is not child:
                setattr(parent, name, new)
    return swap(model)


def _quantized(m: nn.Module, wbits: int, abits: int, relu_bits: int,
               quantizer: str) -> nn.Module:
    """The QConv2d / QLinear / QReLU standing in for m, or m itself."""
    if isinstance(m, (QConv2d, QLinear)):
        m.wbits, m.abits = wbits, abits
        return m
    if isinstance(m, nn.Conv2d):
        # built on the meta device (no initialisation), then given m's own parameters
        new = QConv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                      m.dilation, m.groups, m.bias is not None, m.padding_mode, device="meta",
                      wbits=wbits, abits=abits)
    elif isinstance(m, nn.Linear):
        new = QLinear(m.in_features, m.out_features, m.bias is not None, device="meta",
                      wbits=wbits, abits=abits)
    elif isinstance(m, QReLU) or type(m) is nn.ReLU or (
            type(m) is nn.ReLU6 and not is_float(relu_bits)):
        return QReLU(relu_bits, quantizer)
    else:
        return m
    new.weight, new.bias = m.weight, m.bias
    return new.train(m.training)
