"""The paper's accuracy tables ship as data and join onto design points by their key."""
import numpy as np
import pandas as pd
import pytest

from dse.results import accuracy_table, join_accuracy, paper_accuracy, read_accuracy


def _point(**overrides):
    row = dict(model="resnet56", dataset="cifar10", wbits=2, abits=8, widen="none", width=1.0,
               teacher="none")
    row.update(overrides)
    return pd.DataFrame([row])


def test_paper_tables_ship_with_the_package():
    table = paper_accuracy()
    assert len(table) == 4 * 2 * 3 * 2  # tables x networks x weight widths x activation widths
    assert sorted(table["source"].unique()) == [f"paper:Table{i}" for i in range(1, 5)]
    # ResNet-56, 2-bit weights, 8-bit activations in Tables 1-4 (the paper's headline row)
    cases = {("none", "none"): 7.2, ("first30", "none"): 6.4, ("none", "resnet101"): 6.1,
             ("first30", "resnet101"): 5.6}
    for (widen, teacher), err in cases.items():
        joined = join_accuracy(_point(widen=widen, teacher=teacher))
        assert joined["top1_err_pct"].item() == pytest.approx(err)


def test_unknown_point_has_empty_accuracy():
    joined = join_accuracy(_point(wbits=1))
    assert np.isnan(joined["top1_err_pct"].item())
    assert joined["accuracy_source"].item() == ""


def test_measured_rows_win_and_average_over_seeds(tmp_path):
    path = tmp_path / "acc.csv"
    path.write_text(
        "model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,source\n"
        "resnet56,CIFAR-10,2,8,none,1,,,30,0,7.0,measured\n"
        "resnet56,cifar10,2,8,none,1,,,30,1,8.0,measured\n"
        "resnet20,fashion-mnist,2,4,none,1,runs/t/model.pt,B,3,0,9.5,measured\n")
    joined = join_accuracy(_point(), accuracy_table([path]))
    assert joined["top1_err_pct"].item() == pytest.approx(7.5)
    # A table without the quantizer column was trained with WRPN's clip.
    assert joined["accuracy_source"].item() == "measured wrpn (2 runs)"
    assert joined["quantizer"].item() == "wrpn"
    other = join_accuracy(_point(model="resnet20", dataset="fashionmnist", abits=4,
                                 teacher="runs/t/model.pt"), accuracy_table([path]))
    assert other["top1_err_pct"].item() == pytest.approx(9.5)
    assert other["scheme"].item() == "B"


def test_quantizers_are_never_averaged_and_the_best_one_joins(tmp_path):
    path = tmp_path / "acc.csv"
    path.write_text(
        "model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,source,"
        "quantizer\n"
        "resnet56,cifar10,2,8,none,1,,,30,0,90.0,measured,wrpn\n"
        "resnet56,cifar10,2,8,none,1,,,30,1,88.0,measured,wrpn\n"
        "resnet56,cifar10,2,8,none,1,,,30,0,9.0,measured,pact\n"
        "resnet56,cifar10,2,8,none,1,,,30,1,10.0,measured,pact\n"
        "resnet56,cifar10,2,32,none,1,,,30,0,12.0,measured,pact\n"
        "resnet56,cifar10,2,32,none,1,,,30,0,11.0,measured,wrpn\n")
    table = accuracy_table([path])
    joined = join_accuracy(_point(), table)
    assert joined["top1_err_pct"].item() == pytest.approx(9.5)  # pact's mean, wrpn's apart
    assert joined["accuracy_source"].item() == "measured pact (2 runs)"
    other = join_accuracy(_point(abits=32), table)
    assert other["top1_err_pct"].item() == pytest.approx(11.0)
    assert other["quantizer"].item() == "wrpn"
    # The paper's rows are WRPN's.
    assert set(paper_accuracy()["quantizer"]) == {"wrpn"}


def test_bad_accuracy_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("model,wbits\nresnet56,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_accuracy(path)
    path.write_text("model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,"
                    "source\nresnet56,cifar10,two,8,none,1,,,,,7,measured\n")
    with pytest.raises(ValueError, match="line 2: wbits='two'"):
        read_accuracy(path)


def test_dse_runs_without_torch_or_training():
    import subprocess
    import sys
    code = ("import sys, dse.sweep, dse.results, dse.pareto, dse.search; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'training')]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
