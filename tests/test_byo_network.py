"""Bring your own network: torch.fx tracing, WRPN conversion, training and the trace command."""
import csv
import textwrap
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from accelsim import ArrayConfig, simulate_network
from accelsim.workload import Workload, builtin, read_workload, resnet_cifar
from training import models
from training.fx_trace import TraceError, from_module, macs
from training.quant import QConv2d, QLinear, QReLU, convert
from training.trace import main as trace_main
from training.train import main as train_main

torch.set_num_threads(1)


def array_rows(workload):
    return [layer for layer in workload.layers if layer.on_array]


# ----------------------------------------------------------------------------- from_module

# Multiply-accumulates torchvision documents for these architectures at 224x224 (its "GFLOPS"
# column counts MACs: conv, linear and attention matmuls), from the model pages
# https://pytorch.org/vision/stable/models/generated/torchvision.models.<name>.html
# (IMAGENET1K_V1 weights; also the table in https://pytorch.org/vision/stable/models.html).
TORCHVISION_GMACS = {"resnet18": 1.81, "resnet50": 4.09, "mobilenet_v2": 0.30, "vit_b_16": 17.56}


@pytest.mark.parametrize("name", list(TORCHVISION_GMACS))
def test_reference_models_trace_to_torchvisions_macs(name):
    with torch.device("meta"):  # shapes only: tracing ViT-B/16 takes a fraction of a second
        model = models.build(name)
    workload = from_module(model, torch.zeros(1, 3, 224, 224, device="meta"))
    assert macs(workload) / 1e9 == pytest.approx(TORCHVISION_GMACS[name], rel=0.02)
    ops = {layer.op for layer in array_rows(workload)}
    if name == "vit_b_16":
        qk = next(layer for layer in workload.layers if layer.op == "matmul")
        assert (qk.batch, qk.gemm()) == (12, (197, 197, 64))     # QK^T of the 12 heads
        assert ops == {"conv", "linear", "matmul"}
    if name == "mobilenet_v2":
        assert max(layer.groups for layer in workload.layers) == 960  # depthwise convs
    assert {layer.op for layer in workload.layers if not layer.on_array} >= {"norm", "act"}


@pytest.mark.parametrize("depth,wbits,abits,ends", [(20, 2, 8, True), (32, 4, 4, False)])
def test_cifar_resnets_give_the_builders_rows(depth, wbits, abits, ends):
    model = models.build(f"resnet{depth}", wbits=wbits, abits=abits, full_precision_ends=ends)
    traced = from_module(model, torch.zeros(1, 3, 32, 32))
    reference = resnet_cifar(depth, wbits=wbits, abits=abits, full_precision_ends=ends)
    assert array_rows(traced) == list(reference.layers)
    names = [layer.name for layer in traced.layers]
    # the global pool, and the quantization of the pooled features when the FC is quantized
    assert names[-3:] == (["stage3.block3.relu2", "reduce", "fc"] if ends else
                          ["reduce", "pool_quant", "fc"])
    assert simulate_network(traced, ArrayConfig(8, 8), engine="analytic")["cycles"].sum() == \
        simulate_network(reference, ArrayConfig(8, 8), engine="analytic")["cycles"].sum()


def test_onnx_export_gives_the_pytorch_rows(tmp_path):
    """The same network through torch.onnx and accelsim's importer (no torch there)."""
    from accelsim.onnx_import import read_onnx
    for name, kwargs in (("resnet20", {}), ("vit_b_16", dict(width=0.25, image_size=32))):
        model = models.build(name, **kwargs).eval()
        x = torch.zeros(2, 3, 32, 32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), tmp_path / f"{name}.onnx", dynamo=False)
        assert array_rows(read_onnx(tmp_path / f"{name}.onnx")) == array_rows(from_module(model, x))
    assert array_rows(read_onnx(tmp_path / "resnet20.onnx")) == list(
        builtin("resnet20", wbits=32, abits=32).layers)


class Attention(nn.Module):
    """nn.MultiheadAttention and F.scaled_dot_product_attention, as users write them."""

    def __init__(self, dim=16, heads=4):
        super().__init__()
        self.heads = heads
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x):
        x = x + self.mha(x, x, x, need_weights=False)[0]
        q, k, v = self.qkv(x).reshape(x.shape[0], -1, 3, self.heads, 4).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v).sum()


def test_attention_modules_and_sdpa_expand_to_their_gemms():
    rows = from_module(Attention(), torch.zeros(2, 10, 16)).layers
    named = {layer.name: layer for layer in rows}
    assert named["mha.in_proj"].gemm() == (10, 48, 16)
    assert named["mha.matmul"].batch == 4 and named["mha.matmul"].gemm() == (10, 10, 4)
    assert named["mha.matmul_1"].gemm() == (10, 4, 10) and named["mha.out_proj"].op == "linear"
    assert named["attention.matmul"].batch == 4 and "attention.softmax" in named
    total = (10 * 48 * 16 + 2 * 4 * 10 * 10 * 4 + 10 * 16 * 16) + 10 * 48 * 16 + 2 * 4 * 400
    assert macs(Workload("w", rows)) == total


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Conv2d(3, 4, 3), Gate())

    def forward(self, x):
        return self.inner(x)


class Gate(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x  # data-dependent control flow: fx cannot trace it


def test_untraceable_modules_and_missing_inputs_are_one_line_errors():
    with pytest.raises(TraceError, match=r"cannot trace module 'inner.1' \(Gate\)") as err:
        from_module(Branchy(), torch.zeros(1, 3, 8, 8))
    assert "\n" not in str(err.value)
    with pytest.raises(TraceError, match="example input"):
        from_module(Branchy(), None)
    with pytest.raises(TraceError, match="ConvTranspose2d has no trace form"):
        from_module(nn.Sequential(nn.ConvTranspose2d(3, 3, 2)), torch.zeros(1, 3, 4, 4))
    misfit = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(TraceError, match=r"failed at .* in module '2': a and b must") as err:
        from_module(misfit, torch.zeros(1, 3, 8, 8))
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- convert

def test_convert_swaps_layers_and_keeps_the_function():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU6(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval()
    x = torch.rand(2, 3, 6, 6)
    same = convert(net, 32, 32)
    assert torch.equal(same(x), net(x)) and same is not net
    low = convert(net, 2, 8)
    kinds = [type(m) for m in low]
    assert kinds[:5] == [QConv2d, nn.BatchNorm2d, QReLU, QConv2d, QReLU]
    assert isinstance(low[7], QLinear) and (low[0].wbits, low[7].wbits, low[3].wbits) == (32, 32, 2)
    assert low[3].groups == 8 and torch.equal(low[3].weight, net[3].weight)
    assert convert(net, 2, 8, full_precision_ends=False)[0].wbits == 2
    assert isinstance(net[0], nn.Conv2d) and type(net[0]) is nn.Conv2d  # the original untouched


# ----------------------------------------------------------------------------- commands

USER_NET = textwrap.dedent('''
    import torch.nn as nn

    def build(in_channels=3, num_classes=10):
        return nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(8),
            nn.ReLU(), nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes))

    def not_a_module():
        return 3
''')


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    (tmp_path / "my_nets.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_nets:build"


def test_trace_command(tmp_path, user_package, capsys):
    out = tmp_path / "net.csv"
    assert trace_main(["--module", user_package, "--input", "1,3,16,16", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    net = read_workload(out)
    assert [layer.name for layer in array_rows(net)] == ["0", "3", "6", "11"]
    assert net.layers[3].groups == 8 and net.layers[3].gemm() == (64, 1, 9)
    assert any(layer.op == "pool" for layer in net.layers)
    assert trace_main(["--model", "vit_b_16", "--input", "1,3,224,224", "--no-host",
                       "--out", str(tmp_path / "vit.csv")]) == 0
    assert macs(read_workload(tmp_path / "vit.csv")) == pytest.approx(17.56e9, rel=0.02)


@pytest.mark.parametrize("argv, message", [
    (["--module", "no_such_pkg.nets:build"], "cannot import 'no_such_pkg.nets'"),
    (["--module", "my_nets:missing"], "has no 'missing'"),
    (["--module", "my_nets:not_a_module"], "not an nn.Module"),
    (["--module", "my_nets"], "expected package.module:callable"),
])
def test_trace_command_bad_input(tmp_path, user_package, capsys, argv, message):
    code = trace_main(argv + ["--input", "1,3,16,16", "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_trace_command_needs_an_input_shape(tmp_path, user_package, capsys):
    assert trace_main(["--module", user_package, "--out", str(tmp_path / "x.csv")]) == 2
    assert "--input is required" in capsys.readouterr().err
    assert trace_main(["--module", user_package, "--input", "1,3,a", "--out",
                       str(tmp_path / "x.csv")]) == 2


FAST = ["--dataset", "synthetic", "--threads", "1", "--epochs", "1", "--subset", "128"]


def test_train_a_users_module_with_wrpn_and_apprentice(tmp_path, user_package, capsys):
    fp = tmp_path / "fp"
    assert train_main(FAST + ["--module", user_package, "--out", str(fp)]) == 0
    low = tmp_path / "low"
    assert train_main(FAST + ["--module", user_package, "--wbits", "2", "--abits", "8",
                              "--scheme", "C", "--teacher", str(fp / "model.pt"),
                              "--init", str(fp / "model.pt"), "--out", str(low)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "accuracy.csv")))
    assert [r["model"] for r in rows] == [user_package] * 2 and rows[1]["scheme"] == "C"
    assert rows[1]["teacher"] == user_package
    net = read_workload(low / "trace.csv")
    assert net.operands_path == str(low / "trace.npz")
    codes = np.load(low / "trace.npz")
    assert codes["3/w"].shape == (8, 9, 1) and codes["3/a"].shape == (8, 36, 9)  # 8 groups
    assert set(np.unique(codes["6/w"])) <= {-1, 0, 1} and "0/w" not in codes  # fp32 first
    frame = simulate_network(low / "trace.csv", ArrayConfig(4, 4, wbits=2, abits=8))
    gemm_rows = frame[frame["gemms"] > 0]
    assert list(gemm_rows["operands"]) == ["random", "npz", "npz", "random"]
    # the fp32 first conv and FC are wider than the 2b x 8b PE: they run on the host unit
    assert list(gemm_rows["runs_on"]) == ["host", "array", "array", "host"]


def test_train_module_errors(tmp_path, user_package, capsys):
    for argv, message in ((["--module", "no_such_pkg:build"], "cannot import"),
                          (["--module", user_package, "--widen", "first30"], "--widen")):
        code = train_main(FAST + argv + ["--out", str(tmp_path / "x")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
