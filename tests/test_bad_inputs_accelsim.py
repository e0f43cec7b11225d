"""Bad input to ``python -m accelsim`` and ``python -m accelsim.cost``: each case one clean
line naming the flag or file, exit status 2, no traceback, nothing left behind
(tests/badinput.py; the bad files: tests/bad_files.py)."""
import pytest

import bad_files
from accelsim.__main__ import main as accelsim_main
from accelsim.cost.report import main as cost_main
from badinput import expect_clean_error, expect_clean_error_subprocess, resolve

FAST = ["--engine", "analytic"]


def numeric(flag, values):
    return [([flag, v], flag) for v in values]


ACCELSIM = (
    numeric("--rows", ["0", "-1", "1025", "1000000000", "99999999999999999999999", "x", "1.5",
                       ""])
    + numeric("--cols", ["0", "4096", "99999999999999999999999", "eight"])
    + numeric("--wbits", ["0", "17", "33", "-1", "x", "2.5", "64"])
    + numeric("--abits", ["0", "31", "99999999999999999999999", "8.0"])
    + numeric("--acc-bits", ["1", "49", "0", "x", "64"])
    + numeric("--sram-kb", ["0", "-1", "inf", "nan", "1e308", "x", "2e6"])
    + numeric("--dram-bw", ["0", "nan", "inf", "-3", "1e7"])
    + numeric("--freq-mhz", ["0", "inf", "nan", "1e6", "-5"])
    + numeric("--batch", ["0", "-1", "65537", "1000000000", "x", "1.5"])
    + [(["--dataflow", "xs"], "--dataflow"), (["--wide-layers", "x"], "--wide-layers"),
       (["--between-layers", "x"], "--between-layers"), (["--engine", "x"], "--engine"),
       (["--model", "resnet21"], "resnet21"), (["--frobnicate"], "--frobnicate"),
       (["--model", "resnet56", "--trace", "{ok}"], "--trace"),
       (["--input", "1,3,32,32"], "--input"),
       (["--trace", "{ok}", "--quantize-ends"], "quantize"),
       (["--onnx", "{onnx_text}"], "text.onnx"), (["--onnx", "{onnx_empty}"], "empty.onnx"),
       (["--onnx", "{missing}"], "no_such_file"),
       (["--onnx", "{onnx_text}", "--input", "1,x"], "1,x"),
       (["--csv", "{a_dir}"], "--csv"), (["--csv", "{a_file}/x.csv"], "--csv"),
       (["--csv", "/proc/x.csv"], "--csv"),
       (["--export-scalesim", "{a_dir}"], "--export-scalesim"),
       (["--export-scalesim", "{a_file}/t.csv"], "--export-scalesim")]
    # traces: every one wrong in one way, named by its file
    + [(["--trace", "{%s}" % name] + FAST, "{%s}" % name) for name in (
        "bigm", "bigproduct", "digits40", "digits5000", "hugedim", "longname", "name2k", "dup",
        "wbits27", "wbits17", "abits0", "negpad", "stride0", "bigfilter", "text", "fewfields",
        "manyfields", "badop", "runson", "groups", "groupsbig", "matmul3x3", "convbatch",
        "headeronly", "binary", "empty", "unknown_header", "missing")]
    + [(["--trace", "{bigk}"], "--engine analytic"), (["--trace", "{a_dir}"], "a_dir"),
       (["--trace", "{bigk}", "--batch", "65536"], "{bigk}"),
       (["--trace", "{bigbatch}", "--batch", "65536"] + FAST, "{bigbatch}")]
    # operand codes beside a trace, named by the .npz
    + [(["--trace", "{%s}" % name], name) for name in (
        "npz_floats", "npz_wshape", "npz_ashape", "npz_arows0", "npz_wonly", "npz_aonly",
        "npz_range", "npz_negact", "npz_bigact", "npz_objects", "npz_trunc", "npz_empty",
        "npz_text", "npz_pickle")]
    # constants tables
    + [(["--table", "{%s}" % name] + FAST, "--table") for name in (
        "table_swapped", "table_name_value", "table_missing", "table_unknown", "table_twice",
        "table_negative", "table_zero", "table_inf", "table_nan", "table_word", "table_huge",
        "table_noheader", "table_headeronly", "table_yaml", "table_yaml_list",
        "table_yaml_novalue", "binary", "missing", "a_dir")]
)

COST = (
    [(["--compare", v], "--compare") for v in ("2x3x4", "2x64", "0x8", "x", "2x", "x8",
                                                "99999999999999999999x8", "32x1000000000",
                                                "-2x8", "2x8x", "")]
    + [([], "--compare"), (["--compare"], "--compare"), (["--frobnicate"], "--frobnicate")]
    + [(["--compare", "2x8", flag, v], flag) for flag, v in (
        ("--rows", "0"), ("--rows", "1025"), ("--cols", "99999999999999999999"),
        ("--dataflow", "xs"), ("--acc-bits", "1"), ("--acc-bits", "49"), ("--sram-kb", "0"),
        ("--sram-kb", "inf"), ("--dram-bw", "-1"), ("--freq-mhz", "nan"),
        ("--wide-layers", "x"), ("--between-layers", "x"), ("--model", "resnet21"))]
    + [(["--compare", "2x8", "--model", "{%s}" % name], "{%s}" % name) for name in (
        "dup", "digits40", "npz_trunc", "longname", "bigm")]
    + [(["--tpu-v1", "--table", "{%s}" % name], "--table") for name in (
        "table_swapped", "table_missing", "table_inf", "table_yaml", "missing")]
    + [(["--show-table", "--table", "{table_word}"], "--table")]
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return bad_files.make(tmp_path_factory.mktemp("inputs"))


def test_there_are_enough_cases():
    assert len(ACCELSIM) >= 120 and len(COST) >= 35


@pytest.mark.parametrize("argv, names", ACCELSIM, ids=[str(i) for i in range(len(ACCELSIM))])
def test_accelsim_bad_input(files, tmp_path, capsys, argv, names):
    expect_clean_error(accelsim_main, resolve(argv, files), resolve([names], files)[0],
                       tmp_path, capsys)


@pytest.mark.parametrize("argv, names", COST, ids=[str(i) for i in range(len(COST))])
def test_accelsim_cost_bad_input(files, tmp_path, capsys, argv, names):
    expect_clean_error(cost_main, resolve(argv, files), resolve([names], files)[0], tmp_path,
                       capsys)


@pytest.mark.parametrize("module, argv, names", [
    ("accelsim", ["--rows", "1000000000"], "--rows"),
    ("accelsim", ["--trace", "{dup}", "--engine", "analytic"], "dup"),
    ("accelsim", ["--trace", "{npz_trunc}"], "npz_trunc"),
    ("accelsim", ["--csv", "{a_dir}"], "--csv"),
    ("accelsim.cost", ["--compare", "99999999999999999999x8"], "--compare"),
    ("accelsim.cost", ["--tpu-v1", "--table", "{table_swapped}"], "--table"),
])
def test_as_real_processes(files, tmp_path, module, argv, names):
    expect_clean_error_subprocess(module, resolve(argv, files), names, tmp_path)
