"""Models: parameter counts, widening, the trace as accelsim reads it, checkpoints."""
import json

import numpy as np
import pytest
import torch

from accelsim.workload import load_operands, read_workload, resnet_cifar
from training import models
from training.quant import QConv2d, QLinear
from training.trace import export, trace

torch.set_num_threads(1)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name,reference", [
    ("alexnet", 61_100_840),              # torchvision.models.alexnet()
    ("resnet50", 25_557_032),             # torchvision.models.resnet50()
    ("resnet101", 44_549_160),            # torchvision.models.resnet101()
    ("inception_resnet_v2", 55_873_736),  # keras.applications.InceptionResNetV2() total
])
def test_imagenet_parameter_counts_match_references(name, reference):
    assert abs(n_params(models.build(name)) - reference) / reference < 0.005


@pytest.mark.parametrize("name,reference", [
    # torchvision's documented num_params (pytorch.org/vision/stable/models/generated/
    # torchvision.models.{resnet18,mobilenet_v2,vit_b_16}.html, IMAGENET1K_V1 weights)
    ("resnet18", 11_689_512), ("mobilenet_v2", 3_504_872), ("vit_b_16", 86_567_656)])
def test_reference_models_have_torchvisions_parameter_counts(name, reference):
    with torch.device("meta"):  # architecture only: nothing to initialise
        assert n_params(models.build(name)) == reference


def test_reference_models_run_and_quantize():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    for name, size in (("resnet18", 32), ("mobilenet_v2", 32), ("vit_b_16", 32)):
        model = models.build(name, width=0.25, image_size=size,
                             num_classes=7, wbits=2, abits=8).eval()
        assert model(x).shape == (2, 7), name
        gemms = [m.wbits for m in model.modules() if isinstance(m, (QConv2d, QLinear))]
        assert gemms[0] == gemms[-1] == 32 and set(gemms[1:-1]) == {2}, name  # WRPN's fp32 ends


@pytest.mark.parametrize("name,reference", [("resnet20", 0.27e6), ("resnet56", 0.85e6),
                                            ("resnet110", 1.7e6)])
def test_cifar_resnet_parameter_counts_match_he_et_al(name, reference):
    # He et al. 2015, Table 6 (two significant figures).
    assert abs(n_params(models.build(name)) - reference) / reference < 0.02


def conv_filters(model):
    return {n: m.out_channels for n, m in model.named_modules()
            if isinstance(m, torch.nn.Conv2d)}


def test_widening_ratios():
    base = conv_filters(models.build("resnet20"))
    first30 = conv_filters(models.build("resnet20", widen="first30"))
    wide = conv_filters(models.build("resnet20", widen="all"))
    assert wide == conv_filters(models.build("resnet20", width=2))
    for name, n in base.items():
        assert wide[name] == 2 * n
        doubled = name == "conv1" or name.startswith("stage1.")
        assert first30[name] == (2 * n if doubled else n), name
    # The first third of the 3x3 layers: conv1 + 6 of the 18 residual convs.
    assert sum(first30[n] != base[n] for n in base) == 7
    # Stage 2's first conv reads the doubled channels.
    assert models.build("resnet20", widen="first30").stage2.block1.conv1.in_channels == 32


@pytest.mark.parametrize("depth,width,widen,channels,size,wbits,abits,ends", [
    (20, 1, "none", 1, 28, 2, 8, True), (20, 1, "first30", 3, 32, 4, 4, True),
    (32, 1.5, "all", 1, 28, 2, 8, False), (20, 2, "none", 3, 32, 32, 8, True)])
def test_trace_equals_accelsims_reading(tmp_path, depth, width, widen, channels, size, wbits,
                                        abits, ends):
    model = models.build(f"resnet{depth}", width, widen, channels, 10, size, wbits, abits, ends)
    image = torch.rand(channels, size, size)
    result = export(model, image, tmp_path / "trace.csv")
    reference = resnet_cifar(depth, width, widen, channels, 10, size, wbits, abits, ends)
    read = read_workload(tmp_path / "trace.csv")
    assert read.layers == reference.layers == result.workload.layers
    assert read.operands_path == str(tmp_path / "trace.npz")
    for layer in read.layers:
        operands = load_operands(read, layer)
        if layer.wbits == 32 or layer.abits == 32:
            assert operands is None
            continue
        a, w = operands
        m, n, k = layer.gemm()
        assert a.shape == (m, k) and w.shape == (k, n)
        assert a.min() >= 0 and a.max() <= 2 ** abits - 1
        bound = 1 if wbits <= 2 else 2 ** (wbits - 1) - 1
        assert np.abs(w).max() <= bound


def test_trace_names_follow_accelsim():
    names = [layer.name for layer in trace(models.build("resnet20"), torch.rand(3, 32, 32))
             .workload.layers]
    assert names[:3] == ["conv1", "stage1.block1.conv1", "stage1.block1.conv2"]
    assert names[-2:] == ["stage3.block3.conv2", "fc"]


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = models.build("resnet20", widen="first30", in_channels=1, image_size=28, wbits=2,
                         abits=4)
    model(torch.rand(4, 1, 28, 28))  # move the BN running statistics off their defaults
    models.save(model, tmp_path / "model.pt", {"test_err": 12.5})
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["model"]["widen"] == "first30" and meta["test_err"] == 12.5
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state.keys() == model.state_dict().keys()
    loaded = models.load(tmp_path / "model.pt").eval()
    x = torch.rand(2, 1, 28, 28)
    assert loaded.config == model.config
    assert torch.equal(loaded(x), model.eval()(x))


def test_bad_model_options():
    with pytest.raises(ValueError, match="model="):
        models.build("resnet21")
    with pytest.raises(ValueError, match="widen"):
        models.build("resnet50", widen="first30")
    with pytest.raises(ValueError, match="wbits"):
        models.build("resnet20", wbits=0)


def test_per_layer_widths_build_trace_and_reload(tmp_path):
    """A mixed-precision ResNet-20: each conv at its own widths, each ReLU quantizing at the
    width of the layer that reads it, the trace carrying them, a checkpoint rebuilding them."""
    import numpy as np

    from accelsim.workload import read_workload
    from training.trace import export

    policy = {"stage1.block1.conv1": (4, 4), "stage1.block1.conv2": (1, 2),
              "stage3.block3.conv2": (8, 8)}
    model = models.build("resnet20", 0.25, in_channels=1, num_classes=4, image_size=12,
                         wbits=2, abits=8, layer_bits=policy)
    assert model.relu1.abits == 4                       # read by stage1.block1.conv1
    assert model.stage1.block1.relu1.abits == 2         # read by its conv2
    assert model.stage1.block1.conv2.wbits == 1
    assert model.stage3.block2.relu2.abits == 8 and model.stage3.block3.relu1.abits == 8
    assert model.conv1.wbits == 32 and model.fc.abits == 32   # fp32 ends kept
    export(model, torch.rand(1, 12, 12), tmp_path / "t.csv")
    layers = {layer.name: layer for layer in read_workload(tmp_path / "t.csv").layers}
    for name, (w, a) in policy.items():
        assert (layers[name].wbits, layers[name].abits) == (w, a)
    assert (layers["stage2.block1.conv1"].wbits, layers["stage2.block1.conv1"].abits) == (2, 8)
    npz = np.load(tmp_path / "t.npz")
    assert npz["stage1.block1.conv2/a"].max() <= 3            # 2-bit codes
    assert set(np.unique(npz["stage1.block1.conv2/w"])) <= {-1, 1}   # binary weights
    models.save(model, tmp_path / "m.pt")
    again = models.load(tmp_path / "m.pt")
    assert again.config == model.config and again.stage1.block1.conv2.wbits == 1
    with pytest.raises(ValueError, match="no layer 'stage4.block1.conv1'"):
        models.build("resnet20", layer_bits={"stage4.block1.conv1": (2, 8)})
    with pytest.raises(ValueError, match="CIFAR ResNets"):
        models.build("alexnet", layer_bits={"conv1": (2, 8)})
