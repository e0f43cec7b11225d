"""kill -9 of the reproduction at several points, then reruns: the outputs equal a straight
run's, and no worker process outlives a killed reproduction."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from processes import children, survivors

ROOT = Path(__file__).resolve().parents[1]
# Files whose every byte must match; runs.csv and history.csv match but for their timings.
EXACT = ("accuracy.csv", "footprint.csv", "compute_cost.csv", "paper_cost.csv", "pe_cost.txt",
         "sweep.csv", "pareto.csv")
TIMINGS = {"runs.csv": ["wall_s"], "history.csv": ["seconds"]}


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments.reproduce", "--preset", "tiny", "--threads", "1",
            "--out", str(out), *extra]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


def kill_when(out: Path, ready, *extra: str, timeout: float = 300) -> None:
    """Start a reproduction and SIGKILL it (the whole process group) once ``ready(out)``."""
    proc = subprocess.Popen(command(out, *extra), env=env(), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ready(out):
            assert proc.poll() is None, "the reproduction ended before the kill point"
            assert time.monotonic() < deadline, "the kill point never came"
            time.sleep(0.05)
    finally:
        proc.kill()  # the parent only: its workers must go by themselves
        proc.wait()


def finished(n: int):
    return lambda out: len(list(out.glob("runs/*/result.json"))) >= n


def outputs(out: Path) -> dict:
    found = {name: (out / name).read_bytes() for name in EXACT}
    for name, columns in TIMINGS.items():
        found[name] = pd.read_csv(out / name).drop(columns=columns).to_csv(index=False)
    found["files"] = sorted(str(p.relative_to(out)) for p in out.rglob("*")
                            if p.name != "train.log" and not p.name.endswith(".png"))
    return found


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    subprocess.run(command(out), env=env(), cwd=ROOT, check=True, capture_output=True)
    return outputs(out)


def test_killed_at_several_points_and_resumed_equals_a_straight_run(straight, tmp_path):
    out = tmp_path / "killed"
    kill_when(out, finished(2))                                # during training
    kill_when(out, finished(9))                                # later in training
    kill_when(out, lambda o: (o / "footprint.csv").is_file())  # after training, mid-way
    done = subprocess.run(command(out), env=env(), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1000:]
    assert outputs(out) == straight
    assert not list(out.rglob("*.tmp"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_no_worker_outlives_a_killed_parallel_reproduction(tmp_path):
    out = tmp_path / "parallel"
    proc = subprocess.Popen(command(out, "--jobs", "2"), env=env(), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("runs/*/train.log")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = children(proc.pid)
    assert workers, "no worker processes to watch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    alive = survivors(workers)
    assert not alive, f"workers {alive} outlived their killed parent"
