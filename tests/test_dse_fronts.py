"""Fronts that compare like with like (dse.fronts): groups, points left out, equal points
collapsed; and a sweep over two data sets and two networks, as python -m dse.sweep writes it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dse.sweep as sweep
from accelsim.formats import ACCURACY_COLUMNS
from dse import fronts
from dse.pareto import brute_force_ranks

OBJECTIVES = {"top1_err_pct": "min", "energy_per_inference_uj": "min", "area_mm2": "min"}
COSTS = {"energy_per_inference_uj": "min", "area_mm2": "min"}


def _points(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.insert(0, "point_id", np.arange(len(frame)))
    return frame


def test_accuracy_groups_by_data_set_and_leaves_out_points_without_it():
    frame = _points(model=["a", "b", "a", "b", "a"], dataset=["x", "x", "x", "y", "y"],
                    width=1.0, widen="none", teacher="none", wbits=2, abits=8,
                    top1_err_pct=[5.0, 4.0, np.nan, 9.0, 8.0],
                    energy_per_inference_uj=[1.0, 2.0, 0.5, 1.0, 3.0],
                    area_mm2=[1.0, 1.0, 1.0, 1.0, 1.0])
    ranked = fronts.rank_fronts(frame, OBJECTIVES)
    out = ranked.frame
    assert list(out["pareto_group"]) == ["dataset=x"] * 3 + ["dataset=y"] * 2
    # the cheapest point has no accuracy: left out, not a winner on costs alone
    assert out["pareto_rank"].tolist() == [1, 1, pd.NA, 1, 1]
    assert out.loc[2, "pareto_filters"] == "all points; top1_err_pct known"
    assert out.loc[3, "pareto_filters"] == "all points"
    assert len(ranked.notes) == 1 and ranked.notes[0].startswith("x: 1 of 3 points left out")
    assert "a x width 1 widen none W2/A8 teacher none" in ranked.notes[0]


def test_without_accuracy_the_group_is_the_workload():
    frame = _points(model=["small", "big", "small", "big"], dataset="x", width=1.0,
                    widen="none", energy_per_inference_uj=[1.0, 10.0, 2.0, 5.0],
                    area_mm2=[2.0, 9.0, 1.0, 20.0], top1_err_pct=np.nan)
    out = fronts.rank_fronts(frame, COSTS).frame
    # the big network keeps a front of its own instead of losing every cost to the small one
    assert out["pareto_rank"].tolist() == [1, 1, 1, 1]
    assert out["pareto_group"].nunique() == 2
    assert out.loc[1, "pareto_group"] == "model=big dataset=x width=1 widen=none"
    # accuracy asked for but known nowhere in the data set: ranked on the costs, and said so
    ranked = fronts.rank_fronts(frame, OBJECTIVES)
    assert ranked.frame["pareto_rank"].tolist() == [1, 1, 1, 1]
    assert ranked.frame["pareto_objectives"].iloc[0] == fronts.objectives_text(COSTS)
    assert "accuracy unknown for all 4 points" in ranked.notes[0]


def test_equal_points_collapse_listing_what_differs():
    frame = _points(model="a", dataset="x", width=1.0, widen="none",
                    teacher=["none", "resnet101", "none"], top1_err_pct=[7.0, 6.0, np.nan],
                    energy_per_inference_uj=[1.0, 1.0, 2.0], area_mm2=[1.0, 1.0, 0.5])
    front = fronts.rank_fronts(frame, COSTS).front
    assert front["point_id"].tolist() == [0, 2]
    assert front["equal_points"].tolist() == [2, 1]
    assert front["point_ids"].tolist() == ["0 1", "2"]
    assert front["variants"].iloc[0] == "teacher: none, resnet101; top1_err_pct: 7, 6"
    assert front["variants"].iloc[1] == ""


@pytest.fixture(scope="module")
def two_by_two(tmp_path_factory):
    """A sweep of two networks on two data sets, with measured accuracy for some of it."""
    folder = tmp_path_factory.mktemp("sweep")
    rows = [dict(model=model, dataset="fashion-mnist", wbits=w, abits=a, widen="none", width=1,
                 teacher="", scheme="wrpn", epochs=3, seed=0, top1_err=err, source="measured")
            for model, w, a, err in (("resnet20", 2, 8, 9.0), ("resnet20", 32, 32, 7.0),
                                     ("resnet56", 2, 8, 8.0), ("resnet56", 32, 32, 6.0))]
    pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS)).to_csv(folder / "acc.csv", index=False)
    args = ["--model", "resnet20,resnet56", "--dataset", "cifar10,fashion-mnist",
            "--rows", "8,16", "--wbits", "2,32", "--abits", "8,32", "--teacher",
            "none,resnet101", "--accuracy", str(folder / "acc.csv"), "--progress", "off",
            "--workers", "1"]
    return folder, args


def test_a_sweep_of_two_data_sets_and_two_networks_groups_its_fronts(two_by_two, capsys):
    folder, args = two_by_two
    assert sweep.main(args + ["--out", str(folder / "acc")]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(folder / "acc" / "sweep.csv")
    assert len(frame) == 2 * 2 * 2 * 2 * 2 * 2
    assert set(frame["dataset"]) == {"cifar10", "fashion-mnist"}  # as typed, not fashionmnist
    assert sorted(frame["pareto_group"].unique()) == ["dataset=cifar10", "dataset=fashion-mnist"]
    assert (frame.groupby("pareto_group")["dataset"].nunique() == 1).all()
    # With accuracy, networks compete within a data set: both models are ranked together.
    ranked = frame[frame["pareto_rank"].notna()]
    assert set(ranked.loc[ranked["dataset"] == "fashion-mnist", "model"]) == {"resnet20",
                                                                              "resnet56"}
    # Points without accuracy are left out and counted: the paper has CIFAR-10 ResNet-56 only,
    # the measured rows no teacher.
    assert set(ranked.loc[ranked["dataset"] == "cifar10", "model"]) == {"resnet56"}
    assert frame["pareto_rank"].isna().sum() == frame["top1_err_pct"].isna().sum() > 0
    assert "left out of the fronts" in out and "cifar10" in out and "fashion-mnist" in out
    for _, group in ranked.groupby("pareto_group"):
        values = group[["top1_err_pct", "energy_per_inference_uj", "area_mm2", "latency_ms"]]
        assert group["pareto_rank"].tolist() == brute_force_ranks(values.to_numpy()).tolist()
    front = pd.read_csv(folder / "acc" / "pareto.csv")
    for column in fronts.RANK_COLUMNS + fronts.COLLAPSE_COLUMNS:
        assert column in front.columns
    assert (front["pareto_rank"] == 1).all()
    assert front["pareto_objectives"].str.startswith("min:top1_err_pct").all()


def test_the_same_sweep_without_accuracy_compares_workloads(two_by_two):
    folder, args = two_by_two
    assert sweep.main(args + ["--objectives", "energy,latency", "--out",
                              str(folder / "cost")]) == 0
    frame = pd.read_csv(folder / "cost" / "sweep.csv")
    assert frame["pareto_group"].nunique() == 4  # two networks x two data sets
    assert (frame.groupby("pareto_group")[["model", "dataset"]].nunique() == 1).all().all()
    assert frame["pareto_rank"].notna().all()
    front = pd.read_csv(folder / "cost" / "pareto.csv")
    # The teacher changes no hardware: each design is listed once, its teachers in a column.
    assert (front["equal_points"] == 2).all()
    assert front["variants"].str.startswith("teacher: none, resnet101").all()
    assert set(front["pareto_group"]) == set(frame["pareto_group"])


def test_collapsed_rows_count_empty_values_as_one():
    frame = _points(model="a", dataset="x", width=1.0, widen="none",
                    teacher=["none", "resnet101", "t2"], top1_err_pct=[np.nan, np.nan, 5.0],
                    energy_per_inference_uj=1.0, area_mm2=1.0)
    front = fronts.rank_fronts(frame, COSTS).front
    assert front["variants"].item() == "teacher: none, resnet101, t2; top1_err_pct: -, 5"
