"""README's commands run as written.

Every fenced code block of README.md that holds commands carries a marker in the line above it:
``<!-- readme: run -->`` (run here, in order, each well under 30 s) or ``<!-- readme: not run
(why) -->`` (installs, training, servers, benchmarks).  The run blocks execute in one scratch
folder laid out like the repository (its top-level entries linked in), so relative paths such as
``accelsim/tech_45nm.csv`` work and what the commands write stays out of the checkout.  The
dashboard's server commands are not run, but their options are parsed against what the run
blocks wrote.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboards import app as dash_app

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- readme: (run|not run \(.+\)) -->")
BLOCK_SECONDS = 60  # the README promises ~30 s a block; the margin is for a loaded machine


def blocks(text: str) -> list[tuple[str | None, str, str]]:
    """(marker, language, body) of every fenced block, in order."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            language = lines[i][3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            mark = MARKER.fullmatch(lines[i - 1].strip()) if i else None
            found.append((mark.group(1) if mark else None, language,
                          "\n".join(lines[i + 1:end])))
            i = end
        i += 1
    return found


README = blocks((ROOT / "README.md").read_text())


def test_every_command_block_is_marked():
    unmarked = [body.splitlines()[0] for mark, _, body in README if mark is None]
    assert unmarked == [], "mark these README blocks `<!-- readme: run -->` or `not run (why)`"
    assert sum(mark == "run" for mark, _, _ in README) >= 6


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder that looks like the repository's root to the commands."""
    folder = tmp_path_factory.mktemp("readme")
    for entry in ROOT.iterdir():
        if entry.name not in (".git", "runs", "ci-artifacts") and not entry.name.startswith("."):
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def ran(scratch) -> list[tuple[str, subprocess.CompletedProcess, float]]:
    """Every run block executed in order in the scratch folder: (body, result, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    results = []
    for mark, language, body in README:
        if mark != "run":
            continue
        command = ([sys.executable, "-c", body] if language == "python"
                   else ["bash", "-e", "-o", "pipefail", "-c", body])
        started = time.monotonic()
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True,
                              timeout=10 * BLOCK_SECONDS)
        results.append((body, done, time.monotonic() - started))
    return results


def test_run_blocks_run_as_written(ran, scratch):
    for body, done, seconds in ran:
        assert done.returncode == 0, f"README block failed:\n{body}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, body
        assert seconds < BLOCK_SECONDS, f"{seconds:.0f} s for README block:\n{body}"
    assert (scratch / "runs" / "s" / "sweep.csv").is_file()  # what the dashboard block reads


def test_dashboard_commands_parse(ran, scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    servers = [line for mark, _, body in README if mark and mark.startswith("not run")
               for line in body.splitlines() if line.startswith("python -m dashboards.app")]
    assert len(servers) >= 3
    for line in servers:
        argv = shlex.split(line.split("#")[0])[3:]
        if "--results" in argv and not Path(argv[argv.index("--results") + 1]).exists():
            continue  # the reproduction's folder: written by the 50-minute run only
        dash_app.parse_args(argv)
