"""The mixed-precision search: its accuracy model, its candidates priced as the sweep prices
points, the front, measured runs replacing estimates, resume, and bad input."""
import json

import numpy as np
import pandas as pd
import pytest

from accelsim.formats import SENSITIVITY_COLUMNS
from accelsim.policy import read_policies
from dse import search
from dse.pareto import brute_force_ranks
from dse.sweep import main as sweep_main

LAYERS = [f"stage{s}.block{b}.conv{c}" for s in (1, 2, 3) for b in (1, 2, 3) for c in (1, 2)]


@pytest.fixture(scope="module")
def sensitivity(tmp_path_factory):
    """A sensitivity folder for ResNet-20 w2a8: known deltas, so estimates can be checked."""
    folder = tmp_path_factory.mktemp("sens")
    rows = []
    for i, layer in enumerate(LAYERS):
        for bits, delta in ((1, 0.5 + 0.01 * i), (4, -0.05), (8, -0.1)):
            rows.append((layer, "w", bits, 1.0, "", delta))
        for bits, delta in ((2, 0.3), (4, 0.02 * i)):
            rows.append((layer, "a", bits, 1.0, "", delta))
    pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).to_csv(folder / "sensitivity.csv",
                                                           index=False)
    (folder / "calibration.json").write_text(json.dumps(dict(
        reference_err_pct=10.0, wbits=2, abits=8, quantizer="pact", model="resnet20")))
    return folder


def test_the_estimate_adds_the_measured_changes(sensitivity):
    model = search.AccuracyModel.read(sensitivity)
    assert model.layers == LAYERS and model.reference_err_pct == 10.0
    problem, _, _ = search.parse(["--sensitivity", str(sensitivity), "--rows", "8",
                                  "--cols", "8", "--wbits", "2", "--abits", "8"])
    space = problem.space
    genes = np.zeros((3, len(space.upper)), dtype=np.int64)
    start = len(search.ARRAY_GENES)
    genes[:, start::2] = space.layer_wbits.index(2)
    genes[:, start + 1::2] = space.layer_abits.index(8)
    genes[1, start] = space.layer_wbits.index(1)           # stage1.block1.conv1 at 1-bit weights
    genes[2, start + 1 + 2 * 5] = space.layer_abits.index(4)  # layer 5's activations at 4 bits
    out = search.evaluate_genes(problem, genes)
    assert out["top1_err_est_pct"].tolist() == pytest.approx([10.0, 10.5, 10.1])
    assert out["policy"].iloc[0] == "" and out["policy"].iloc[1].startswith("mp-")
    assert out["policy"].iloc[1] != out["policy"].iloc[2]
    with pytest.raises(ValueError, match="--layer-wbits 16"):
        model.table("w", [2, 16])


def test_a_uniform_candidate_costs_what_the_sweep_says(sensitivity, tmp_path):
    problem, _, _ = search.parse(["--sensitivity", str(sensitivity), "--rows", "8", "--cols",
                                  "8", "--wbits", "2", "--abits", "8"])
    space = problem.space
    genes = np.zeros((1, len(space.upper)), dtype=np.int64)
    genes[:, len(search.ARRAY_GENES)::2] = space.layer_wbits.index(2)
    genes[:, len(search.ARRAY_GENES) + 1::2] = space.layer_abits.index(8)
    mine = search.evaluate_genes(problem, genes).iloc[0]
    assert sweep_main(["--model", "resnet20", "--dataset", "fashion-mnist", "--width", "0.5",
                       "--rows", "8", "--cols", "8", "--wbits", "2", "--abits", "8",
                       "--out", str(tmp_path), "--progress", "off"]) == 0
    theirs = pd.read_csv(tmp_path / "sweep.csv").iloc[0]
    for column in ("energy_per_inference_uj", "latency_ms", "area_mm2", "cycles"):
        assert mine[column] == pytest.approx(theirs[column], rel=1e-9), column


def test_search_front_policies_and_resume(sensitivity, tmp_path):
    argv = ["--sensitivity", str(sensitivity), "--rows", "4,8", "--cols", "8", "--wbits", "1,2",
            "--abits", "4,8", "--objectives", "error,energy", "--population", "12",
            "--generations", "3", "--out", str(tmp_path)]
    assert search.main(argv) == 0
    evaluated = search.read_candidates(tmp_path / "search.csv")
    front = search.read_candidates(tmp_path / "front.csv")
    assert len(evaluated) >= 12 and set(evaluated["generation"]) == {0, 1, 2}
    values = evaluated[["top1_err_pct", "energy_per_inference_uj"]].to_numpy(float)
    assert np.array_equal(evaluated["pareto_rank"].to_numpy(), brute_force_ranks(values))
    assert (front["pareto_rank"] == 1).all() and (front["error_source"] == "estimate").all()
    policies = read_policies(tmp_path / "policies.csv")
    assert set(policies) == set(front["policy"]) - {""}
    assert all(set(p) == set(LAYERS) for p in policies.values())
    before = len(evaluated)
    assert search.main(argv[:-4] + ["--generations", "5", "--out", str(tmp_path),
                                    "--resume"]) == 0
    after = search.read_candidates(tmp_path / "search.csv")
    # generation 3 is the resumed run's seed population, all priced before: nothing new
    assert set(after["generation"]) == {0, 1, 2, 4} and len(after) > before
    assert not after.duplicated("genes").any()   # nothing priced twice
    # another search may not resume into this folder
    assert search.main(argv[:-4] + ["--population", "16", "--out", str(tmp_path),
                                    "--resume"]) == 2


def test_measured_runs_replace_the_estimate(sensitivity, tmp_path):
    argv = ["--sensitivity", str(sensitivity), "--rows", "8", "--cols", "8", "--objectives",
            "error,energy", "--population", "8", "--generations", "2", "--out", str(tmp_path)]
    assert search.main(argv) == 0
    front = search.read_candidates(tmp_path / "front.csv")
    chosen = front[front["policy"] != ""].iloc[0]
    table = tmp_path / "acc.csv"
    rows = [f"resnet20,fashion-mnist,2,8,none,0.5,none,none,3,{s},{e},measured,pact,"
            f"{chosen['policy']}" for s, e in ((0, 3.0), (1, 5.0))]
    table.write_text("model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,"
                     "top1_err,source,quantizer,policy\n" + "\n".join(rows) + "\n")
    assert search.main(argv + ["--resume", "--accuracy", str(table)]) == 0
    ranked = search.read_candidates(tmp_path / "search.csv")
    row = ranked[ranked["policy"] == chosen["policy"]].iloc[0]
    assert row["top1_err_pct"] == pytest.approx(4.0) and row["measured_runs"] == 2
    assert row["error_source"] == "measured (2 runs)"
    assert row["top1_err_se"] == pytest.approx(np.std([3.0, 5.0], ddof=1) / np.sqrt(2))


@pytest.mark.parametrize("argv,names", [
    ([], "--sensitivity"),
    (["--sensitivity", "/nonexistent"], "--sensitivity"),
    (["--layer-wbits", "3"], "--layer-wbits"),
    (["--layer-abits", "16"], "--layer-abits"),
    (["--quantize-ends"], "--quantize-ends"),
    (["--population", "0"], "--population"),
    (["--generations", "0"], "--generations"),
    (["--objectives", "beauty"], "--objectives"),
    (["--rows", "0"], "--rows"),
    (["--scheduler", "ftp://x"], "--scheduler"),
    (["--model", "resnet21"], "--model"),
])
def test_bad_input_is_one_line(sensitivity, tmp_path, capsys, argv, names):
    from badinput import expect_clean_error
    if argv and argv[0] != "--sensitivity" or not argv:
        argv = (["--sensitivity", str(sensitivity)] if argv else []) + argv
    expect_clean_error(search.main, argv + ["--out", "out"], names, tmp_path, capsys)


def test_a_search_on_dask_workers_equals_the_local_one(sensitivity, tmp_path):
    """Generations priced on a Dask LocalCluster: the same candidates, the same numbers."""
    argv = ["--sensitivity", str(sensitivity), "--rows", "4,8", "--cols", "8", "--wbits", "1,2",
            "--objectives", "error,energy", "--population", "8", "--generations", "2"]
    assert search.main(argv + ["--out", str(tmp_path / "local")]) == 0
    assert search.main(argv + ["--scheduler", "dask-local", "--workers", "2",
                               "--out", str(tmp_path / "dask")]) == 0
    local = search.read_candidates(tmp_path / "local" / "search.csv")
    dask = search.read_candidates(tmp_path / "dask" / "search.csv")
    pd.testing.assert_frame_equal(local, dask)
