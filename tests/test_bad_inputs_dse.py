"""Bad input to ``python -m dse.sweep``: each case one clean line naming the flag or file, exit
status 2, no traceback, and no file or folder left behind, ``--out`` included
(tests/badinput.py; the bad files: tests/bad_files.py)."""
import json

import pytest

import bad_files
import dse.sweep as sweep
from badinput import expect_clean_error, expect_clean_error_subprocess, resolve

# every case sweeps this small space (two points) into a fresh --out, unless it says otherwise
BASE = ["--model", "resnet20", "--rows", "8,16", "--progress", "off", "--workers", "1",
        "--out", "out"]


def values(flag, texts):
    return [([flag, t], flag) for t in texts]


CASES = (
    values("--rows", ["0", "-1", "1025", "1000000000", "99999999999999999999999", "x", "8:4",
                      "4:8:-1", "1:100000000", "", "4,,8", "4:64:x1", "4:64:x0.5", "4:8:0",
                      "1:2:3:4", "1.5"])
    + values("--cols", ["0", "2048", "99999999999999999999999", "1:20000"])
    + values("--wbits", ["3,x", "17", "0", "1:33", "2.7", "99999999999999999999"])
    + values("--abits", ["33", "-8", "x"])
    + values("--acc-bits", ["1", "2:49", "x", "99999999999999999999999"])
    + values("--dataflow", ["xs", "os,xs", ""])
    + values("--sram-kb", ["0", "-1", "1e308", "1e400", "x", "1:4e6:x2", "nan"])
    + values("--dram-bw", ["0", "1e7", "inf"])
    + values("--freq-mhz", ["0", "inf", "1e6", "-1"])
    + values("--batch", ["0", "65537", "1000000000", "1.5"])
    + values("--wide-layers", ["x", "host,x"]) + values("--between-layers", ["x"])
    + values("--width", ["0", "-1", "1e300", "100000", "17", "x", "nan", "inf", "0:1"])
    + values("--widen", ["half", "first30,x"])
    + values("--dataset", ["imagenet", "cifar10,"])
    + values("--model", ["resnet99", "resnet20,,resnet56", "Resnet 20"])
    + values("--format", ["xlsx", "csv,"])
    + values("--workers", ["0", "-1", "257", "100000", "x"])
    + values("--chunk-points", ["-1", "99999999999999999999999", "x"])
    + values("--progress", ["sometimes"]) + values("--engine", ["fast"])
    + values("--scheduler", ["udp://x", "tcp://notahost..:99999", "tcp://host:0",
                             "tcp://host:70000", "tcp://:8786", "tcp://host", "",
                             "tcp://[zz]:1", "tcp://" + "a" * 300 + ":1", "tcp://h_st:1",
                             "dask"])
    + values("--objectives", ["beauty", "model:min", "dataflow", "accuracy:up", "energy,",
                              "accuracy_source", "zero_gating:max", ":min"])
    + [(["--frobnicate"], "--frobnicate"), (["--input", "1,3,32,32"], "--input"),
       (["--quantize-ends", "--trace", "{ok}"], "--quantize-ends"),
       (["--cols", "1:1024", "--wbits", "1:16", "--abits", "1:16", "--acc-bits", "2:48"],
        "the options"),
       (["--out", "{a_file}"], "--out"), (["--out", "{a_file}/sub"], "--out"),
       (["--out", "/proc/sweep"], "--out"),
       (["--trace", "{ok},,{ok}"], "--trace"), (["--onnx", "{onnx_text}"], "--onnx"),
       (["--onnx", "{onnx_empty}"], "--onnx"), (["--onnx", "{missing}"], "--onnx"),
       (["--onnx", "{onnx_text}", "--input", "1,x"], "--input"),
       (["--trace", "{bigk}", "--rows", "8"], "--engine analytic"),
       (["--trace", "{bigbatch}", "--batch", "1,65536"], "bigbatch")]
    # traces, each wrong in one way
    + [(["--trace", "{%s}" % name], name) for name in ("bigm", "bigproduct")]
    + [(["--trace", "{%s}" % name], "--trace") for name in (
        "digits40", "digits5000", "hugedim", "longname", "name2k", "dup",
        "wbits27", "wbits17", "abits0", "negpad", "stride0", "bigfilter", "text", "fewfields",
        "manyfields", "badop", "runson", "groups", "groupsbig", "matmul3x3", "convbatch",
        "headeronly", "binary", "empty", "unknown_header", "missing", "a_dir")]
    # operand codes beside a trace
    + [(["--trace", "{%s}" % name], name) for name in (
        "npz_floats", "npz_wshape", "npz_ashape", "npz_arows0", "npz_wonly", "npz_aonly",
        "npz_range", "npz_negact", "npz_bigact", "npz_objects", "npz_trunc", "npz_empty",
        "npz_text", "npz_pickle")]
    # measured accuracy rows
    + [(["--accuracy", "{%s}" % name], "--accuracy") for name in (
        "acc_inf", "acc_negative", "acc_over100", "acc_text", "acc_wbits27", "acc_wbits64",
        "acc_abits0", "acc_width0", "acc_widthinf", "acc_header", "acc_columns", "binary",
        "empty", "missing", "a_dir")]
    # constants tables
    + [(["--table", "{%s}" % name], "--table") for name in (
        "table_swapped", "table_name_value", "table_missing", "table_unknown", "table_twice",
        "table_negative", "table_zero", "table_inf", "table_nan", "table_word", "table_huge",
        "table_noheader", "table_headeronly", "table_yaml", "table_yaml_list",
        "table_yaml_novalue", "binary", "missing", "a_dir")]
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return bad_files.make(tmp_path_factory.mktemp("inputs"))


def argv_of(case_argv, files):
    """BASE, with the case's own --out or --rows in place of BASE's."""
    argv = resolve(case_argv, files)
    base = list(BASE)
    for flag in ("--out", "--rows", "--model"):
        if flag in argv or (flag == "--model" and ("--trace" in argv or "--onnx" in argv)):
            i = base.index(flag)
            del base[i:i + 2]
    return base + argv


def test_there_are_enough_cases():
    assert len(CASES) >= 150


@pytest.mark.parametrize("argv, names", CASES, ids=[str(i) for i in range(len(CASES))])
def test_dse_sweep_bad_input(files, tmp_path, capsys, argv, names):
    expect_clean_error(sweep.main, argv_of(argv, files), names, tmp_path, capsys)


def test_resume_of_a_foreign_or_unreadable_journal(files, tmp_path, capsys):
    for k, text in enumerate((json.dumps({"sweep": "someone-else"}) + "\n",
                              "\x00\xff binary\n", "[1, 2]\n")):
        work = tmp_path / f"case{k}"
        (work / "out").mkdir(parents=True)
        (work / "out" / sweep.JOURNAL).write_text(text)
        expect_clean_error(sweep.main, BASE + ["--resume"], "--resume", work, capsys)


def test_an_unreachable_scheduler(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", "1s")
    expect_clean_error(sweep.main, BASE + ["--scheduler", "tcp://127.0.0.1:9"], "--scheduler",
                       tmp_path, capsys)


@pytest.mark.parametrize("argv, names", [
    (["--rows", "99999999999999999999999"], "--rows"),
    (["--scheduler", "tcp://notahost..:99999"], "--scheduler"),
    (["--objectives", "model:min"], "--objectives"),
    (["--trace", "{dup}"], "--trace"),
    (["--trace", "{npz_floats}"], "npz_floats"),
    (["--accuracy", "{acc_inf}"], "--accuracy"),
])
def test_as_real_processes(files, tmp_path, argv, names):
    expect_clean_error_subprocess("dse.sweep", argv_of(argv, files), names, tmp_path)
