"""Bad input to ``python -m training.trace`` beyond tests/test_bad_inputs_training.py's: each
case one clean line naming the flag, exit status 2, no traceback, nothing left behind."""
import pytest

from badinput import expect_clean_error, expect_clean_error_subprocess
from training.trace import main

OK = ["--model", "resnet20", "--input", "1,3,32,32"]
CASES = (
    [(["--model", "resnet20", "--out", "t.csv", "--input", v], "--input") for v in (
        "0,3,32,32", "-1,3,32,32", "1,3,x,32", "", "1,,3", "1.5,3,32,32", "1,3,32,32,1,1,1,1,1",
        "99999999999,3,32,32", "1," + "9" * 5000, "1024,3,1024,1024")]
    + [(OK + ["--out", "t.csv", flag, v], flag) for flag, v in (
        ("--wbits", "0"), ("--wbits", "17"), ("--wbits", "x"), ("--abits", "33"),
        ("--abits", "-1"), ("--wbits", "99999999999999999999"))]
    + [(OK + ["--out", out], "--out") for out in ("adir", "afile/t.csv", "/proc/t.csv")]
    + [(["--model", "resnet21", "--input", "1,3,32,32", "--out", "t.csv"], "resnet21"),
       (["--module", "json", "--input", "1,3", "--out", "t.csv"], "--module"),
       (["--module", "json:nothing", "--input", "1,3", "--out", "t.csv"], "--module"),
       (["--module", "no_such_pkg.mod:build", "--input", "1,3", "--out", "t.csv"], "--module"),
       (["--module", "x", "--model", "resnet20", "--input", "1,3", "--out", "t.csv"],
        "--model"),
       (["--input", "1,3,32,32", "--out", "t.csv"], "--module"),
       (OK + ["--out", "t.csv", "--frobnicate"], "--frobnicate")]
)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


def test_there_are_enough_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("argv, names", CASES, ids=[str(i) for i in range(len(CASES))])
def test_training_trace_bad_input(workdir, capsys, argv, names):
    expect_clean_error(main, argv, names, workdir, capsys)


def test_as_a_real_process(workdir):
    expect_clean_error_subprocess("training.trace", OK + ["--out", "afile/t.csv"], "--out",
                                  workdir)
