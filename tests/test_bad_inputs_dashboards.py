"""Bad input to ``python -m dashboards.app``'s command line: each case one clean line naming
the flag or file, exit status 2, no traceback, nothing left behind, and no server started
(tests/badinput.py).  What the running server refuses: tests/test_dashboard_requests.py."""
import pytest

import bad_files
from badinput import expect_clean_error, expect_clean_error_subprocess, resolve
from dashboards.app import main

CASES = (
    [(["--port", v], "--port") for v in ("http", "70000", "0", "-1", "", "99999999999999999999",
                                         "80.5", "８０")]
    + [(["--results", "{missing}"], "--results"), (["--results", "{a_file}"], "--results"),
       (["--frobnicate"], "--frobnicate"), (["--debug", "yes"], "yes")]
    + [([flag, v], flag) for flag, v in (
        ("--rows", "0"), ("--rows", "1025"), ("--rows", "99999999999999999999999"),
        ("--rows", "8:4"), ("--rows", "x"), ("--cols", "4:8:-1"), ("--wbits", "17"),
        ("--wbits", "2.7"), ("--abits", "0"), ("--acc-bits", "1"), ("--dataflow", "xs"),
        ("--sram-kb", "0"), ("--sram-kb", "1e308"), ("--dram-bw", "0"), ("--freq-mhz", "1e6"),
        ("--batch", "0"), ("--batch", "65537"), ("--wide-layers", "x"),
        ("--between-layers", "x"), ("--cols", "1:100000000"))]
    + [(["--table", "{%s}" % name], "--table") for name in (
        "table_swapped", "table_missing", "table_unknown", "table_inf", "table_word",
        "table_yaml", "table_yaml_list", "binary", "missing", "a_dir")]
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return bad_files.make(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(autouse=True)
def no_server(monkeypatch):
    """A case that got as far as serving would block: fail it instead."""
    def serve(*args, **kwargs):
        raise AssertionError("the server was started")
    monkeypatch.setattr("dash.Dash.run", serve)


def test_there_are_enough_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("argv, names", CASES, ids=[str(i) for i in range(len(CASES))])
def test_dashboards_app_bad_input(files, tmp_path, capsys, argv, names):
    expect_clean_error(main, resolve(argv, files), names, tmp_path, capsys)


@pytest.mark.parametrize("argv, names", [(["--port", "70000"], "--port"),
                                         (["--rows", "1025"], "--rows"),
                                         (["--table", "{table_swapped}"], "--table")])
def test_as_real_processes(files, tmp_path, argv, names):
    expect_clean_error_subprocess("dashboards.app", resolve(argv, files), names, tmp_path)
