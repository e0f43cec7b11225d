"""Apprentice loss on hand-computed cases, and scheme C's starting point."""
import math

import pytest
import torch

from training import models
from training.quant import PACT_ALPHA_INIT
from training.distill import (ApprenticeWeights, apprentice_loss, soft_cross_entropy,
                              start_from)


def test_loss_on_a_hand_computed_case():
    # Student logits (0, ln 3): p_S = (1/4, 3/4).  Teacher logits (ln 3, 0): p_T = (3/4, 1/4).
    z_s = torch.tensor([[0.0, math.log(3)]])
    z_t = torch.tensor([[math.log(3), 0.0]])
    y = torch.tensor([1])
    parts = apprentice_loss(z_s, y, z_t)
    assert parts.teacher_hard.item() == pytest.approx(-math.log(0.25))
    assert parts.student_hard.item() == pytest.approx(-math.log(0.75))
    soft = -(0.75 * math.log(0.25) + 0.25 * math.log(0.75))
    assert parts.soft.item() == pytest.approx(soft)
    expected = 1.0 * -math.log(0.25) + 0.5 * -math.log(0.75) + 0.5 * soft
    assert parts.total.item() == pytest.approx(expected)


def test_temperature_softens_targets_and_scales_by_t_squared():
    z_s = torch.tensor([[0.0, 0.0]])
    z_t = torch.tensor([[4.0, 0.0]])
    # At T = 4 the teacher's target is softmax(1, 0); the student's p is (1/2, 1/2).
    value = soft_cross_entropy(z_s, z_t, temperature=4.0)
    assert value.item() == pytest.approx(16 * math.log(2))


def test_weights_and_gradients():
    z_s = torch.randn(8, 10, requires_grad=True)
    z_t = torch.randn(8, 10, requires_grad=True)
    y = torch.randint(0, 10, (8,))
    parts = apprentice_loss(z_s, y, z_t, ApprenticeWeights(alpha=0, beta=1, gamma=0))
    assert parts.total.item() == pytest.approx(parts.student_hard.item())
    soft_cross_entropy(z_s, z_t).backward()
    assert z_t.grad is None  # the soft targets never push the teacher
    assert z_s.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        ApprenticeWeights(temperature=0)


def test_scheme_c_starts_from_the_full_precision_copy(tmp_path):
    torch.manual_seed(0)
    fp = models.build("resnet20", in_channels=1, image_size=28)
    fp(torch.rand(4, 1, 28, 28))
    models.save(fp, tmp_path / "fp.pt")
    student = start_from(models.build("resnet20", in_channels=1, image_size=28, wbits=2,
                                      abits=8), tmp_path / "fp.pt", full_precision=True)
    assert student.config.wbits == 2 and student.config.abits == 8
    lowered = student.state_dict()
    for name, a in fp.state_dict().items():
        assert torch.equal(a, lowered[name]), name
    # The only new tensors are PACT's clip levels, at their initial value.
    new = set(lowered) - set(fp.state_dict())
    assert new and all(k.endswith(".alpha") for k in new)
    assert all(float(lowered[k]) == PACT_ALPHA_INIT for k in new)
    assert student.stage1.block1.conv1.wbits == 2 and student.conv1.wbits == 32
    x = torch.rand(2, 1, 28, 28)
    assert not torch.equal(student.eval()(x), fp.eval()(x))  # now it runs at low precision
    models.save(student, tmp_path / "low.pt")
    with pytest.raises(ValueError, match="full-precision"):
        start_from(models.build("resnet20", in_channels=1, image_size=28, wbits=2, abits=8),
                   tmp_path / "low.pt", full_precision=True)
    # Any trained run can start a fine-tune; a checkpoint of another shape cannot.
    start_from(models.build("resnet20", in_channels=1, image_size=28, wbits=4, abits=4),
               tmp_path / "low.pt")
    with pytest.raises(ValueError, match="architecture differs"):
        start_from(models.build("resnet32", in_channels=1, image_size=28), tmp_path / "fp.pt")
