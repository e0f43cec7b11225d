"""Memory footprint and compute cost."""
import pandas as pd
import pytest
import torch

from training import footprint, models

torch.set_num_threads(1)


def test_counts_on_a_tiny_network():
    model = models.build("resnet20", in_channels=1, image_size=8)
    m = footprint.measure(model)
    assert m.weight_bytes == 4 * sum(p.numel() for p in model.parameters())
    # Inference holds at most a few 16x8x8 maps; training keeps ~3 per conv (19 convs).
    fmap = 16 * 8 * 8 * 4
    assert fmap <= m.inference_peak_bytes <= 6 * fmap
    assert m.train_activation_bytes > 20 * m.inference_peak_bytes / 6
    rows = pd.DataFrame(footprint.footprint_rows("r", m, (1, 8), wbits=2, abits=8))
    fp = rows[(rows.wbits == 32) & (rows.phase == "training")].set_index("batch")
    assert fp.activations_mib[8] == pytest.approx(8 * fp.activations_mib[1])
    low = rows[(rows.wbits == 2) & (rows.phase == "training")].set_index("batch")
    assert low.weights_mib[1] == pytest.approx(fp.weights_mib[1] / 16)
    assert low.activations_mib[8] == pytest.approx(fp.activations_mib[8] / 4)


def test_inference_peak_counts_a_held_shortcut():
    class Residual(torch.nn.Module):
        def forward(self, x):
            y = x * 2          # +1 map
            z = y + 1          # +1 map while y is alive
            return z + y       # +1 map: peak = input + 3 maps
    model = Residual()
    x = torch.zeros(1, 1, 16, 16)
    assert footprint.inference_peak_bytes(model, x) == 4 * 16 * 16 * 4


def test_compute_cost_is_fmas_times_bits():
    cost = footprint.compute_cost("resnet20", wbits=2, abits=8)
    layers = footprint.layer_fmas(models.build("resnet20", wbits=2, abits=8))
    conv1 = layers[0]
    assert conv1[0] == "conv1" and conv1[1] == 32 * 32 * 16 * 27 and conv1[2:] == (32, 32)
    fc = layers[-1]
    assert fc[0] == "fc" and fc[1] == 64 * 10
    inner = sum(f for _, f, _, _ in layers[1:-1])
    assert cost["cost_bit_fmas"] == inner * 10 + (conv1[1] + fc[1]) * 64
    assert cost["fmas"] == 40_551_040  # ResNet-20's usual 41M multiply-adds


def test_command_writes_csv_and_figure(tmp_path, capsys):
    assert footprint.main(["--models", "resnet20", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "footprint.csv")
    assert set(df.batch) == {1, 8, 32} and set(df.phase) == {"training", "inference"}
    assert (tmp_path / "footprint.html").stat().st_size > 1000
    assert (tmp_path / "compute_cost.csv").is_file()
    assert footprint.main(["--models", "vgg"]) == 2
