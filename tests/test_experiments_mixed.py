"""The mixed-precision study's training side: per-layer sensitivity and its calibration."""
import csv
import json

import pytest
import torch

from accelsim.formats import SENSITIVITY_COLUMNS
from experiments import sensitivity
from training.train import parse_args, run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "w2a8"
    run(parse_args(["--dataset", "synthetic", "--wbits", "2", "--abits", "8", "--epochs", "2",
                    "--width", "0.25", "--threads", "1", "--out", str(out)]),
        log=lambda s: None)
    return out / "model.pt"


def test_sensitivity_measures_every_change_and_calibrates_on_a_sample(reference, tmp_path):
    cal = sensitivity.measure(reference, tmp_path, sample=4, log=lambda s: None)
    rows = list(csv.DictReader(open(tmp_path / "sensitivity.csv")))
    assert tuple(rows[0]) == SENSITIVITY_COLUMNS
    # 18 quantized convs (the fp32 ends excluded) x (3 weight + 2 activation widths)
    assert len(rows) == 18 * 5
    assert {r["layer"] for r in rows} >= {"stage1.block1.conv1", "stage3.block3.conv2"}
    assert not {"conv1", "fc"} & {r["layer"] for r in rows}
    fine = [r for r in rows if r["finetuned_delta_pct"]]
    assert len(fine) == 4 and cal["samples"] == 4
    for r in rows:   # fine-tuned where measured, else its group's mean, else the fitted proxy
        group = [float(x["finetuned_delta_pct"]) for x in fine
                 if (x["operand"], x["bits"]) == (r["operand"], r["bits"])]
        want = (float(r["finetuned_delta_pct"]) if r["finetuned_delta_pct"] else
                sum(group) / len(group) if len(group) >= 2 else
                cal["slope"] * float(r["proxy_delta_pct"]) + cal["intercept"])
        assert float(r["delta_pct"]) == pytest.approx(want, abs=2e-3 + abs(cal["slope"]) * 1e-3)
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert saved["reference_err_pct"] >= 0 and saved["wbits"] == 2
    assert -1 <= saved["spearman"] <= 1
    # A rerun keeps what was measured and trains nothing more.
    before = (tmp_path / "sensitivity.csv").read_text()
    sensitivity.measure(reference, tmp_path, sample=4, log=lambda s: None)
    assert (tmp_path / "sensitivity.csv").read_text() == before


def test_sensitivity_command_errors(tmp_path, capsys):
    assert sensitivity.main(["--reference", str(tmp_path / "none.pt")]) == 2
    assert "--reference" in capsys.readouterr().err
