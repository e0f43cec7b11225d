"""Apprentice (Mishra & Marr, ICLR 2018): a low-precision student distilled from a
full-precision teacher.

    L = alpha * H(y, p_T) + beta * H(y, p_S) + gamma * H(z_T, p_S)

H(y, p) is cross-entropy with the true labels.  H(z_T, p_S) turns the teacher's logits into soft
targets softmax(z_T / T) (detached: the student never pushes the teacher) and takes the
cross-entropy of the student's softmax(z_S / T) against them, times T^2 as in Hinton et al. so
the term's gradient keeps its size when T changes; at the default T = 1 it is exactly the
paper's formula.

Schemes:
- A: teacher and student trained jointly from scratch (the alpha term trains the teacher);
- B: a trained teacher, frozen; the student starts from scratch;
- C: as B, but the student starts from a trained full-precision copy of itself, lowered in
  precision (the same weights, now quantized) and then distilled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import models, user_model

SCHEMES = ("none", "A", "B", "C")


@dataclass(frozen=True)
class ApprenticeWeights:
    alpha: float = 1.0
    beta: float = 0.5
    gamma: float = 0.5
    temperature: float = 1.0

    def __post_init__(self) -> None:
        values = (self.alpha, self.beta, self.gamma, self.temperature)
        if not all(math.isfinite(v) for v in values) or min(values[:3]) < 0 or \
                not self.temperature > 0:
            raise ValueError("--alpha, --beta, --gamma must be finite and >= 0, --temperature "
                             "finite and > 0")


@dataclass(frozen=True)
class LossParts:
    total: torch.Tensor
    teacher_hard: torch.Tensor   # H(y, p_T)
    student_hard: torch.Tensor   # H(y, p_S)
    soft: torch.Tensor           # H(z_T, p_S)


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                       temperature: float = 1.0) -> torch.Tensor:
    """Mean over the batch of -sum softmax(z_T/T) log softmax(z_S/T), times T^2."""
    targets = F.softmax(teacher_logits.detach() / temperature, dim=1)
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    return -(targets * log_p).sum(1).mean() * temperature ** 2


def apprentice_loss(student_logits: torch.Tensor, labels: torch.Tensor,
                    teacher_logits: torch.Tensor,
                    w: ApprenticeWeights = ApprenticeWeights()) -> LossParts:
    teacher_hard = F.cross_entropy(teacher_logits, labels)
    student_hard = F.cross_entropy(student_logits, labels)
    soft = soft_cross_entropy(student_logits, teacher_logits, w.temperature)
    total = w.alpha * teacher_hard + w.beta * student_hard + w.gamma * soft
    return LossParts(total, teacher_hard, student_hard, soft)


def frozen_teacher(path: str) -> nn.Module:
    """A trained teacher from its checkpoint, in eval mode, with no gradients (schemes B, C)."""
    teacher = _load(path).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def start_from(student: nn.Module, path: str, full_precision: bool = False) -> nn.Module:
    """``student`` with the trained weights at ``path``: scheme C's start (``full_precision``:
    the student's own trained fp32 copy, now lowered) or a fine-tune of any trained run.  The
    widths may differ; clip levels the checkpoint lacks keep their initial value.  ValueError
    when the checkpoint is not fp32 (scheme C) or does not fit the student."""
    meta = models.load_config(path)["model"]
    if not user_model.is_spec(meta["name"]):  # the metadata must describe a network of ours
        known = {f.name for f in fields(models.ModelConfig)}
        models.ModelConfig(**{k: v for k, v in meta.items() if k in known})
    if full_precision and (meta.get("wbits", 32), meta.get("abits", 32)) != (32, 32):
        raise ValueError(f"--init {path}: scheme C starts from a full-precision model, this one "
                         f"has wbits={meta.get('wbits')}, abits={meta.get('abits')}")
    try:
        return models.load_weights(student, path, lowered=True)
    except RuntimeError as err:
        raise ValueError(f"--init {path}: its architecture differs from the student's "
                         f"({str(err).split(': ', 1)[-1][:200]})") from None


def _load(path: str, **overrides) -> nn.Module:
    """A checkpoint of a built-in network or of a user's own (``--module``)."""
    loader = user_model.load if user_model.is_checkpoint(path) else models.load
    return loader(path, **overrides)
