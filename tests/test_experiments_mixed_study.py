"""The mixed-precision study end to end at toy size: search, choose, train with policies, rescore
with the measured runs, compare with the uniform grid."""
import json

import pandas as pd
import torch

from accelsim.formats import SENSITIVITY_COLUMNS
from experiments import mixed_precision

torch.set_num_threads(1)
LAYERS = [f"stage{s}.block{b}.conv{c}" for s in (1, 2, 3) for b in (1, 2, 3) for c in (1, 2)]


def test_study_verifies_front_designs_and_compares(tmp_path):
    sens = tmp_path / "sens"
    sens.mkdir()
    rows = [(layer, "w", b, 1.0, "", d) for layer in LAYERS for b, d in ((1, 0.4), (4, 0.0),
                                                                        (8, 0.0))]
    rows += [(layer, "a", b, 1.0, "", d) for layer in LAYERS for b, d in ((2, 0.3), (4, 0.05))]
    pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).to_csv(sens / "sensitivity.csv", index=False)
    (sens / "calibration.json").write_text(json.dumps(dict(
        reference_err_pct=30.0, wbits=2, abits=8, quantizer="pact", samples=4, pearson=0.5,
        spearman=0.4)))
    uniform = tmp_path / "uniform"
    uniform.mkdir()
    (uniform / "preset.json").write_text(json.dumps(dict(
        model="resnet20", dataset="fashion-mnist", width=0.25, epochs=1, subset=64)))
    head = "model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,source,quantizer"
    lines = [f"resnet20,fashion-mnist,{w},{a},none,0.25,none,none,1,{s},{e + s},measured,pact"
             for (w, a, e) in ((2, 8, 40.0), (32, 32, 35.0)) for s in (0, 1, 2)]
    (uniform / "accuracy.csv").write_text(head + "\n" + "\n".join(lines) + "\n")
    out = tmp_path / "mixed"
    table = mixed_precision.study(str(sens), str(uniform), out, designs=2, seeds=[0],
                                  generations=3, array=mixed_precision.PAPER_ARRAY,
                                  log=lambda s: None)
    assert set(table.kind) == {"uniform", "mixed"}
    base = table[table.design == "uniform w2a8"].iloc[0]
    assert base.top1_err_pct == 41.0 and base.runs == 3 and base.pe == "2x8"
    mixed = table[table.kind == "mixed"]
    assert 1 <= len(mixed) <= 2 and (mixed.runs == 1).all()
    assert (mixed.energy_per_inference_uj < base.energy_per_inference_uj).all()
    runs = pd.read_csv(out / "accuracy.csv", keep_default_na=False)
    assert set(runs.policy) == set(mixed.policy) and (runs.source == "measured").all()
    from accelsim.policy import read_policies
    assert set(read_policies(out / "policies.csv")) == set(mixed.policy)  # the verified ones
    md = (out / "mixed_precision.md").read_text()
    assert "uniform w2a8" in md and ("**Found**" in md or "**Negative finding**" in md)
    # A rerun trains nothing more.
    before = (out / "accuracy.csv").read_text()
    mixed_precision.study(str(sens), str(uniform), out, designs=2, seeds=[0], generations=3,
                          array=mixed_precision.PAPER_ARRAY, log=lambda s: None)
    assert (out / "accuracy.csv").read_text() == before
