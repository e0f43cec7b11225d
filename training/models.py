"""The networks: CIFAR ResNets (WRPN's students and the ResNet-110 teacher) and the ImageNet
networks of the paper's Figure 1 (AlexNet, ResNet-50/101, Inception-ResNet-v2).

Every conv / linear is a QConv2d / QLinear and every ReLU a QReLU, so one ``wbits``/``abits``
pair turns any of them into a WRPN network; 32 bits (the default) is the plain float network.
The ImageNet networks copy the reference implementations layer for layer (torchvision's
AlexNet and ResNet v1.5, Keras's InceptionResNetV2) so their parameter counts match; they are
written here because torchvision's install pulls a CUDA-sized torch.

Inputs are images in [0, 1] (no mean/std normalisation: the batch norm after the first conv
absorbs it).  When the first conv is quantized its input is quantized to ``abits`` too (a fixed
[0, 1] clip, which for 8-bit pixels is exact), and so is the pooled input of a quantized last FC,
so every quantized layer reads integer activation codes, each from one QReLU.
"""
from __future__ import annotations

import io
import json
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from accelsim.formats import FP32_BITS, check_bits
from accelsim.workload import RESNET_DEPTHS, WIDEN_CHOICES, stage_filters, write_atomic

from .quant import DEFAULT_ACT_QUANTIZER, QConv2d, QLinear, QReLU, check_quantizer

CIFAR_RESNETS = RESNET_DEPTHS
IMAGENET_MODELS = ("alexnet", "resnet50", "resnet101", "inception_resnet_v2", "resnet18",
                   "mobilenet_v2", "vit_b_16")
MODEL_NAMES = tuple(CIFAR_RESNETS) + IMAGENET_MODELS
DEFAULT_IMAGE_SIZE = {"alexnet": 224, "resnet50": 224, "resnet101": 224,
                      "inception_resnet_v2": 299, "resnet18": 224, "mobilenet_v2": 224,
                      "vit_b_16": 224}


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved as JSON beside each checkpoint."""

    name: str = "resnet20"
    width: float = 1.0
    widen: str = "none"
    in_channels: int = 3
    num_classes: int = 10
    image_size: int = 32
    wbits: int = FP32_BITS
    abits: int = FP32_BITS
    full_precision_ends: bool = True  # WRPN keeps the first conv and the last FC in fp32
    quantizer: str = DEFAULT_ACT_QUANTIZER  # activation quantizer: pact | wrpn (training.quant)
    # Per-layer widths (mixed precision): ((layer, wbits, abits), ...) overriding the uniform
    # ones; CIFAR ResNets only, layer names as in their traces.  Empty: uniform.
    layer_bits: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        # JSON gives lists back; the config stays hashable.
        object.__setattr__(self, "layer_bits",
                           tuple((str(n), int(w), int(a)) for n, w, a in self.layer_bits))
        if self.name not in MODEL_NAMES:
            raise ValueError(f"model={self.name!r}: choose one of {', '.join(MODEL_NAMES)}")
        if self.widen not in WIDEN_CHOICES:
            raise ValueError(f"widen={self.widen!r}: choose one of {', '.join(WIDEN_CHOICES)}")
        if self.widen != "none" and self.name not in CIFAR_RESNETS:
            raise ValueError(f"widen={self.widen!r} applies to the CIFAR ResNets only; "
                             "use width for the other networks")
        if not self.width > 0:
            raise ValueError(f"width={self.width!r}: must be > 0")
        if self.in_channels < 1 or self.num_classes < 1 or self.image_size < 1:
            raise ValueError("in_channels, num_classes and image_size must be >= 1")
        check_bits(self.wbits, "wbits")
        check_bits(self.abits, "abits")
        check_quantizer(self.quantizer)
        if self.layer_bits:
            if self.name not in CIFAR_RESNETS:
                raise ValueError("per-layer widths (layer_bits) are for the CIFAR ResNets")
            known = set(cifar_layer_names(self.name))
            for name, w, a in self.layer_bits:
                if name not in known:
                    raise ValueError(f"layer_bits: {self.name} has no layer {name!r} (its "
                                     f"layers: conv1, stage1.block1.conv1, ..., fc)")
                check_bits(w, f"wbits of {name}")
                check_bits(a, f"abits of {name}")

    @property
    def end_bits(self) -> tuple[int, int]:
        return (FP32_BITS, FP32_BITS) if self.full_precision_ends else (self.wbits, self.abits)

    def bits_by_layer(self) -> dict[str, tuple[int, int]]:
        """A CIFAR ResNet's (wbits, abits) per layer, in execution order: the uniform widths
        (the ends' own when kept fp32), then ``layer_bits`` over them."""
        names = cifar_layer_names(self.name)
        bits = {n: self.end_bits if n in (names[0], names[-1]) else (self.wbits, self.abits)
                for n in names}
        bits.update({n: (w, a) for n, w, a in self.layer_bits})
        return bits


def cifar_layer_names(name: str) -> list[str]:
    """conv1, stage{s}.block{b}.conv{1,2}, fc: a CIFAR ResNet's layers in execution order."""
    blocks = (CIFAR_RESNETS[name] - 2) // 6
    return (["conv1"] + [f"stage{s}.block{b}.conv{c}" for s in (1, 2, 3)
                         for b in range(1, blocks + 1) for c in (1, 2)] + ["fc"])


def build(name: str, width: float = 1, widen: str | None = None, in_channels: int = 3,
          num_classes: int | None = None, image_size: int | None = None, wbits: int = FP32_BITS,
          abits: int = FP32_BITS, full_precision_ends: bool = True,
          quantizer: str = DEFAULT_ACT_QUANTIZER,
          layer_bits: dict[str, tuple[int, int]] | None = None) -> nn.Module:
    """A network by name; ``model.config`` holds its ModelConfig.  ``layer_bits``: per-layer
    (wbits, abits) of a CIFAR ResNet, by trace layer name, over the uniform widths."""
    key = name.lower()
    num_classes = num_classes or (10 if key in CIFAR_RESNETS else 1000)
    image_size = image_size or DEFAULT_IMAGE_SIZE.get(key, 32)
    return from_config(ModelConfig(
        name=key, width=float(width), widen=widen or "none", in_channels=in_channels,
        num_classes=num_classes, image_size=image_size, wbits=wbits, abits=abits,
        full_precision_ends=full_precision_ends, quantizer=quantizer,
        layer_bits=tuple((n, w, a) for n, (w, a) in (layer_bits or {}).items())))


def from_config(cfg: ModelConfig) -> nn.Module:
    if cfg.name in CIFAR_RESNETS:
        model = CifarResNet(cfg)
    elif cfg.name == "alexnet":
        model = AlexNet(cfg)
    elif cfg.name in ("resnet50", "resnet101"):
        model = BottleneckResNet(cfg, (3, 4, 6, 3) if cfg.name == "resnet50" else (3, 4, 23, 3))
    elif cfg.name == "resnet18":
        model = BottleneckResNet(cfg, (2, 2, 2, 2), ImageNetBasicBlock)
    elif cfg.name == "mobilenet_v2":
        model = MobileNetV2(cfg)
    elif cfg.name == "vit_b_16":
        model = VisionTransformer(cfg)
    else:
        model = InceptionResNetV2(cfg)
    model.config = cfg
    return model


def save(model: nn.Module, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write the state dict to ``path`` and the ModelConfig (plus ``extra``) as JSON beside it,
    both atomically, so ``load(path)`` rebuilds the model from the two files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = io.BytesIO()
    torch.save(model.state_dict(), state)
    write_atomic(path, state.getvalue())
    meta = {"model": asdict(model.config), **(extra or {})}
    write_atomic(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    return path


def load_config(path: str | os.PathLike) -> dict:
    """The JSON beside a checkpoint: {"model": ModelConfig fields, ...extra}."""
    meta_path = Path(path).with_suffix(".json")
    if not Path(path).is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r}: needs the file and {meta_path.name} "
                                "beside it")
    meta = json.loads(meta_path.read_text())
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), dict) or \
            not isinstance(meta["model"].get("name"), str):
        raise ValueError(f"{meta_path.name}: not a checkpoint's metadata (a JSON object whose "
                         "'model' is an object with the network's 'name')")
    return meta


def load(path: str | os.PathLike, **overrides) -> nn.Module:
    """Rebuild a saved model (weights via ``torch.load(weights_only=True)``); ``overrides``
    replace config fields, e.g. ``wbits=2`` to lower a trained fp32 model (scheme C)."""
    meta = load_config(path)["model"]
    known = {f.name for f in fields(ModelConfig)}
    # Checkpoints written before the quantizer was a choice were trained with WRPN's clip.
    saved = {"quantizer": "wrpn", **{k: v for k, v in meta.items() if k in known}}
    model = from_config(ModelConfig(**{**saved, **overrides}))
    return load_weights(model, path, lowered=bool(overrides))


def load_weights(model: nn.Module, path: str | os.PathLike, lowered: bool) -> nn.Module:
    """The checkpoint's tensors into ``model`` (``torch.load(weights_only=True)``).  Lowering a
    full-precision model (``lowered``, scheme C) adds PACT clip levels it never had: they keep
    their initial value; any other missing or extra tensor is an error."""
    state = torch.load(path, weights_only=True, map_location="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or (missing and not lowered) or any(not k.endswith(".alpha") for k in missing):
        raise RuntimeError(f"checkpoint {str(path)!r} does not fit its own config: missing "
                           f"{missing[:3]}, unexpected {unexpected[:3]}")
    return model


def _scaled(channels: int, factor: float) -> int:
    # The same rounding as accelsim.workload.stage_filters uses for the CIFAR ResNets.
    return max(1, int(round(channels * factor)))


def _image_quant(abits: int) -> nn.Module:
    """The quantizer of the input image when the first layer is quantized: a fixed [0, 1] clip,
    exact for 8-bit pixels (the image is already in [0, 1])."""
    return _pool_quant(abits, "wrpn")


def _pool_quant(abits: int, quantizer: str) -> nn.Module:
    """The quantizer of values that are >= 0 already (pooled features the last FC reads): a
    QReLU below 32 bits, nothing at all at 32 (so a trace shows no ReLU that is not there)."""
    return nn.Identity() if abits >= FP32_BITS else QReLU(abits, quantizer)


# ----------------------------------------------------------------------------- CIFAR ResNets

class BasicBlock(nn.Module):
    """Two 3x3 convs with an option-A shortcut (subsample, zero-pad the new channels)."""

    def __init__(self, cin: int, cout: int, stride: int, bits1: tuple[int, int],
                 bits2: tuple[int, int], out_abits: int, quantizer: str):
        """``bits1``, ``bits2``: (wbits, abits) of conv1 and conv2 (conv1's abits is the width
        of the block's input, set by whoever produced it); ``out_abits``: the block's output
        width, the abits of the layer that reads it."""
        super().__init__()
        if cout < cin:
            raise ValueError(f"an option-A shortcut cannot shrink {cin} to {cout} channels")
        self.conv1 = QConv2d(cin, cout, 3, stride, 1, bias=False, wbits=bits1[0],
                             abits=bits1[1])
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = QReLU(bits2[1], quantizer)
        self.conv2 = QConv2d(cout, cout, 3, 1, 1, bias=False, wbits=bits2[0], abits=bits2[1])
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = QReLU(out_abits, quantizer)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.extra:
            lo = self.extra // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, lo, self.extra - lo))
        return self.relu2(out + shortcut)


class CifarResNet(nn.Module):
    """He et al. 2015's CIFAR ResNet (depth 6n+2), module names as accelsim's trace names:
    ``conv1``, ``stage{s}.block{b}.conv{1,2}``, ``fc``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        blocks = (CIFAR_RESNETS[cfg.name] - 2) // 6
        widths = stage_filters(cfg.width, cfg.widen)
        bits = cfg.bits_by_layer()
        q = cfg.quantizer
        names = list(bits)  # in execution order: conv1, stage1.block1.conv1, ..., fc
        self.image_quant = _image_quant(bits["conv1"][1])
        self.conv1 = QConv2d(cfg.in_channels, widths[0], 3, 1, 1, bias=False,
                             wbits=bits["conv1"][0], abits=bits["conv1"][1])
        self.bn1 = nn.BatchNorm2d(widths[0])
        # Each ReLU quantizes at the width of the layer that reads its output.
        self.relu1 = QReLU(bits[names[1]][1], q)
        cin = widths[0]
        for s, cout in enumerate(widths):
            stage = OrderedDict()
            for b in range(blocks):
                stride = 2 if s > 0 and b == 0 else 1
                prefix = f"stage{s + 1}.block{b + 1}"
                after = names[names.index(f"{prefix}.conv2") + 1]
                # The last block's output is pooled for the FC, which reads pool_quant's codes.
                out_abits = cfg.abits if after == "fc" else bits[after][1]
                stage[f"block{b + 1}"] = BasicBlock(cin, cout, stride, bits[f"{prefix}.conv1"],
                                                    bits[f"{prefix}.conv2"], out_abits, q)
                cin = cout
            self.add_module(f"stage{s + 1}", nn.Sequential(stage))
        # The pooled features the FC reads (>= 0 already).
        self.pool_quant = _pool_quant(bits["fc"][1], q)
        self.fc = QLinear(cin, cfg.num_classes, wbits=bits["fc"][0], abits=bits["fc"][1])
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(self.image_quant(x))))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(self.pool_quant(x.mean((2, 3))))


def _init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


# ----------------------------------------------------------------------------- ImageNet networks

def _conv_bn(cin, cout, k, stride=1, pad=0, wbits=32, abits=32, relu=True, bn_eps=1e-5,
             quantizer=DEFAULT_ACT_QUANTIZER, out_abits=None):
    """conv (no bias) -> BN -> QReLU, the unit every ImageNet network here is made of.

    ``out_abits``: the ReLU's width when it differs from the conv's input width (a
    full-precision stem feeding quantized layers)."""
    layers = [QConv2d(cin, cout, k, stride, pad, bias=False, wbits=wbits, abits=abits),
              nn.BatchNorm2d(cout, eps=bn_eps)]
    if not relu:
        return nn.Sequential(*layers)
    return nn.Sequential(*layers, QReLU(abits if out_abits is None else out_abits, quantizer))


class AlexNet(nn.Module):
    """torchvision's AlexNet (61,100,840 parameters at 1000 classes)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = [_scaled(x, cfg.width) for x in (64, 192, 384, 256, 256, 4096)]
        w, a = cfg.wbits, cfg.abits
        end_w, end_a = cfg.end_bits

        def relu():
            return QReLU(a, cfg.quantizer)

        self.image_quant = _image_quant(end_a)
        self.features = nn.Sequential(
            QConv2d(cfg.in_channels, c[0], 11, 4, 2, wbits=end_w, abits=end_a), relu(),
            nn.MaxPool2d(3, 2),
            QConv2d(c[0], c[1], 5, 1, 2, wbits=w, abits=a), relu(), nn.MaxPool2d(3, 2),
            QConv2d(c[1], c[2], 3, 1, 1, wbits=w, abits=a), relu(),
            QConv2d(c[2], c[3], 3, 1, 1, wbits=w, abits=a), relu(),
            QConv2d(c[3], c[4], 3, 1, 1, wbits=w, abits=a), relu(), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), QLinear(c[4] * 36, c[5], wbits=w, abits=a), relu(),
            nn.Dropout(0.5), QLinear(c[5], c[5], wbits=w, abits=a), relu(),
            QLinear(c[5], cfg.num_classes, wbits=end_w, abits=end_a))

    def forward(self, x):
        x = self.avgpool(self.features(self.image_quant(x)))
        return self.classifier(torch.flatten(x, 1))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv, as torchvision)."""

    expansion = 4  # output channels per channel of the block's width

    def __init__(self, cin, mid, stride, wbits, abits, quantizer):
        super().__init__()
        cout = mid * self.expansion
        q = dict(wbits=wbits, abits=abits, quantizer=quantizer)
        self.body = nn.Sequential(_conv_bn(cin, mid, 1, **q), _conv_bn(mid, mid, 3, stride, 1, **q),
                                  _conv_bn(mid, cout, 1, relu=False, **q))
        self.downsample = _shortcut(cin, cout, stride, wbits, abits)
        self.relu = QReLU(abits, quantizer)

    def forward(self, x):
        return self.relu(self.body(x) + self.downsample(x))


def _shortcut(cin, cout, stride, wbits, abits) -> nn.Module:
    """A ResNet block's shortcut: the identity, or a 1x1 conv-BN where the shape changes."""
    if stride > 1 or cin != cout:
        return _conv_bn(cin, cout, 1, stride, wbits=wbits, abits=abits, relu=False)
    return nn.Identity()


class BottleneckResNet(nn.Module):
    """torchvision's ResNet-50/101 (25,557,032 / 44,549,160 parameters at 1000 classes), and
    with ``block=ImageNetBasicBlock`` its ResNet-18 (11,689,512).

    Below 64x64 pixels the stem is CIFAR-style (3x3 stride-1 conv, no max pool), so ResNet-101
    can serve as the paper's teacher on 28x28 / 32x32 images."""

    def __init__(self, cfg: ModelConfig, depths: tuple[int, ...], block=None):
        super().__init__()
        w, a = cfg.wbits, cfg.abits
        end_w, end_a = cfg.end_bits
        stem = _scaled(64, cfg.width)
        q = cfg.quantizer
        self.image_quant = _image_quant(end_a)
        if cfg.image_size >= 64:
            self.stem = nn.Sequential(
                _conv_bn(cfg.in_channels, stem, 7, 2, 3, end_w, end_a, quantizer=q, out_abits=a),
                nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = _conv_bn(cfg.in_channels, stem, 3, 1, 1, end_w, end_a, quantizer=q,
                                 out_abits=a)
        block = block or Bottleneck
        cin, stages = stem, []
        for s, depth in enumerate(depths):
            mid = _scaled(64 * 2 ** s, cfg.width)
            blocks = []
            for b in range(depth):
                blocks.append(block(cin, mid, 2 if s > 0 and b == 0 else 1, w, a, q))
                cin = mid * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool_quant = _pool_quant(end_a, q)
        self.fc = QLinear(cin, cfg.num_classes, wbits=end_w, abits=end_a)
        _init_weights(self)

    def forward(self, x):
        x = self.stages(self.stem(self.image_quant(x)))
        return self.fc(self.pool_quant(x.mean((2, 3))))


class IRBlock(nn.Module):
    """One Inception-ResNet block (Keras's block35 / block17 / block8): branches, a 1x1 'up'
    conv with bias back to the input width, scaled residual add, ReLU (except the very last)."""

    def __init__(self, branches: list[nn.Module], mixed: int, cout: int, scale: float,
                 relu: bool, wbits: int, abits: int, quantizer: str):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.up = QConv2d(mixed, cout, 1, bias=True, wbits=wbits, abits=abits)
        self.scale = scale
        self.relu = QReLU(abits, quantizer) if relu else nn.Identity()

    def forward(self, x):
        mixed = torch.cat([branch(x) for branch in self.branches], 1)
        return self.relu(x + self.scale * self.up(mixed))


class Concat(nn.Module):
    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


class InceptionResNetV2(nn.Module):
    """Keras's InceptionResNetV2 (Szegedy et al. 2016), 299x299 inputs.

    Keras's batch norm has no scale (gamma); ours has one, which adds one parameter per BN
    channel (30,272, 0.05% of 55.8M)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.image_size < 75:
            raise ValueError("inception_resnet_v2 needs images of at least 75x75 pixels")
        w, a = cfg.wbits, cfg.abits
        end_w, end_a = cfg.end_bits
        c = lambda n: _scaled(n, cfg.width)  # noqa: E731 - one short rule used ~60 times

        def cb(cin, cout, k, stride=1, pad=None):
            if pad is None:  # Keras 'same' for stride 1; 'valid' when asked with pad=0
                pad = (k[0] // 2, k[1] // 2) if isinstance(k, tuple) else k // 2
            return _conv_bn(cin, cout, k, stride, pad, w, a, bn_eps=1e-3, quantizer=q)

        q = cfg.quantizer
        self.image_quant = _image_quant(end_a)
        # The stem's ReLU feeds quantized layers: quantized at the network's abits.
        stem = [_conv_bn(cfg.in_channels, c(32), 3, 2, 0, end_w, end_a, bn_eps=1e-3, quantizer=q,
                         out_abits=a)]
        stem += [cb(c(32), c(32), 3, pad=0), cb(c(32), c(64), 3), nn.MaxPool2d(3, 2),
                 cb(c(64), c(80), 1, pad=0), cb(c(80), c(192), 3, pad=0), nn.MaxPool2d(3, 2)]
        x = c(192)
        stem.append(Concat(cb(x, c(96), 1),
                           nn.Sequential(cb(x, c(48), 1), cb(c(48), c(64), 5)),
                           nn.Sequential(cb(x, c(64), 1), cb(c(64), c(96), 3),
                                         cb(c(96), c(96), 3)),
                           nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                                         cb(x, c(64), 1))))
        x = c(96) + c(64) + c(96) + c(64)
        body = []
        for _ in range(10):
            body.append(IRBlock([cb(x, c(32), 1),
                                 nn.Sequential(cb(x, c(32), 1), cb(c(32), c(32), 3)),
                                 nn.Sequential(cb(x, c(32), 1), cb(c(32), c(48), 3),
                                               cb(c(48), c(64), 3))],
                                c(32) + c(32) + c(64), x, 0.17, True, w, a, q))
        body.append(Concat(cb(x, c(384), 3, 2, 0),
                           nn.Sequential(cb(x, c(256), 1), cb(c(256), c(256), 3),
                                         cb(c(256), c(384), 3, 2, 0)),
                           nn.MaxPool2d(3, 2)))
        x = c(384) + c(384) + x
        for _ in range(20):
            body.append(IRBlock([cb(x, c(192), 1),
                                 nn.Sequential(cb(x, c(128), 1), cb(c(128), c(160), (1, 7)),
                                               cb(c(160), c(192), (7, 1)))],
                                c(192) + c(192), x, 0.1, True, w, a, q))
        body.append(Concat(nn.Sequential(cb(x, c(256), 1), cb(c(256), c(384), 3, 2, 0)),
                           nn.Sequential(cb(x, c(256), 1), cb(c(256), c(288), 3, 2, 0)),
                           nn.Sequential(cb(x, c(256), 1), cb(c(256), c(288), 3),
                                         cb(c(288), c(320), 3, 2, 0)),
                           nn.MaxPool2d(3, 2)))
        x = c(384) + c(288) + c(320) + x
        for i in range(10):
            body.append(IRBlock([cb(x, c(192), 1),
                                 nn.Sequential(cb(x, c(192), 1), cb(c(192), c(224), (1, 3)),
                                               cb(c(224), c(256), (3, 1)))],
                                c(192) + c(256), x, 0.2 if i < 9 else 1.0, i < 9, w, a, q))
        body.append(cb(x, c(1536), 1))
        self.stem, self.body = nn.Sequential(*stem), nn.Sequential(*body)
        self.pool_quant = _pool_quant(end_a, q)
        self.fc = QLinear(c(1536), cfg.num_classes, wbits=end_w, abits=end_a)

    def forward(self, x):
        x = self.body(self.stem(self.image_quant(x)))
        return self.fc(self.pool_quant(x.mean((2, 3))))


# ----------------------------------------------------------------------------- more reference nets
# ResNet-18, MobileNetV2 and ViT-B/16 as torchvision builds them (architecture only, no weights),
# so that their parameter counts are torchvision's documented 11,689,512 / 3,504,872 /
# 86,567,656 and their traces its documented multiply-accumulates.

class ImageNetBasicBlock(Bottleneck):
    """ResNet-18/34's block: two 3x3 conv-BN units (stride on the first); shortcut, sum and
    ReLU as Bottleneck's."""

    expansion = 1

    def __init__(self, cin, cout, stride, wbits, abits, quantizer):
        nn.Module.__init__(self)
        q = dict(wbits=wbits, abits=abits, quantizer=quantizer)
        self.body = nn.Sequential(_conv_bn(cin, cout, 3, stride, 1, **q),
                                  _conv_bn(cout, cout, 3, 1, 1, relu=False, **q))
        self.downsample = _shortcut(cin, cout, stride, wbits, abits)
        self.relu = QReLU(abits, quantizer)


def _relu6(abits: int, quantizer: str) -> nn.Module:
    # A quantized activation's clip (WRPN's [0, 1], or PACT's learned level) replaces ReLU6's.
    return nn.ReLU6() if abits >= FP32_BITS else QReLU(abits, quantizer)


def _conv_bn6(cin, cout, k, stride=1, groups=1, wbits=32, abits=32, relu=True,
              quantizer=DEFAULT_ACT_QUANTIZER):
    """torchvision's Conv2dNormActivation with ReLU6: conv (no bias, 'same' padding) -> BN."""
    layers = [QConv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False,
                      wbits=wbits, abits=abits), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, _relu6(abits, quantizer)) if relu else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (unless t = 1), 3x3 depthwise, 1x1 linear projection;
    a residual add when the stride is 1 and the width is unchanged."""

    def __init__(self, cin, cout, stride, expand, wbits, abits, quantizer):
        super().__init__()
        hidden = int(round(cin * expand))
        q = dict(wbits=wbits, abits=abits, quantizer=quantizer)
        layers = [_conv_bn6(cin, hidden, 1, **q)] if expand != 1 else []
        layers += [_conv_bn6(hidden, hidden, 3, stride, hidden, **q),
                   _conv_bn6(hidden, cout, 1, relu=False, **q)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's rounding of MobileNet widths to multiples of 8 (never down by > 10%)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (Sandler et al. 2018), width multiplier ``cfg.width``."""

    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))  # expansion t, channels c, blocks n, stride s

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w, a = cfg.wbits, cfg.abits
        end_w, end_a = cfg.end_bits
        cin = _make_divisible(32 * cfg.width)
        last = _make_divisible(1280 * max(1.0, cfg.width))
        q = cfg.quantizer
        self.image_quant = _image_quant(end_a)
        features = [_conv_bn6(cfg.in_channels, cin, 3, 2, wbits=end_w, abits=end_a)]
        features[0][-1] = _relu6(a, q)
        for t, c, n, s in self.SETTINGS:
            cout = _make_divisible(c * cfg.width)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, w, a, q))
                cin = cout
        features.append(_conv_bn6(cin, last, 1, wbits=w, abits=a, quantizer=q))
        self.features = nn.Sequential(*features)
        self.pool_quant = _pool_quant(end_a, q)
        self.classifier = nn.Sequential(nn.Dropout(0.2),
                                        QLinear(last, cfg.num_classes, wbits=end_w, abits=end_a))
        _init_weights(self)

    def forward(self, x):
        x = self.features(self.image_quant(x))
        return self.classifier(self.pool_quant(x.mean((2, 3))))


class SelfAttention(nn.Module):
    """Multi-head self-attention with the projections of nn.MultiheadAttention (one packed
    in-projection, an out-projection), written out so that its two matmuls, QK^T and AV, are
    visible to a tracer and its projections are QLinear."""

    def __init__(self, dim: int, heads: int, wbits: int, abits: int):
        super().__init__()
        self.heads = heads
        self.in_proj = QLinear(dim, 3 * dim, wbits=wbits, abits=abits)
        self.out_proj = QLinear(dim, dim, wbits=wbits, abits=abits)

    def forward(self, x):
        # Shapes from the layer's own sizes, not unpacked from x.shape, so torch.fx traces it.
        dim = self.out_proj.in_features
        qkv = self.in_proj(x).reshape(x.shape[0], -1, 3, self.heads, dim // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        scores = (qkv[0] @ qkv[1].transpose(-2, -1)) * (dim // self.heads) ** -0.5
        out = scores.softmax(-1) @ qkv[2]
        return self.out_proj(out.transpose(1, 2).reshape(x.shape[0], -1, dim))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) (GELU MLP)."""

    def __init__(self, dim: int, heads: int, mlp: int, wbits: int, abits: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = SelfAttention(dim, heads, wbits, abits)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(QLinear(dim, mlp, wbits=wbits, abits=abits), nn.GELU(),
                                 QLinear(mlp, dim, wbits=wbits, abits=abits))

    def forward(self, x):
        x = x + self.self_attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    """torchvision's ViT-B/16 (Dosovitskiy et al. 2021): 16x16 patches, 12 blocks of width 768,
    12 heads, MLP 3072, class token, learned position embedding, LayerNorm, linear head.

    Only weights are quantized (QLinear at ``wbits``): a transformer's activations are signed,
    outside WRPN's unsigned activation quantizer."""

    def __init__(self, cfg: ModelConfig, patch: int = 16, dim: int = 768, depth: int = 12,
                 heads: int = 12, mlp: int = 3072):
        super().__init__()
        if cfg.image_size % patch:
            raise ValueError(f"vit_b_16 needs an image size divisible by {patch}")
        w, a = cfg.wbits, cfg.abits
        end_w, end_a = cfg.end_bits
        dim, mlp = _scaled(dim, cfg.width), _scaled(mlp, cfg.width)
        if dim % heads:
            raise ValueError(f"vit_b_16: width {cfg.width} gives {dim} channels, not a "
                             f"multiple of {heads} heads")
        self.patch = patch
        self.conv_proj = QConv2d(cfg.in_channels, dim, patch, patch, wbits=end_w, abits=end_a)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        tokens = (cfg.image_size // patch) ** 2 + 1
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, dim).normal_(std=0.02))
        self.layers = nn.Sequential(*[EncoderBlock(dim, heads, mlp, w, a) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = QLinear(dim, cfg.num_classes, wbits=end_w, abits=end_a)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])
