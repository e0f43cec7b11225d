"""One option vocabulary: the hardware flags mean the same, with the same defaults and help,
in python -m accelsim, accelsim.cost, dse.sweep and dashboards.app; --help states each default
once; --table and the memory options work on every command that prices a run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import dse.sweep as sweep
from accelsim import __main__ as accelsim_main
from accelsim import cli
from accelsim.cost import TABLE_PATH, report
from dashboards import app as dash_app

ROOT = Path(__file__).resolve().parents[1]
PARSERS = {"accelsim": accelsim_main.build_parser, "accelsim.cost": report.build_parser,
           "dse.sweep": sweep.build_parser, "dashboards.app": dash_app.build_parser}
SHARED = ("--rows", "--cols", "--dataflow", "--acc-bits", "--wide-layers", "--sram-kb",
          "--dram-bw", "--between-layers", "--freq-mhz", "--table", "--quantize-ends")


def _actions(parser) -> dict:
    return {flag: action for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize("flag", SHARED)
def test_shared_flags_mean_the_same_everywhere(flag):
    actions = {name: _actions(build())[flag] for name, build in PARSERS.items()}
    assert len({a.help for a in actions.values()}) == 1, flag
    assert len({a.dest for a in actions.values()}) == 1, flag
    # the same default, typed as a value or as the text a sweep parses (the dashboard's
    # start-up sweep keeps its own wider grid, so it leaves them unset)
    defaults = {name: a.default for name, a in actions.items() if name != "dashboards.app"}
    assert len({cli.as_typed(d) if d is not None else None for d in defaults.values()}) == 1, \
        defaults


@pytest.mark.parametrize("name", PARSERS)
def test_help_states_each_default_once(name):
    parser = PARSERS[name]()
    assert "(default: None)" not in parser.format_help()
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.help:
            text = formatter._expand_help(action)
            assert text.count("default") <= 1, text


def test_memory_clock_and_table_options_reach_the_model(tmp_path, capsys):
    table = tmp_path / "node.csv"
    frame = pd.read_csv(TABLE_PATH)
    frame.loc[frame["name"] == "dram_64b_energy_pj", "value"] *= 2
    frame.to_csv(table, index=False)
    base = ["--model", "resnet20", "--engine", "analytic"]
    runs = {}
    for key, extra in (("base", []), ("table", ["--table", str(table)]),
                       ("memory", ["--sram-kb", "8", "--dram-bw", "2", "--freq-mhz", "500"])):
        assert accelsim_main.main(base + extra) == 0
        runs[key] = capsys.readouterr().out.splitlines()[-1]
    assert len(set(runs.values())) == 3  # each option changed the totals
    assert "500 MHz" in runs["memory"]
    out = tmp_path / "s"
    assert sweep.main(["--model", "resnet20", "--table", str(table), "--sram-kb", "8",
                       "--out", str(out), "--progress", "off"]) == 0
    point = pd.read_csv(out / "sweep.csv").iloc[0]
    assert point["ifmap_sram_kb"] == point["filter_sram_kb"] == point["ofmap_sram_kb"] == 8
    assert report.main(["--compare", "2x8", "--sram-kb", "8", "--table", str(table),
                        "--model", "resnet20"]) == 0
    assert "8 KB x 3" in capsys.readouterr().out


@pytest.mark.parametrize("argv, flag", [(["--rows", "0"], "--rows"),
                                        (["--sram-kb", "-1"], "--sram-kb"),
                                        (["--dataflow", "xs"], "--dataflow"),
                                        (["--table", "/no/such.csv"], "/no/such.csv")])
def test_bad_hardware_flags_are_one_line_naming_the_flag(capsys, argv, flag):
    assert accelsim_main.main(argv + ["--engine", "analytic"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err


def test_dataset_is_echoed_as_typed(capsys):
    assert sweep.main(["--model", "resnet20", "--dataset", "Fashion_MNIST", "--width", "0.5",
                       "--engine", "analytic"]) == 0
    out = capsys.readouterr().out
    assert "(fashion-mnist)" in out and "fashionmnist" not in out


def test_columns_help_names_every_output_column(tmp_path, capsys):
    assert sweep.main(["--model", "resnet20,resnet32", "--wbits", "2,8", "--teacher",
                       "none,resnet101", "--out", str(tmp_path), "--progress", "off"]) == 0
    capsys.readouterr()
    assert sweep.main(["--columns"]) == 0
    text = capsys.readouterr().out
    for name in ("sweep.csv", "pareto.csv"):
        for column in pd.read_csv(tmp_path / name).columns:
            assert re.search(rf"^{column}\s", text, re.M), f"{name}: {column} has no help"


def test_cost_model_switches_shape_the_dashboards_start_up_sweep():
    from dashboards import load

    args = dash_app.parse_args(["--rows", "8", "--cols", "8", "--wide-layers", "host,passes",
                                "--between-layers", "dram", "--quantize-ends"])
    assert args.hardware["wide_layers"] == ["host", "passes"]
    assert args.hardware["between_layers"] == ["dram"] and args.quantize_ends
    measured = pd.DataFrame(columns=["model", "dataset", "width", "widen", "teacher"])
    sweep = load.default_sweep(models=("resnet20",), hardware=args.hardware, measured=measured,
                               quantize_ends=args.quantize_ends)
    assert set(sweep["wide_layers"]) == {"host", "passes"}
    assert set(sweep["between_layers"]) == {"dram"} and set(sweep["ends"]) == {"quantized"}


def test_output_piped_into_head_ends_quietly(tmp_path):
    """``python -m accelsim ... | head``: the reader leaves early; no BrokenPipeError."""
    rows = "".join(f"c{i},8,8,3,3,3,4,1,1,2,8\n" for i in range(3000))
    trace = tmp_path / "long.csv"       # a table of 3,000 rows: far beyond a pipe's 64 kB
    trace.write_text("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,"
                     "wbits,abits\n" + rows)
    proc = subprocess.Popen([sys.executable, "-m", "accelsim", "--trace", str(trace),
                             "--engine", "analytic"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            cwd=tmp_path)
    proc.stdout.readline()
    proc.stdout.close()        # what head does after its lines
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141, (proc.returncode, err)   # 128 + SIGPIPE, as a shell says
