"""The reproduction end to end on synthetic data (tiny preset): resume without retraining, and a
report whose tables are the CSVs' numbers."""
import json
import re

import pandas as pd
import pytest
import torch

from accelsim.formats import ACCURACY_COLUMNS
from experiments import report
from experiments import reproduce as rp

torch.set_num_threads(1)


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    """Run the tiny preset, interrupted after 3 runs with a 4th cut off mid-way, then resumed."""
    root = tmp_path_factory.mktemp("repro")
    jobs = rp.grid(rp.PRESETS["tiny"])
    real_run, calls = rp.run, []

    def interrupted(cfg, log):
        if len(calls) == 3:
            (tmp := rp.Path(cfg.out)).mkdir(parents=True, exist_ok=True)  # a run killed half-way
            (tmp / "model.pt").write_bytes(b"partial")  # leaves files but no result.json
            raise Interrupt
        calls.append(cfg.out)
        return real_run(cfg, log)

    mp = pytest.MonkeyPatch()
    mp.setattr(rp, "run", interrupted)
    with pytest.raises(Interrupt):
        rp.reproduce("tiny", root, log=lambda s: None)
    finished = {p.parent.name: p.stat().st_mtime_ns for p in root.glob("runs/*/result.json")}
    assert len(finished) == 3

    resumed = []
    mp.setattr(rp, "run", lambda cfg, log: resumed.append(cfg.out) or real_run(cfg, log))
    md = rp.reproduce("tiny", root, log=lambda s: None)
    mp.undo()
    return dict(root=root, jobs=jobs, finished=finished, resumed=resumed, md=md)


def test_resume_trains_only_what_did_not_finish(repro):
    root, jobs = repro["root"], repro["jobs"]
    assert len(repro["resumed"]) == len(jobs) - 3
    assert not {rp.Path(o).name for o in repro["resumed"]} & set(repro["finished"])
    for name, mtime in repro["finished"].items():
        assert (root / "runs" / name / "result.json").stat().st_mtime_ns == mtime
    acc = pd.read_csv(root / "accuracy.csv")
    assert tuple(acc.columns) == ACCURACY_COLUMNS
    assert len(acc) == len(jobs) and set(acc.source) == {"measured"}
    assert not acc.duplicated(["model", "wbits", "abits", "widen", "width", "teacher", "scheme",
                               "seed", "quantizer"]).any()
    # A second resume has nothing left to do.
    assert rp.train_grid(rp.PRESETS["tiny"], root, log=lambda s: None) and \
        all((root / "runs" / j.name / "result.json").is_file() for j in jobs)


def test_outputs_of_the_whole_chain(repro):
    root = repro["root"]
    for name in ("runs.csv", "history.csv", "footprint.csv", "pe_cost.txt", "sweep.csv",
                 "pareto.csv", "paper_cost.csv", "REPRODUCTION.md"):
        assert (root / name).is_file(), name
    for job in repro["jobs"]:
        assert (root / "runs" / job.name / "trace.csv").is_file()
    sweep = pd.read_csv(root / "sweep.csv")
    assert {(8, 8)} <= set(zip(sweep.rows, sweep.cols)) and sweep.wbits.nunique() >= 2
    hist = pd.read_csv(root / "history.csv")
    assert set(hist.name) == {j.name for j in repro["jobs"]}
    meta = json.loads((root / "runs" / "t3B-w2a8-s0" / "model.json").read_text())
    assert meta["teacher"] == "resnet20" and meta["run"]["scheme"] == "B"
    c = json.loads((root / "runs" / "t3C-w2a8-s0" / "model.json").read_text())["run"]
    assert c["init"].endswith("t1-w32a32-s0/model.pt")


def _markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """'### title' -> rows of cells of the table under it."""
    tables, title = {}, None
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].strip()
            tables[title] = []
        elif title and line.startswith("|") and not line.startswith("|---"):
            tables[title].append([c.strip() for c in line.strip("|").split("|")])
    return tables


def test_report_tables_are_the_csv_numbers(repro):
    root = repro["root"]
    acc = pd.read_csv(root / "accuracy.csv", keep_default_na=False)
    acc = acc[acc.model.eq("resnet20") & acc.width.eq(0.25) & acc.quantizer.eq("pact")]
    paper = pd.read_csv(report.PAPER_CSV, keep_default_na=False)
    tables = _markdown_tables(repro["md"].read_text())
    checked = 0
    for t, (widen, distilled) in report.TABLE_KEYS.items():
        rows = tables[report.TABLE_TITLES[t]]
        assert rows[0][1:3] == ["ours 32b A", "ours 8b A"]
        for row in rows[1:]:
            m = re.fullmatch(r"(\d+)b W(, scheme C)?", row[0])
            w, scheme_c = int(m[1]), bool(m[2])
            for a, cell in zip((32, 8), row[1:3]):
                sel = acc[(acc.widen == widen) & ((acc.teacher != "none") == distilled) &
                          (acc.wbits == w) & (acc.abits == a) &
                          ((acc.scheme == "C") == scheme_c)]
                got = report.parse_table_cell(cell)
                if sel.empty:
                    assert got is None
                    continue
                mean, sd, n = got
                assert n == len(sel) and mean == pytest.approx(sel.top1_err.mean(), abs=0.006)
                if n > 1:
                    assert sd == pytest.approx(sel.top1_err.std(), abs=0.006)
                checked += 1
            if not scheme_c:
                for k, (model, a) in enumerate([(m, a) for m in ("resnet44", "resnet56")
                                                for a in (32, 8)]):
                    want = paper[paper.source.eq(f"paper:Table{t}") & paper.model.eq(model) &
                                 paper.wbits.eq(w) & paper.abits.eq(a)].top1_err
                    assert float(row[3 + k]) == pytest.approx(float(want.iloc[0]))
    in_tables = acc[acc.widen != "all"]
    assert checked == len(in_tables.drop_duplicates(["widen", "teacher", "scheme", "wbits",
                                                     "abits"]))


def test_verdict_thresholds():
    assert report.Comparison("x", 1.0, 0.5, None).verdict == "held"
    assert report.Comparison("x", -1.0, 0.5, None).verdict == "did not hold"
    assert report.Comparison("x", 0.3, 0.5, None).verdict == "not resolvable at this scale"
    assert report.Comparison("x", -0.2, 0.25, None, margin=0.5).verdict == "held"
    assert report.Comparison("x", -1.0, 0.25, None, margin=0.5).verdict == "did not hold"
    assert report.Comparison("x", 5.0, 0.5, None, consistent=False).verdict == \
        "not resolvable at this scale"


def test_grid_orders_key_cells_first_and_covers_the_tables():
    quick = [j.name for j in rp.grid(rp.PRESETS["quick"])]
    assert quick[0].startswith("teacher") and len(set(quick)) == len(quick)
    assert quick[1:9] == [f"t{t}{'B' if t > 2 else ''}-w{w}a{a}-s0" for t in (1, 2, 3, 4)
                          for w, a in ((32, 32), (2, 8))]
    paper = rp.grid(rp.PRESETS["paper"])
    for t in "1234":
        assert {(j.wbits, j.abits) for j in paper if j.table == t and j.seed == 0} >= \
            set(rp.FULL_CELLS)
    assert {j.seed for j in paper} == {0, 1, 2}


def test_report_command_without_results(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert "accuracy.csv not found" in capsys.readouterr().err


def test_refuses_to_resume_another_schedule(tmp_path):
    tiny = rp.PRESETS["tiny"]
    (tmp_path / "preset.json").write_text(json.dumps(dict(rp.asdict(tiny), epochs=5,
                                                          dataset="synthetic")))
    with pytest.raises(rp.UserError, match="epochs 5 -> 1"):
        rp.reproduce(tiny, tmp_path, log=lambda s: None)
    assert rp.main(["--preset", "tiny", "--out", str(tmp_path)]) == 2


def test_a_failing_step_stops_the_run_and_writes_no_file(tmp_path, monkeypatch):
    for name in ("footprint.csv", "paper_cost.csv"):  # steps already done: skipped
        (tmp_path / name).write_text("done\n")
    (tmp_path / "accuracy.csv").write_text("not,an,accuracy,table\n")

    def broken(specs):
        raise ValueError("no constants table")

    monkeypatch.setattr(rp, "compare_text", broken)
    with pytest.raises(ValueError, match="no constants table"):
        rp.after_training(rp.PRESETS["tiny"], tmp_path, "synthetic", log=lambda s: None)
    assert not (tmp_path / "pe_cost.txt").exists()
    monkeypatch.setattr(rp, "compare_text", lambda specs: "PE table")
    with pytest.raises(rp.StepFailed, match="dse.sweep failed with status 2"):
        rp.after_training(rp.PRESETS["tiny"], tmp_path, "synthetic", log=lambda s: None)
    assert (tmp_path / "pe_cost.txt").read_text() == "PE table\n"
    assert not (tmp_path / "sweep.csv").exists() and not (tmp_path / "pareto.csv").exists()


def test_quantizer_choice_trains_each_row_once(tmp_path):
    from experiments import quantizer_choice as qc
    from training import quant

    out = tmp_path / "choice.csv"
    grid = [("resnet20", 2, 8, "wrpn", ""), ("resnet20", 2, 8, "pact", 10.0)]
    schedule = dict(dataset="synthetic", width=0.25, epochs=1, subset=64, seed=0)
    rows = qc.measure(out, grid, schedule, log=lambda s: None)
    assert [(r["quantizer"], r["alpha_init"]) for r in rows] == [("wrpn", ""), ("pact", "10.0")]
    assert quant.PACT_ALPHA_INIT == 4.0   # put back after the run
    again = qc.measure(out, grid, schedule, log=lambda s: None)   # nothing left to train
    assert again == rows and out.read_text().count("\n") == 3


def test_collect_reads_runs_written_with_an_older_accuracy_header(tmp_path):
    run = tmp_path / "runs" / "t1-w2a8-s0"
    run.mkdir(parents=True)
    (run / "accuracy.csv").write_text(
        "model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,source,"
        "quantizer\nresnet20,fashion-mnist,2,8,none,0.5,none,none,3,0,27.46,measured,pact\n")
    (run / "result.json").write_text(json.dumps(dict(name="t1-w2a8-s0", history=[])))
    rp.collect(tmp_path)
    acc = pd.read_csv(tmp_path / "accuracy.csv", keep_default_na=False)
    assert tuple(acc.columns) == ACCURACY_COLUMNS
    assert acc.loc[0, "policy"] == "" and acc.loc[0, "quantizer"] == "pact"
