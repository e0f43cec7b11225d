"""The sweep on a real Dask cluster (distributed.LocalCluster on loopback) equals the local run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed  # a declared dependency (dask[distributed]): absent, this module fails

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


# ----------------------------------------------------------------------------- kills

ROOT = Path(__file__).resolve().parents[1]
SLOW = ["--model", "resnet20", "--rows", "4,8,16,32", "--cols", "4,8", "--engine", "cycle",
        "--chunk-points", "1", "--progress", "off"]
CLUSTER = """
import time
from distributed import LocalCluster
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    print(cluster.scheduler_address, flush=True)
    while True:
        time.sleep(1)
"""


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


def wait_for(condition, proc, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"ended before {what}"
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.05)


def test_a_scheduler_killed_mid_sweep_is_one_line_and_resume_finishes(tmp_path):
    (tmp_path / "cluster.py").write_text(CLUSTER)
    cluster = subprocess.Popen([sys.executable, "cluster.py"], cwd=tmp_path, env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        address = cluster.stdout.readline().strip()
        assert address.startswith("tcp://127.0.0.1:")
        out = tmp_path / "out"
        sweep_proc = subprocess.Popen(
            [sys.executable, "-m", "dse.sweep", *SLOW, "--scheduler", address, "--out", str(out)],
            cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: (out / sweep.JOURNAL).is_file(), sweep_proc, "a journalled chunk")
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)   # the scheduler and its worker, mid-sweep
        cluster.wait()
    err = sweep_proc.communicate(timeout=120)[1]
    assert sweep_proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--scheduler" in lines[0] and "--resume" in lines[0], err
    assert "Traceback" not in err
    assert sweep.main(SLOW + ["--workers", "1", "--out", str(out), "--resume"]) == 0
    assert sweep.main(SLOW + ["--workers", "1", "--out", str(tmp_path / "straight")]) == 0
    for table in ("sweep.csv", "pareto.csv"):
        assert (out / table).read_text() == (tmp_path / "straight" / table).read_text()
