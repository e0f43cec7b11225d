"""python -m dse.sweep: option parsing, single points equal to accelsim, files, resume, bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dse.sweep as sweep
from accelsim import ArrayConfig, simulate_network
from processes import children, survivors
from accelsim.cost import network_summary
from dse.pareto import brute_force_ranks
from dse.space import UsageError, parse_values

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--model", "resnet20", "--rows", "4,8,16", "--cols", "8,16", "--wbits", "2,4,32",
         "--abits", "8,32", "--progress", "off", "--workers", "1"]


def _csv(path):
    return Path(path).read_text()


# ----------------------------------------------------------------------------- parsing

def test_values_lists_and_ranges():
    assert parse_values("--rows", "8") == [8]
    assert parse_values("--rows", "4,8,16,8") == [4, 8, 16]
    assert parse_values("--rows", "4:16:4") == [4, 8, 12, 16]
    assert parse_values("--rows", "4:64:x2") == [4, 8, 16, 32, 64]
    assert parse_values("--freq-mhz", "0.5:1.5:0.5", "float") == [0.5, 1.0, 1.5]
    assert parse_values("--dataflow", "OS,ws", "str", allowed=("os", "ws", "is")) == ["os", "ws"]
    for text in ("0", "8:4", "3,x", "4:8:0", "4:8:x1", ""):
        with pytest.raises(UsageError, match="--rows"):
            parse_values("--rows", text, low=1)


# ----------------------------------------------------------------------------- one point

@pytest.mark.parametrize("engine", ["cycle", "analytic"])
def test_single_point_equals_accelsim(tmp_path, capsys, engine):
    args = ["--rows", "8", "--cols", "8", "--wbits", "2", "--abits", "8", "--model", "resnet20",
            "--engine", engine, "--out", str(tmp_path)]
    assert sweep.main(args) == 0
    printed = capsys.readouterr().out
    for label in ("compute cycles", "stall cycles", "latency", "inferences/s", "utilisation",
                  "energy per inference", "area", "power", "TOPS/W", "compute cost",
                  "weight memory", "activation memory", "top-1 error"):
        assert label in printed
    row = pd.read_csv(tmp_path / "sweep.csv").iloc[0]
    frame = simulate_network("resnet20", ArrayConfig(rows=8, cols=8, wbits=2, abits=8),
                             engine=engine)
    expected = network_summary(frame)
    assert row["cycles"] == expected["cycles"] == frame["cycles"].sum()
    assert row["total_cycles"] == expected["total_cycles"]
    assert row["stall_cycles"] == expected["stall_cycles"]
    for ours, theirs in (("energy_per_inference_uj", "energy_uj"), ("area_mm2", "total_mm2"),
                         ("power_mw", "power_mw"), ("tops_per_w", "tops_per_w"),
                         ("latency_ms", "latency_s")):
        scale = 1e3 if theirs == "latency_s" else 1
        assert row[ours] == pytest.approx(expected[theirs] * scale, rel=1e-12)
    # each layer at its own widths: WRPN's fp32 conv1 and FC at 32 + 32 bits, as
    # training.footprint counts them
    assert row["compute_cost_mac_bits"] == (frame["macs"] * (frame["layer_wbits"]
                                                             + frame["layer_abits"])).sum()
    assert row["compute_cost_mac_bits"] == 429_432_832
    assert row["energy_host_uj"] == pytest.approx(frame["energy_host_pj"].sum() / 1e6)
    for note in ("wide layers: host", "2 on the host unit", "between layers: sram",
                 "zero_gating: none", "DRAM share of energy"):
        assert note in printed
    assert np.isnan(row["top1_err_pct"])  # the paper has no ResNet-20 row: empty, not invented


def test_single_point_prints_paper_accuracy(capsys):
    assert sweep.main(["--engine", "analytic", "--widen", "first30"]) == 0
    out = capsys.readouterr().out
    assert "6.40 %" in out and "paper:Table2" in out


def test_cycle_and_analytic_sweeps_give_equal_cycles(tmp_path):
    base = ["--model", "resnet20", "--rows", "4,8", "--cols", "8", "--dataflow", "os,ws,is",
            "--progress", "off", "--workers", "1"]
    assert sweep.main(base + ["--engine", "cycle", "--out", str(tmp_path / "c")]) == 0
    assert sweep.main(base + ["--engine", "analytic", "--out", str(tmp_path / "a")]) == 0
    cyc, ana = (pd.read_csv(tmp_path / d / "sweep.csv") for d in "ca")
    for column in ("cycles", "stall_cycles", "total_cycles", "macs_per_inference", "area_mm2"):
        np.testing.assert_array_equal(cyc[column], ana[column])


# ----------------------------------------------------------------------------- a sweep

def test_sweep_files_and_front(tmp_path, capsys):
    assert sweep.main(SMALL + ["--out", str(tmp_path), "--format", "csv,parquet"]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "sweep.csv")
    assert len(frame) == 3 * 2 * 3 * 2 and frame["point_id"].tolist() == list(range(36))
    assert "accuracy unknown for all 36 points" in out  # the paper has no ResNet-20
    objectives = ["energy_per_inference_uj", "area_mm2", "latency_ms"]
    ranks = brute_force_ranks(frame[objectives].to_numpy())
    np.testing.assert_array_equal(frame["pareto_rank"], ranks)
    front = pd.read_csv(tmp_path / "pareto.csv")
    assert front["point_id"].tolist() == frame.loc[ranks == 1, "point_id"].tolist()
    parquet = pd.read_parquet(tmp_path / "sweep.parquet")
    assert parquet.columns.tolist() == frame.columns.tolist()
    for column in frame.columns:  # CSV reads an empty string back as NaN; Parquet keeps ""
        left, right = parquet[column], frame[column]
        if left.dtype.kind in "iuf":
            np.testing.assert_array_equal(left.to_numpy(float), right.to_numpy(float))
        else:
            assert ([x if isinstance(x, str) else "" for x in left]
                    == [x if isinstance(x, str) else "" for x in right])
    assert not list(tmp_path.glob(".*"))  # the journal is gone after a finished sweep
    for column in ("latency_ms", "energy_per_inference_uj", "area_mm2", "power_mw",
                   "weight_memory_kb", "compute_cost_mac_bits"):
        assert column in frame.columns


def test_accuracy_joins_and_ranks(tmp_path, capsys):
    args = ["--wbits", "2,4,32", "--abits", "8,32", "--widen", "none,first30",
            "--teacher", "none,resnet101", "--progress", "off", "--out", str(tmp_path)]
    assert sweep.main(args) == 0
    frame = pd.read_csv(tmp_path / "sweep.csv")
    assert frame["top1_err_pct"].notna().all()
    assert sorted(frame["accuracy_source"].unique()) == [f"paper:Table{i}" for i in range(1, 5)]
    assert "note" not in capsys.readouterr().out
    assert frame["pareto_objectives"].iloc[0].startswith("min:top1_err_pct")
    best = frame.loc[frame["top1_err_pct"].idxmin()]
    assert best["pareto_rank"] == 1


def test_local_processes_equal_one_process(tmp_path):
    assert sweep.main(SMALL + ["--out", str(tmp_path / "one")]) == 0
    assert sweep.main(SMALL[:-2] + ["--workers", "2", "--chunk-points", "5",
                                    "--out", str(tmp_path / "two")]) == 0
    assert _csv(tmp_path / "one" / "sweep.csv") == _csv(tmp_path / "two" / "sweep.csv")


def interrupt_at_chunk(monkeypatch, chunk: int):
    """Make the sweep's ``chunk``-th chunk (the one-point probe not counted) raise Ctrl-C;
    returns the real evaluate."""
    real, calls = sweep.evaluate, []

    def interrupted(points, *rest):
        if len(points) > 1:
            calls.append(len(points))
            if len(calls) == chunk:
                raise KeyboardInterrupt
        return real(points, *rest)

    monkeypatch.setattr(sweep, "evaluate", interrupted)
    return real


def test_resume_after_interrupt_equals_straight_run(tmp_path, monkeypatch):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    args = SMALL + ["--chunk-points", "7"]
    assert sweep.main(args + ["--out", str(straight)]) == 0
    real = sweep.evaluate
    interrupt_at_chunk(monkeypatch, 3)
    assert sweep.main(args + ["--out", str(broken)]) == 130
    assert not (broken / "sweep.csv").exists()
    assert len((broken / sweep.JOURNAL).read_text().splitlines()) == 1 + 2  # header + 2 chunks
    calls = []
    monkeypatch.setattr(sweep, "evaluate", lambda p, *r: calls.append(len(p)) or real(p, *r))
    assert sweep.main(args + ["--out", str(broken), "--resume"]) == 0
    # only the points the journal did not hold, plus the one-point probe of the output columns
    assert sum(calls) == 36 - 14 + 1
    assert _csv(broken / "sweep.csv") == _csv(straight / "sweep.csv")
    assert _csv(broken / "pareto.csv") == _csv(straight / "pareto.csv")


def test_resume_refuses_another_sweeps_journal(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / sweep.JOURNAL).write_text(json.dumps({"sweep": "someone-else"}) + "\n")
    assert sweep.main(SMALL + ["--out", str(out), "--resume"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_a_damaged_journal_loses_only_its_damaged_records(tmp_path, capsys, monkeypatch):
    straight, damaged = tmp_path / "straight", tmp_path / "damaged"
    args = SMALL + ["--chunk-points", "5"]
    assert sweep.main(args + ["--out", str(straight)]) == 0
    real = interrupt_at_chunk(monkeypatch, 5)
    assert sweep.main(args + ["--out", str(damaged)]) == 130
    monkeypatch.setattr(sweep, "evaluate", real)
    journal = damaged / sweep.JOURNAL
    header, *records = journal.read_text().splitlines()
    assert len(records) == 4
    wrong_columns = json.dumps({"columns": ["point_id", "x"], "dtypes": ["int64"],
                                "rows": [[1, 2]]})
    # garbage, a record of another version's shape, a duplicate (two runs once shared --out),
    # a truncated record, binary noise and a torn last line
    journal.write_text("\n".join([header, records[0], "{not json", wrong_columns, records[1],
                                   records[1], records[2][:40], "\x00\xff\xfe", records[3],
                                   records[3][:-10]]))
    capsys.readouterr()
    assert sweep.main(args + ["--out", str(damaged), "--resume"]) == 0
    assert "unreadable record(s) of the journal dropped" in capsys.readouterr().out
    assert _csv(damaged / "sweep.csv") == _csv(straight / "sweep.csv")
    assert _csv(damaged / "pareto.csv") == _csv(straight / "pareto.csv")


def test_a_journal_whose_header_is_unreadable_is_one_line(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / sweep.JOURNAL).write_bytes(b"\x00\xffnot a journal\n")
    assert sweep.main(SMALL + ["--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "delete it" in err


def test_two_sweeps_never_share_an_out_folder(tmp_path, capsys):
    """A running sweep holds --out; a second one (two --resume at once) is refused, naming it."""
    import fcntl
    out = tmp_path / "o"
    assert sweep.main(SMALL + ["--out", str(out)]) == 0
    before = _csv(out / "sweep.csv")
    holder = os.open(out, os.O_RDONLY)   # what a running sweep holds: dse.sweep.lock_out
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert sweep.main(SMALL + ["--out", str(out), "--resume"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--out" in err and "in use" in err
    finally:
        os.close(holder)
    assert _csv(out / "sweep.csv") == before
    assert sweep.main(SMALL + ["--out", str(out), "--resume"]) == 0   # free again


def test_the_lock_is_held_by_a_running_sweep(tmp_path):
    """A real sweep process holds the lock while it runs: a second process is refused."""
    args = ["--model", "resnet20", "--rows", "4,8,16,32", "--cols", "4,8,16", "--engine",
            "cycle", "--progress", "off", "--workers", "1"]   # ~10 s: outlasts the second's start
    out = tmp_path / "o"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen([sys.executable, "-m", "dse.sweep", *args, "--out", str(out)],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out / sweep.JOURNAL).exists():
            assert first.poll() is None and time.time() < deadline
            time.sleep(0.02)
        second = subprocess.run([sys.executable, "-m", "dse.sweep", *args, "--out", str(out),
                                 "--resume"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert second.returncode == 2 and "in use" in second.stderr, second.stderr
    finally:
        first.kill()
        first.wait()


def test_killed_sweep_keeps_finished_points(tmp_path):
    """SIGKILL a real sweep half-way; --resume completes it to the straight run's bytes."""
    args = ["--model", "resnet20", "--rows", "4,8,16", "--cols", "8,16", "--engine", "cycle",
            "--progress", "off", "--workers", "1"]
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "dse.sweep", *args, "--out", str(killed)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    journal = killed / sweep.JOURNAL
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail("the sweep finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "sweep.csv").exists()
    kept = len(journal.read_text().splitlines()) - 1
    assert 2 <= kept < 6
    assert sweep.main(args + ["--out", str(killed), "--resume"]) == 0
    assert sweep.main(args + ["--out", str(tmp_path / "straight")]) == 0
    assert _csv(killed / "sweep.csv") == _csv(tmp_path / "straight" / "sweep.csv")


# ----------------------------------------------------------------------------- bad input

BAD = [
    (["--rows", "0"], "--rows"),
    (["--wbits", "3,x"], "--wbits"),
    (["--wbits", "17"], "--wbits"),
    (["--model", "resnet99"], "--model"),
    (["--trace", "/no/such/trace.csv"], "--trace"),
    (["--rows", "8:4"], "--rows"),
    (["--cols", "4:8:-1"], "--cols"),
    (["--dataflow", "xs"], "--dataflow"),
    (["--objectives", "beauty"], "--objectives"),
    (["--scheduler", "udp://x"], "--scheduler"),
    (["--format", "xlsx"], "--format"),
    (["--sram-kb", "0"], "--sram-kb"),
    (["--bogus"], "--bogus"),
    (["--rows", "1:100000000"], "--rows"),                       # a range too long to hold
    # with the --rows 8,16 every case gets: 2 x 1,024 x 16 x 16 x 47 = 24.6 M points
    (["--cols", "1:1024", "--wbits", "1:16", "--abits", "1:16", "--acc-bits", "2:48"],
     "the options"),
    (["--dataset", "imagenet"], "--dataset"),
]


@pytest.mark.parametrize("args,flag", BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_input_one_line_exit_2_no_file(tmp_path, capsys, args, flag):
    out = tmp_path / "out"
    assert sweep.main(args + ["--rows", "8,16"] * (args[0] != "--rows") + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_malformed_trace_and_unwritable_out(tmp_path):
    trace = tmp_path / "bad.csv"
    trace.write_text("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,"
                     "wbits,abits\nconv1,32,32,3,3,three,16,1,1,2,8\n")
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args, flag in ((["--trace", str(trace)], "--trace"),
                       (["--rows", "4,8", "--out", str(blocker / "sub")], "--out")):
        done = subprocess.run([sys.executable, "-m", "dse.sweep", *args, "--out",
                               str(tmp_path / "o")] if flag != "--out" else
                              [sys.executable, "-m", "dse.sweep", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and flag in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "o").exists()


def test_sweep_of_a_trace_with_grouped_matmul_and_host_rows(tmp_path):
    from accelsim.workload import Layer, Workload, write_trace
    net = Workload("mixed", (
        Layer("dw", 8, 8, 3, 3, 16, 16, 1, 1, groups=16),
        Layer("pool", 8, 8, 2, 2, 16, 16, 2, 0, op="pool", runs_on="host"),
        Layer("proj", 6, 1, 1, 1, 16, 24, op="linear"),
        Layer("qk", 6, 1, 1, 1, 8, 6, op="matmul", batch=3),
        Layer("add", 6, 1, 1, 1, 24, 24, op="add", runs_on="host")))
    trace = write_trace(net, tmp_path / "mixed.csv")
    frames = {}
    for engine in ("cycle", "analytic"):
        out = tmp_path / engine
        assert sweep.main(["--trace", str(trace), "--rows", "4,8", "--cols", "4",
                           "--dataflow", "os,ws", "--batch", "1,2", "--engine", engine,
                           "--progress", "off", "--workers", "1", "--out", str(out)]) == 0
        frames[engine] = pd.read_csv(out / "sweep.csv")
    cycle, closed = frames["cycle"], frames["analytic"]
    for column in ("cycles", "stall_cycles", "total_cycles", "macs_per_inference",
                   "weight_memory_kb", "activation_memory_kb", "dram_read_kb_per_inference"):
        np.testing.assert_array_equal(cycle[column], closed[column], column)
    np.testing.assert_allclose(cycle["energy_per_inference_uj"] - cycle["energy_mac_uj"],
                               closed["energy_per_inference_uj"] - closed["energy_mac_uj"])
    # each point equals simulate_network on the same design
    point = closed.iloc[-1]
    frame = simulate_network(net, ArrayConfig(rows=int(point["rows"]), cols=4,
                                              dataflow=point["dataflow"]),
                             batch=int(point["batch"]), engine="analytic")
    assert point["total_cycles"] == frame["total_cycles"].sum()
    assert point["macs_per_inference"] * point["batch"] == frame["macs"].sum()
    # weights: the depthwise filters and the projection, not the matmul's second operand
    assert closed["weight_memory_kb"].iloc[0] == (16 * 9 + 16 * 24) * 2 / 8 / 1024


def test_cost_switches_are_sweep_axes(tmp_path):
    args = ["--model", "resnet20", "--wbits", "2,8", "--abits", "4", "--wide-layers",
            "host,passes", "--between-layers", "sram,dram", "--progress", "off",
            "--workers", "1", "--out", str(tmp_path), "--engine", "analytic"]
    assert sweep.main(args) == 0
    frame = pd.read_csv(tmp_path / "sweep.csv")
    assert len(frame) == 8
    assert set(zip(frame["wide_layers"], frame["between_layers"])) == {
        (w, b) for w in ("host", "passes") for b in ("sram", "dram")}
    # with fp32 ends nothing splits into passes: both settings cost the same
    w2 = frame[frame["wbits"] == 2].set_index(["wide_layers", "between_layers"])
    assert (w2["passes_layers"] == 0).all() and (w2["host_layers"] == 2).all()
    assert w2.loc[("host", "sram"), "energy_per_inference_uj"] == pytest.approx(
        w2.loc[("passes", "sram"), "energy_per_inference_uj"])
    # SCALE-Sim's accounting moves more through DRAM; compute cycles are the same
    assert (w2.loc[("host", "dram"), "energy_dram_uj"]
            > 3 * w2.loc[("host", "sram"), "energy_dram_uj"])
    assert w2.loc[("host", "dram"), "cycles"] == w2.loc[("host", "sram"), "cycles"]
    with pytest.raises(UsageError, match="--quantize-ends"):
        sweep.space_from_args(sweep.build_parser().parse_args(
            ["--trace", str(ROOT / "README.md"), "--quantize-ends"]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("scheduler", ["local", "dask-local"])
def test_no_worker_outlives_a_killed_sweep(tmp_path, scheduler):
    """kill -9 of a sweep with worker processes: none lives on computing for nobody."""
    out = tmp_path / "out"
    args = ["--model", "resnet20", "--rows", "4,8,16,32", "--cols", "4,8", "--engine", "cycle",
            "--chunk-points", "1", "--progress", "off", "--scheduler", scheduler,
            "--workers", "2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-m", "dse.sweep", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / sweep.JOURNAL).is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "no chunk was journalled"
        time.sleep(0.05)
    workers = children(proc.pid)
    assert len(workers) >= 2, "no worker processes to watch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    alive = survivors(workers)
    assert not alive, f"processes {alive} outlived their killed sweep"
