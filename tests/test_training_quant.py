"""WRPN quantizers: exact levels, straight-through gradients, integer codes vs accelsim."""
import numpy as np
import pytest
import torch

from training.quant import (QConv2d, QLinear, QReLU, layer_codes, pact_activations_reference,
                            quantize_activations, quantize_weights, quantize_weights_scaled,
                            weight_scale, zero_weight_fraction)

torch.set_num_threads(1)


@pytest.mark.parametrize("bits", range(1, 9))
def test_activation_levels_are_exact(bits):
    levels = 2 ** bits - 1
    a = torch.linspace(-0.5, 1.5, 4001)
    q = quantize_activations(a, bits)
    expected = torch.arange(levels + 1, dtype=torch.float32) / levels
    assert torch.equal(torch.unique(q), expected)
    # Each value goes to its nearest level (clipped to [0, 1]).
    assert torch.allclose(q, torch.round(a.clamp(0, 1) * levels) / levels)


@pytest.mark.parametrize("bits", range(1, 9))
def test_weight_levels_are_exact(bits):
    w = torch.linspace(-1.5, 1.5, 4001)
    q = quantize_weights(w, bits)
    if bits == 1:
        expected = torch.tensor([-1.0, 1.0])
    else:
        n = 2 ** (bits - 1) - 1  # sign + (k-1) magnitude bits: 2 bits is ternary
        expected = torch.arange(-n, n + 1, dtype=torch.float32) / n
    assert torch.equal(torch.unique(q), expected)
    assert len(expected) == (2 if bits == 1 else 2 ** bits - 1)


def test_32_bits_is_identity():
    x = torch.randn(100)
    assert quantize_activations(x, 32) is x and quantize_weights(x, 32) is x
    assert torch.equal(QReLU(32)(x), torch.relu(x))


def test_straight_through_gradients():
    a = torch.tensor([-0.3, 0.2, 0.49, 0.8, 1.2], requires_grad=True)
    quantize_activations(a, 2).backward(torch.arange(1.0, 6.0))
    assert torch.equal(a.grad, torch.tensor([0.0, 2.0, 3.0, 4.0, 0.0]))
    w = torch.tensor([-1.5, -0.4, 0.1, 0.7, 1.1], requires_grad=True)
    quantize_weights(w, 2).backward(torch.ones(5))
    assert torch.equal(w.grad, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))
    w1 = torch.tensor([-2.0, -0.5, 0.5], requires_grad=True)
    quantize_weights(w1, 1).backward(torch.ones(3))
    assert torch.equal(w1.grad, torch.tensor([0.0, 1.0, 1.0]))


def test_scaled_weights_fix_the_two_bit_zero_problem():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(64, 64, 3)  # PyTorch's default init: |w| < 1/sqrt(576)
    assert (quantize_weights(conv.weight, 2) == 0).all()  # plain WRPN: every weight is 0
    q = quantize_weights_scaled(conv.weight, 2)
    s = weight_scale(conv.weight, 2)
    nonzero = q != 0
    # TWN's threshold: non-zero exactly when |w| >= 0.7 mean|w|.
    assert torch.equal(nonzero, conv.weight.abs() >= 0.7 * conv.weight.abs().mean())
    assert set(torch.unique(q / s).tolist()) == {-1.0, 0.0, 1.0}
    # Uniform init: P(|w| < 0.35 max) = 0.35.
    assert 0.3 < 1 - nonzero.float().mean() < 0.4


def test_scale_reaches_max_at_high_bits():
    w = torch.randn(1000)
    assert torch.equal(weight_scale(w, 8), w.abs().max())
    assert torch.equal(quantize_weights_scaled(w, 32), w)


def test_zero_weight_fraction_counts_quantized_layers_only():
    model = torch.nn.Sequential(QConv2d(4, 4, 1, wbits=2, abits=8), QLinear(4, 4))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, 0.1, -1.0, 0.05]).repeat(4, 1)[:, :, None, None])
    # mean|w| = 0.5375, threshold 0.376: the 0.1 and 0.05 weights are zero.
    assert zero_weight_fraction(model) == 0.5


@pytest.mark.parametrize("wbits,abits,dataflow", [(2, 8, "os"), (4, 4, "ws"), (1, 2, "is"),
                                                   (8, 8, "os")])
def test_conv_output_is_scale_times_accelsim_gemm(wbits, abits, dataflow):
    from accelsim import ArrayConfig, simulate_gemm
    from accelsim.workload import Layer, im2col, weights_to_gemm

    torch.manual_seed(wbits)
    conv = QConv2d(3, 5, 3, 2, 1, bias=False, wbits=wbits, abits=abits).double()
    x = quantize_activations(torch.rand(1, 3, 7, 7, dtype=torch.float64), abits)
    y = conv(x)[0].detach()                          # (N, OH, OW)
    codes = layer_codes(conv)
    layer = Layer("l", 7, 7, 3, 3, 3, 5, 2, 1, wbits, abits)
    a = im2col(torch.round(x[0] * (2 ** abits - 1)).long().permute(1, 2, 0).numpy(), layer)
    w = weights_to_gemm(codes.weight.numpy())
    res = simulate_gemm(a, w, ArrayConfig(4, 4, wbits, abits, dataflow))
    gemm = y.permute(1, 2, 0).reshape(-1, 5).numpy() / codes.scale
    assert np.array_equal(np.round(gemm).astype(np.int64), res.output)  # bit for bit
    assert np.abs(gemm - res.output).max() < 1e-6
    assert np.array_equal(res.output, a.astype(np.int64) @ w)
    # The float32 layer as trained rounds to the same integers.
    y32 = conv.float()(x.float())[0].detach().permute(1, 2, 0).reshape(-1, 5).numpy()
    assert np.array_equal(np.round(y32 / codes.scale).astype(np.int64), res.output)


def test_linear_output_is_scale_times_accelsim_gemm_plus_bias():
    from accelsim import ArrayConfig, simulate_gemm

    torch.manual_seed(1)
    fc = QLinear(12, 3, wbits=2, abits=8).double()
    x = quantize_activations(torch.rand(4, 12, dtype=torch.float64), 8)
    codes = layer_codes(fc)
    a = torch.round(x * 255).long().numpy()
    res = simulate_gemm(a, codes.weight.numpy().T, ArrayConfig(2, 2, 2, 8, "os"))
    gemm = ((fc(x) - fc.bias) / codes.scale).detach().numpy()
    assert np.array_equal(np.round(gemm).astype(np.int64), res.output)
    assert np.abs(gemm - res.output).max() < 1e-6


def test_full_precision_layer_has_no_codes():
    with pytest.raises(ValueError, match="full precision"):
        layer_codes(QConv2d(2, 2, 1, wbits=32, abits=8))


# ----------------------------------------------------------------------------- PACT

@pytest.mark.parametrize("bits", [2, 4, 8])
def test_pact_levels_are_exact_steps_of_alpha(bits):
    relu = QReLU(bits, "pact", alpha_init=2.5)
    x = torch.linspace(-1, 4, 5001)
    q = relu(x).detach()
    n = 2 ** bits - 1
    assert relu.step() == pytest.approx(2.5 / n)
    codes = torch.round(q / relu.step())
    assert torch.allclose(q, codes * relu.step(), atol=1e-6)   # every output is code x step
    assert torch.equal(torch.unique(codes), torch.arange(n + 1, dtype=torch.float32))
    # Each value goes to its nearest level of [0, alpha].
    assert torch.allclose(q, torch.round(x.clamp(0, 2.5) * n / 2.5) * 2.5 / n, atol=1e-6)


def test_pact_gradients_match_the_plain_tensor_reference():
    torch.manual_seed(0)
    x0 = torch.randn(4000) * 3   # no value exactly at alpha (no tie)
    grad_out = torch.randn(4000)
    results = []
    for use_reference in (False, True):
        relu = QReLU(4, "pact", alpha_init=2.0)
        x = x0.clone().requires_grad_()
        y = pact_activations_reference(x, relu.alpha, 4) if use_reference else relu(x)
        y.backward(grad_out)
        results.append((y.detach(), x.grad, relu.alpha.grad))
    (y1, gx1, ga1), (y2, gx2, ga2) = results
    assert torch.equal(y1, y2)
    assert torch.equal(gx1, gx2)
    assert torch.allclose(ga1, ga2)
    # PACT's rule: straight through inside [0, alpha), to alpha above it, nothing below 0.
    assert torch.equal(gx1, grad_out * ((x0 > 0) & (x0 < 2.0)))
    assert float(ga1) == pytest.approx(float(grad_out[x0 >= 2.0].sum()), rel=1e-5)


def test_pact_is_fp32_under_bf16_autocast():
    relu = QReLU(8, "pact", alpha_init=3.0)
    x = torch.rand(64) * 4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = relu(x.bfloat16())
    assert y.dtype == torch.float32
    codes = y / relu.step()
    assert torch.allclose(codes, torch.round(codes), atol=1e-4)


def test_wrpn_and_full_precision_relus_have_no_parameter():
    assert not list(QReLU(8, "wrpn").parameters())
    assert not list(QReLU(32, "pact").parameters())
    assert len(list(QReLU(8, "pact").parameters())) == 1
    with pytest.raises(ValueError, match="quantizer='lsq'"):
        QReLU(8, "lsq")


@pytest.mark.parametrize("quantizer,abits", [("pact", 8), ("pact", 2), ("wrpn", 4)])
def test_traced_codes_times_their_scales_give_the_layer_output(quantizer, abits, tmp_path):
    """The trace's codes through accelsim's array, times the .npz scales, equal the float layer."""
    from accelsim import ArrayConfig, simulate_gemm
    from training import models
    from training.trace import export

    torch.manual_seed(3)
    model = models.build("resnet20", 0.25, in_channels=1, num_classes=4, image_size=12, wbits=2,
                         abits=abits, quantizer=quantizer).double().eval()
    if quantizer == "pact":  # distinct clip levels per layer, as after training
        for k, m in enumerate(m for m in model.modules() if isinstance(m, QReLU)
                              and m.learns_clip):
            m.alpha.data.fill_(1.5 + 0.25 * k)
    outputs = {}
    conv = model.stage2.block1.conv2
    conv.register_forward_hook(lambda m, i, o: outputs.update(y=o[0].detach()))
    image = torch.rand(1, 12, 12, dtype=torch.float64)
    export(model, image, tmp_path / "t.csv")
    npz = np.load(tmp_path / "t.npz")
    key = "stage2.block1.conv2"
    a, w = npz[f"{key}/a"].astype(np.int64), npz[f"{key}/w"].astype(np.int64)
    scale = float(npz[f"{key}/w_scale"]) * float(npz[f"{key}/a_scale"])
    if quantizer == "pact":
        assert float(npz[f"{key}/a_scale"]) == pytest.approx(
            float(model.stage2.block1.relu1.alpha.detach()) / (2 ** abits - 1))
    res = simulate_gemm(a, w, ArrayConfig(4, 4, 2, abits, "os"))
    y = outputs["y"].permute(1, 2, 0).reshape(-1, w.shape[1]).numpy()
    assert np.array_equal(np.round(y / scale).astype(np.int64), res.output)   # bit for bit
    assert np.abs(y / scale - res.output).max() < 1e-6


def test_trace_refuses_a_quantized_layer_with_unknown_input_codes():
    from training.trace import trace
    model = torch.nn.Sequential(QConv2d(1, 2, 3, wbits=2, abits=8))
    with pytest.raises(ValueError, match="comes from no QReLU"):
        trace(model, torch.rand(1, 5, 5))
