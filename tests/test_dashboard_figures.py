"""dashboards without a browser: the tables, the figures, loading results, the command line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelsim.formats import ACCURACY_COLUMNS, metric_sense
from dashboards import app as dash_app
from dashboards import figures, frames, load
from dse.pareto import brute_force_ranks
from dse.results import join_accuracy, shipped_accuracy

SMALL_HARDWARE = dict(load.DEFAULT_HARDWARE, rows=[4, 8], cols=[8], dataflow=["os", "ws"],
                      wbits=[2, 4, 32], abits=[8, 32])


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    frame = load.default_sweep(models=("resnet44", "resnet56"), hardware=SMALL_HARDWARE,
                               measured=pd.DataFrame(columns=list(ACCURACY_COLUMNS)))
    return join_accuracy(load.check_sweep(frame, "test sweep"))


def measured_rows() -> pd.DataFrame:
    rows = [dict(model="resnet56", dataset="cifar10", wbits=2, abits=8, widen="first30", width=1,
                 teacher="", scheme="wrpn", epochs=3, seed=seed, top1_err=err, source="measured")
            for seed, err in ((0, 9.0), (1, 10.0))]
    return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS))


def results_dir(tmp_path, sweep, **files):
    sweep.to_csv(tmp_path / "sweep.csv", index=False)
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return tmp_path


# ----------------------------------------------------------------------------- accuracy view

def test_accuracy_points_match_every_paper_row_and_average_measured_seeds(tmp_path, sweep):
    results = load.load(results_dir(tmp_path, sweep,
                                    accuracy=measured_rows().to_csv(index=False)))
    points = frames.accuracy_points(results.accuracy, results.sweep, 8, 8, "os")
    paper = points[points["series"] == "paper"]
    assert len(paper) == 48 and paper["compute_cost_mac_bits"].notna().all()
    measured = points[(points["series"] == "measured") & (points["dataset"] == "cifar10")]
    assert len(measured) == 1 and measured["runs"].item() == 2
    assert measured["top1_err_pct"].item() == pytest.approx(9.5)
    # Compute cost is the network's MACs x (wbits + abits), each layer at its own widths
    # (WRPN's fp32 ends at 32 + 32), whatever the array.
    row = sweep[(sweep.model == "resnet56") & (sweep.widen == "first30") & (sweep.wbits == 2)
                & (sweep.abits == 8)].iloc[0]
    ends = 27 * 32 * 1024 + 64 * 10   # MACs of conv1 (3x3x3 -> 32 filters on 32x32) and the FC
    assert measured["compute_cost_mac_bits"].item() == row["compute_cost_mac_bits"] == (
        (row["macs_per_inference"] - ends) * 10 + ends * 64)
    on_4x8 = frames.accuracy_points(results.accuracy, results.sweep, 4, 8, "os")
    assert not np.allclose(on_4x8["area_mm2"], points["area_mm2"])


def test_accuracy_figure_series_front_and_switchable_x(tmp_path, sweep):
    results = load.load(results_dir(tmp_path, sweep,
                                    accuracy=measured_rows().to_csv(index=False)))
    points = frames.accuracy_points(results.accuracy, results.sweep, 8, 8, "os", "cifar10")
    assert set(points["dataset"]) == {"cifar10"}
    fig = figures.accuracy_cost_figure(points, "compute_cost_mac_bits")
    names = [t.name for t in fig.data]
    assert any(n.startswith("paper: wrpn") for n in names)
    assert any(n.startswith("measured: wrpn") for n in names)
    front = fig.data[-1]
    assert front.name == "Pareto front of cifar10"  # one data set per front
    drawn = sum(len(t.x) for t in fig.data[:-1])
    assert drawn == points["compute_cost_mac_bits"].notna().sum() == 48 + 1
    xs, ys = np.asarray(front.x), np.asarray(front.y)
    assert (np.diff(xs) >= 0).all() and (np.diff(ys) <= 0).all()
    # Nothing drawn lies below-left of the front.
    best = points["top1_err_pct"][points["compute_cost_mac_bits"] <= xs[0]].min()
    assert ys[0] == best
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == \
        "compute cost (MAC-bits)"
    energy = figures.accuracy_cost_figure(points, "energy_per_inference_uj", "8x8 OS",
                                          log_x=False, log_y=True)
    assert energy.layout.xaxis.title.text == "energy per inference (uJ)"
    assert energy.layout.xaxis.type == "linear" and energy.layout.yaxis.type == "log"
    assert not np.array_equal(np.asarray(energy.data[0].x), np.asarray(fig.data[0].x))
    # the hover box carries the whole configuration, quantizer included
    hover = fig.data[0].hovertext[0]
    for part in ("width 1", "widening", "W", "teacher", "scheme", "activation quantizer wrpn",
                 "source paper:Table"):
        assert part in hover


def test_accuracy_rows_without_a_design_point_are_named(sweep):
    table = shipped_accuracy()  # the committed Fashion-MNIST rows: not in this sweep
    points = frames.accuracy_points(table, sweep, 8, 8, "os", "fashion-mnist")
    names = frames.missing_rows(points, "compute_cost_mac_bits")
    assert len(names) == len(points) > 0
    assert "resnet20 fashion-mnist width 0.5 widen none W2/A8 teacher none (measured)" in names
    fig = figures.accuracy_cost_figure(points, "compute_cost_mac_bits")
    assert "No accuracy row of fashion-mnist" in fig.layout.annotations[0].text


def test_accuracy_figure_without_matching_points_says_so(sweep):
    table = measured_rows().assign(model="resnet20")
    fig = figures.accuracy_cost_figure(
        frames.accuracy_points(table, sweep, 8, 8, "os"), "compute_cost_mac_bits")
    assert len(fig.data) == 0 and "No accuracy row" in fig.layout.annotations[0].text


# ----------------------------------------------------------------------------- footprint view

def test_footprint_bars_scale_with_batch_and_precision():
    table = load.shipped_footprint()
    base = frames.footprint_bars(table, "training", 1, 32, 32)
    assert list(base["model"]) == list(dict.fromkeys(table["model"]))
    row = table[(table.model == "alexnet") & (table.phase == "training") & (table.batch == 32)
                & (table.wbits == 32)].iloc[0]
    at_32 = frames.footprint_bars(table, "training", 32, 32, 32).set_index("model")
    assert at_32.loc["alexnet", "activations_mib"] == pytest.approx(row["activations_mib"],
                                                                    rel=1e-3)
    low = frames.footprint_bars(table, "training", 32, 2, 8).set_index("model")
    assert np.allclose(low["weights_mib"], at_32["weights_mib"] / 16)
    assert np.allclose(low["activations_mib"], at_32["activations_mib"] / 4)
    # The paper's observation: at batch 32 activations outweigh weights in training...
    assert (at_32.loc["resnet50", "activations_mib"] > at_32.loc["resnet50", "weights_mib"])
    # ...and at batch 1 inference the weights dominate.
    one = frames.footprint_bars(table, "inference", 1, 32, 32).set_index("model")
    assert (one["weights_mib"] > one["activations_mib"]).all()
    fig = figures.footprint_figure(low.reset_index(), "training", 32, 2, 8, log_y=False)
    assert [t.name for t in fig.data] == ["weights", "activations"]
    assert fig.layout.barmode == "group" and len(fig.data[0].x) == len(low)
    assert fig.layout.yaxis.type == "linear"


# ----------------------------------------------------------------------------- explorer

def test_explorer_fronts_are_per_workload_without_accuracy(sweep):
    shown = frames.filter_sweep(sweep, {"dataflow": ["os"], "rows": [4, 8], "model": None})
    assert set(shown["dataflow"]) == {"os"} and len(shown) == len(sweep) // 2
    ranked = frames.explorer_front(shown, "area_mm2", "inferences_per_s", {},
                                   frames.filters_text(sweep, {"dataflow": ["os"]}))
    front = ranked.front
    # one front per (network, width, widening, data set), each the non-dominated set of its own
    assert front["pareto_group"].nunique() == shown[list(frames.NETWORK_KEY)].drop_duplicates() \
        .shape[0]
    for group, members in ranked.frame.groupby("pareto_group"):
        assert members[list(frames.NETWORK_KEY)].drop_duplicates().shape[0] == 1
        values = np.column_stack([members["area_mm2"], -members["inferences_per_s"]])
        on_front = set(members["point_id"][brute_force_ranks(values) == 1])
        collapsed = front[front["pareto_group"] == group]
        assert set(" ".join(collapsed["point_ids"]).split()) == {str(i) for i in on_front}
    # the teacher changes no hardware: each design is one row, its teachers listed
    assert (front["equal_points"] == 2).all()
    assert front["variants"].str.startswith("teacher: none, resnet101").all()
    assert set(front["pareto_filters"]) == {"dataflow in {os}"}
    assert set(front["pareto_objectives"]) == {"min:area_mm2 max:inferences_per_s"}
    flipped = frames.explorer_front(shown, "area_mm2", "inferences_per_s",
                                    {"inferences_per_s": "min"}).front
    assert set(flipped["point_id"]) != set(front["point_id"])


def test_explorer_front_with_accuracy_is_one_per_data_set(sweep):
    ranked = frames.explorer_front(sweep, "energy_per_inference_uj", "top1_err_pct", {})
    front = ranked.front
    assert len(front) and front["top1_err_pct"].notna().all()
    assert set(front["pareto_group"]) == {"dataset=cifar10"}
    assert set(front["model"]) == {"resnet44", "resnet56"}  # networks compete on accuracy
    left_out = ranked.frame["pareto_rank"].isna()
    assert left_out.sum() == sweep["top1_err_pct"].isna().sum()


def test_explorer_figure_draws_every_point_and_the_fronts(sweep):
    front = frames.explorer_front(sweep, "area_mm2", "latency_ms", {}).front
    senses = {"area_mm2": "min", "latency_ms": "min"}
    numeric = figures.explorer_figure(sweep, front, "area_mm2", "latency_ms", "power_mw", senses)
    fronts_drawn = [t for t in numeric.data if t.legendgroup == "fronts"]
    assert len(fronts_drawn) == front["pareto_group"].nunique() == 4
    assert len(numeric.data[0].x) == len(sweep) and numeric.data[0].marker.showscale
    assert numeric.data[0].marker.colorbar.title.text == "power (mW)"
    by_model = figures.explorer_figure(sweep, front, "area_mm2", "latency_ms", "model", senses,
                                       log_x=True)
    points = [t for t in by_model.data if t.legendgroup == "points"]
    assert [t.name for t in points] == ["resnet44", "resnet56"]
    assert sum(len(t.x) for t in points) == len(sweep)
    assert by_model.layout.xaxis.type == "log"
    assert by_model.layout.xaxis.title.text == "area (mm2)"
    assert by_model.layout.yaxis.title.text == "latency (ms)"
    lines = [t for t in by_model.data if t.legendgroup == "fronts"]
    assert sorted(i for t in lines for i in t.customdata) == sorted(front["point_id"])
    empty = figures.explorer_figure(sweep.iloc[:0], front.iloc[:0], "area_mm2", "latency_ms",
                                    None, senses)
    assert "No design point" in empty.layout.annotations[0].text


def test_few_valued_numeric_columns_colour_by_category(sweep):
    front = frames.explorer_front(sweep, "area_mm2", "latency_ms", {}).front
    fig = figures.explorer_figure(sweep, front, "area_mm2", "latency_ms", "wbits",
                                  {"area_mm2": "min", "latency_ms": "min"})
    points = [t for t in fig.data if t.legendgroup == "points"]
    assert [t.name for t in points] == ["2", "4", "32"]  # a legend entry per width
    assert len({t.marker.color for t in points}) == 3
    assert points[0].legendgrouptitle.text == "weight bits (b)"


def test_event_point_ids_read_customdata_or_the_text_prefix():
    event = {"points": [{"customdata": 7, "text": "#9 x"}, {"text": "#12 resnet56 none W2/A8"},
                        {"text": "no id"}, {"x": 1}]}
    assert frames.event_point_ids(event) == [7, 12]
    assert frames.event_point_ids(None) == []


def test_metric_and_colour_columns(sweep):
    metrics = frames.metric_columns(sweep)
    assert "energy_per_inference_uj" in metrics and "point_id" not in metrics
    assert "model" not in metrics and "model" in frames.colour_columns(sweep)
    assert metric_sense("tops_per_w") == "max" and metric_sense("latency_ms") == "min"


# ----------------------------------------------------------------------------- inside the array

@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_array_run_busy_map_and_folds_add_up(dataflow):
    run = frames.array_run("resnet20", "cifar10", 1.0, "none", "stage3.block1.conv1", 4, 8,
                           dataflow, 2, 8)
    m, n, k = run.m, run.n, run.k
    assert run.pe_busy.shape == (4, 8)
    assert run.pe_busy.sum() == run.macs == m * n * k
    assert run.folds["macs"].sum() == run.macs
    assert run.folds["clocks"].sum() == run.cycles + 1  # SCALE-Sim's cycles are clocks - 1
    sr, sc = {"os": (m, n), "ws": (k, n), "is": (k, m)}[dataflow]
    assert len(run.folds) == -(-sr // 4) * -(-sc // 8)
    heat = figures.pe_heatmap_figure(run)
    total = run.folds["clocks"].sum()
    assert np.allclose(np.asarray(heat.data[0].z), run.pe_busy / total)
    assert np.array_equal(np.asarray(heat.data[0].customdata), run.pe_busy)
    timeline = figures.fold_timeline_figure(run)
    assert sum(len(bar.x) for bar in timeline.data) == min(len(run.folds),
                                                           figures.MAX_TIMELINE_BARS)
    assert sum(np.sum(bar.width) for bar in timeline.data) == total


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_the_wavefront_of_every_fold_adds_up_to_the_kernels_count(dataflow):
    """fold_states, clock by clock, against the cycle-level model's own per-fold MACs."""
    run = frames.array_run("resnet20", "cifar10", 1.0, "none", "conv1", 8, 8, dataflow, 2, 8)
    assert run.folds["partial"].any() == (dataflow != "os")  # K = 27 on the rows leaves 3
    for fold in range(len(run.folds)):
        clocks = int(run.folds["clocks"].iloc[fold])
        states = frames.fold_states(run, fold, range(clocks + 1))
        assert (states == 3).sum() == run.folds["macs"].iloc[fold]
        # the last PE of the tile makes the fold's last MAC in its last clock, and then it ends
        used = run.folds[["used_rows", "used_cols"]].iloc[fold]
        assert (states[clocks - 1] == 3).sum() == (used.tolist() == [8, 8])
        assert set(np.unique(states[clocks])) <= {0, 4}
    losses = frames.utilisation_losses(run)
    assert losses["pe_clocks"].sum() == run.folds["clocks"].sum() * 64
    assert losses["share"].iloc[0] == pytest.approx(run.utilization)
    assert (losses["pe_clocks"] >= 0).all()
    assert (losses.loc[1, "pe_clocks"] > 0) == (dataflow != "os")  # only WS and IS preload


def test_wavefront_figure_steps_through_the_clocks():
    run = frames.array_run("resnet20", "cifar10", 1.0, "none", "conv1", 8, 8, "ws", 2, 8)
    fold = int(np.flatnonzero(run.folds["partial"])[0])
    fig = figures.wavefront_figure(run, fold)
    clocks = [int(f.name) for f in fig.frames]
    assert clocks[0] == 0 and clocks[-1] == run.folds["clocks"].iloc[fold] - 1
    assert len(fig.layout.sliders[0].steps) == len(fig.frames) <= figures.MAX_FRAMES
    # every clock of the fill is shown, where the wavefront moves
    assert clocks[:run.preload + 16] == list(range(run.preload + 16))
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["play", "pause"]
    assert list(fig.data[0].colorbar.ticktext) == list(frames.FOLD_STATES)
    assert "partial fold" in fig.layout.title.text
    z = np.asarray(fig.frames[len(fig.frames) // 2].data[0].z)
    assert (z == 0).any() and (z == 3).any()  # idle rows beside working ones
    losses = figures.losses_figure(frames.utilisation_losses(run), run)
    assert [t.name for t in losses.data][0] == "MACs (busy)"


def test_fold_groups_merge_many_folds_without_losing_work():
    folds = pd.DataFrame({"fold": np.arange(1000), "first_row": 0, "first_col": 0,
                          "start_clock": np.arange(1000) * 10, "clocks": 10, "macs": 160})
    bars = figures.fold_groups(folds, pes=32, limit=300)
    assert len(bars) == 300 and bars["clocks"].sum() == 10_000 and bars["macs"].sum() == 160_000
    assert bars["first_fold"].iloc[0] == 0 and bars["last_fold"].iloc[-1] == 999
    assert np.allclose(bars["utilization"], 0.5)


def test_array_run_rejects_unknown_networks_and_layers():
    with pytest.raises(ValueError, match="not a network"):
        frames.array_run("mytrace", "cifar10", 1.0, "none", "conv1", 8, 8, "os", 2, 8)
    with pytest.raises(ValueError, match="no layer"):
        frames.array_run("resnet20", "cifar10", 1.0, "none", "nope", 8, 8, "os", 2, 8)
    assert frames.network_layers("mytrace", "cifar10", 1.0, "none") == []


# ----------------------------------------------------------------------------- loading results

def test_default_sweep_is_used_without_a_results_folder():
    results = load.load(None)
    assert not results.messages and "default sweep" in results.source
    cifar = results.sweep[results.sweep["dataset"] == "cifar10"]
    assert len(cifar) == 11_520 and cifar["top1_err_pct"].notna().any()
    # the committed measured rows (data/accuracy_measured.csv) get their networks swept too
    measured = results.sweep[results.sweep["accuracy_source"].str.startswith("measured")]
    assert len(measured) and set(measured["dataset"]) == {"fashion-mnist"}
    assert results.sweep["point_id"].is_unique


@pytest.mark.parametrize("text, expected", [
    ("rows,cols\n8,8\n", "missing columns model"),
    ("model,rows,cols,dataflow,wbits,abits\nresnet56,eight,8,os,2,8\n", "line 2: rows='eight'"),
    ("model,rows,cols,dataflow,wbits,abits\n", "no design points"),
    ('model,rows\n"resnet56,8\n', "cannot be read"),
    ("", "cannot be read"),
])
def test_malformed_sweep_becomes_a_message(tmp_path, text, expected):
    (tmp_path / "sweep.csv").write_text(text)
    results = load.load(tmp_path)
    assert results.sweep.empty
    assert len(results.messages) == 1 and expected in results.messages[0]
    assert str(tmp_path) not in results.messages[0]  # files are named relative to the folder


def test_malformed_accuracy_and_footprint_fall_back_with_messages(tmp_path, sweep):
    folder = results_dir(tmp_path, sweep, accuracy="model,wbits\nresnet56,2\n",
                         footprint="model,phase,batch,wbits,abits,weights_mib,activations_mib\n"
                                   "alexnet,training,1,32,32,lots,1\n")
    results = load.load(folder)
    assert len(results.messages) == 2
    assert "accuracy.csv" in results.messages[0] and "missing columns" in results.messages[0]
    assert "footprint.csv line 2" in results.messages[1]
    assert str(tmp_path) not in " ".join(results.messages)
    assert len(results.accuracy) == len(shipped_accuracy()) and len(results.footprint) == 84


def test_results_folder_without_sweep_uses_default_and_says_so(tmp_path):
    results = load.load(tmp_path)
    assert (results.sweep["dataset"] == "cifar10").sum() == 11_520
    assert "No sweep.csv" in results.messages[0]


def test_malformed_sweep_page_shows_the_message(tmp_path):
    (tmp_path / "sweep.csv").write_text("rows,cols\n8,8\n")
    app = dash_app.create_app(load.load(tmp_path))
    layout = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "missing columns model" in layout and "Traceback" not in layout


# ----------------------------------------------------------------------------- command line

@pytest.mark.parametrize("argv, expected", [
    (["--port", "http"], "--port: 'http' is not a port"),
    (["--port", "70000"], "--port: '70000' is not a port"),
    (["--results", "/no/such/folder"], "--results: '/no/such/folder' is not a folder"),
    (["--colour"], "unrecognized arguments: --colour"),
])
def test_bad_command_line_is_one_line_and_exit_2(capsys, argv, expected):
    assert dash_app.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_defaults_are_loopback_and_no_debug():
    args = dash_app.parse_args([])
    assert args.host == "127.0.0.1" and args.port == 8050 and args.debug is False
    assert dash_app.parse_args(["--debug"]).debug is True


def test_mixed_precision_strips_show_each_layers_widths():
    from dashboards import figures, frames

    layers = "stage1.block1.conv1 stage1.block1.conv2 stage2.block1.conv1"
    table = pd.DataFrame(dict(
        design=["uniform w2a8", "mixed mp-1", "mixed mp-2"], kind=["uniform", "mixed", "mixed"],
        pe=["2x8"] * 3, layers=layers, layer_widths=["2/8 2/8 2/8", "1/8 2/4 2/8", "2/4 2/4 1/2"],
        top1_err_pct=[27.7, 28.0, np.nan], top1_err_se=[0.6, 0.5, np.nan], runs=[3, 3, 0],
        top1_err_est_pct=[np.nan, 27.9, 30.1], energy_per_inference_uj=[12.3, 11.0, 9.5]))
    strips = frames.mixed_strips(table)
    assert strips.designs == ["mixed mp-2", "mixed mp-1", "uniform w2a8"]  # cheapest first
    assert strips.layers == ["s1b1c1", "s1b1c2", "s2b1c1"]
    assert strips.wbits.tolist() == [[2, 2, 1], [1, 2, 2], [2, 2, 2]]
    assert strips.abits.tolist() == [[4, 4, 2], [8, 4, 8], [8, 8, 8]]
    fig = figures.mixed_precision_figure(strips)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 2 and list(heat[0].y) == strips.designs
    # one flat colour per width: 1-bit and 2-bit cells fall in different steps of the scale
    assert heat[0].z[0][2] != heat[0].z[0][0]
    assert [t.name for t in fig.data if t.type == "scatter"] == ["measured (mean ± SE)",
                                                                  "estimated"]
    assert "No mixed-precision" in figures.mixed_precision_figure(
        frames.mixed_strips(table.iloc[:0])).layout.annotations[0].text
