"""The sweep on a real Dask cluster (distributed.LocalCluster on loopback) equals the local run."""

import distributed  # a declared dependency (dask[distributed]): absent, this module fails
import pytest

import dse.sweep as sweep

ARGS = ["--model", "resnet20", "--rows", "4,8,16", "--cols", "8,16", "--wbits", "2,8",
        "--abits", "8", "--dataflow", "os,ws", "--chunk-points", "5", "--progress", "off"]


def test_tcp_scheduler_and_dask_local_equal_local(tmp_path):
    assert sweep.main(ARGS + ["--workers", "1", "--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert sweep.main(ARGS + ["--scheduler", address, "--out", str(tmp_path / "tcp")]) == 0
    assert sweep.main(ARGS + ["--scheduler", "dask-local", "--workers", "2",
                              "--out", str(tmp_path / "dask")]) == 0
    local = (tmp_path / "local" / "sweep.csv").read_text()
    assert len(local.splitlines()) == 1 + 3 * 2 * 2 * 2
    for name in ("tcp", "dask"):
        for table in ("sweep.csv", "pareto.csv"):
            assert (tmp_path / name / table).read_text() == \
                (tmp_path / "local" / table).read_text()


def test_unreachable_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", "1s")
    code = sweep.main(ARGS + ["--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler" in err
    assert not (tmp_path / "o").exists()  # no folder, no journal, no partial file
