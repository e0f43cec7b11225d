"""A user's own network, named ``package.module:callable`` on the command line.

The callable returns an ``nn.Module``; if it takes ``in_channels``, ``num_classes`` or
``image_size`` (keywords), the data set's values are passed, so one builder serves every data
set.  ``build`` then swaps its Conv2d / Linear / ReLU for our quantized layers
(``training.quant.convert``) and attaches a :class:`UserModelConfig`, so that checkpoints and
traces are written as for the built-in networks.
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import torch.nn as nn

from accelsim.formats import FP32_BITS, check_bits

from .models import load_weights
from .quant import DEFAULT_ACT_QUANTIZER, check_quantizer, convert

SHAPE_KEYWORDS = ("in_channels", "num_classes", "image_size")


class UserModelError(ValueError):
    """The spec does not name a callable returning an nn.Module; the message is one line."""


@dataclass(frozen=True)
class UserModelConfig:
    """What rebuilds a user's model: the spec, the widths, and the data set's shapes."""

    name: str
    wbits: int = FP32_BITS
    abits: int = FP32_BITS
    full_precision_ends: bool = True
    in_channels: int = 3
    num_classes: int = 10
    image_size: int = 32
    quantizer: str = DEFAULT_ACT_QUANTIZER


def is_spec(text: str) -> bool:
    """Whether a model name is a ``module:callable`` spec rather than a built-in name."""
    return ":" in str(text)


def load_callable(spec: str):
    """The callable a ``package.module:callable`` spec names."""
    module_name, _, attr = str(spec).partition(":")
    if not module_name or not attr:
        raise UserModelError(f"--module {spec!r}: expected package.module:callable, e.g. "
                             "my_pkg.nets:build")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # ImportError, or the user's module failing as it imports
        raise UserModelError(f"--module {spec!r}: cannot import {module_name!r} "
                             f"({type(err).__name__}: {err})") from None
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise UserModelError(f"--module {spec!r}: {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise UserModelError(f"--module {spec!r}: {attr!r} is not callable")
    return target


def instantiate(spec: str, **shape) -> nn.Module:
    """Call the spec's builder (with those of ``shape``'s keywords it accepts)."""
    builder = load_callable(spec)
    try:
        parameters = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    kwargs = {k: v for k, v in shape.items() if takes_any or k in parameters}
    try:
        model = builder(**kwargs)
    except Exception as err:
        raise UserModelError(f"--module {spec!r}: building the model failed "
                             f"({type(err).__name__}: {err})") from None
    if not isinstance(model, nn.Module):
        raise UserModelError(f"--module {spec!r}: returned a {type(model).__name__}, not an "
                             "nn.Module")
    return model


def build(spec: str, wbits: int = FP32_BITS, abits: int = FP32_BITS,
          full_precision_ends: bool = True, in_channels: int = 3, num_classes: int = 10,
          image_size: int = 32, quantizer: str = DEFAULT_ACT_QUANTIZER) -> nn.Module:
    """The spec's model with WRPN layers at these widths; ``model.config`` rebuilds it."""
    check_bits(wbits, "wbits")
    check_bits(abits, "abits")
    check_quantizer(quantizer)
    model = instantiate(spec, in_channels=in_channels, num_classes=num_classes,
                        image_size=image_size)
    model = convert(model, wbits, abits, full_precision_ends=full_precision_ends,
                    quantizer=quantizer)
    model.config = UserModelConfig(name=spec, wbits=wbits, abits=abits,
                                   full_precision_ends=full_precision_ends,
                                   in_channels=in_channels, num_classes=num_classes,
                                   image_size=image_size, quantizer=quantizer)
    return model


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether a checkpoint (``model.pt`` with ``model.json`` beside it) holds a user's model."""
    meta = Path(path).with_suffix(".json")
    if not meta.is_file():
        return False
    try:
        return is_spec(json.loads(meta.read_text()).get("model", {}).get("name", ""))
    except (ValueError, AttributeError):
        return False


def load(path: str | os.PathLike, **overrides) -> nn.Module:
    """Rebuild a user's model saved by ``training.models.save`` (its builder must import);
    ``overrides`` replace config fields, e.g. ``wbits=2`` to lower a trained fp32 model."""
    meta = json.loads(Path(path).with_suffix(".json").read_text())["model"]
    known = {f.name for f in fields(UserModelConfig)}
    # Checkpoints from before the quantizer was a choice were trained with WRPN's clip.
    config = {"quantizer": "wrpn", **{k: v for k, v in meta.items() if k in known}, **overrides}
    return load_weights(build(config.pop("name"), **config), path, lowered=bool(overrides))


__all__ = ["UserModelConfig", "UserModelError", "build", "instantiate", "is_checkpoint",
           "is_spec", "load", "load_callable"]
